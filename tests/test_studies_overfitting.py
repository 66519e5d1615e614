"""Tests of dropout_lib.studies.overfitting (chapter 1's experiments)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dropout_lib.models import MLP
from dropout_lib.studies import overfitting as st
from dropout_lib.training import History


def test_linear_layers_and_bounds_by_type_not_index():
    net = MLP(20, [64, 64], 1, dropout=0.5)
    layers = st.linear_layers(net)
    assert [(m.in_features, m.out_features) for m in layers] == [
        (20, 64),
        (64, 64),
        (64, 1),
    ]
    torch_b = st.weight_bounds(net, "torch")
    glorot_b = st.weight_bounds(net, "glorot")
    assert np.allclose(torch_b, [20**-0.5, 64**-0.5, 64**-0.5])
    assert np.allclose(glorot_b, [(6 / 84) ** 0.5, (6 / 128) ** 0.5, (6 / 65) ** 0.5])
    with pytest.raises(ValueError, match="init"):
        st.weight_bounds(net, "he")


@pytest.mark.parametrize("init", ["torch", "glorot"])
def test_builder_initial_weights_within_bounds(init):
    torch.manual_seed(0)
    net, opt = st.builder(0.5, [64, 64], init)(0)
    for layer, c in zip(
        st.linear_layers(net), st.weight_bounds(net, init), strict=True
    ):
        assert float(layer.weight.detach().abs().max()) <= c
    if init == "glorot":
        assert all(
            float(m.bias.detach().abs().max()) == 0 for m in st.linear_layers(net)
        )
    assert isinstance(opt, torch.optim.Adam)


def test_builder_weight_decay_uses_adamw_and_rejects_bad_args():
    _, opt = st.builder(0.0, [8], weight_decay=0.1)(0)
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.param_groups[0]["weight_decay"] == 0.1
    with pytest.raises(ValueError):
        st.builder(0.5, [8], init="keras")
    with pytest.raises(ValueError):
        st.builder(0.5, [8], weight_decay=-1.0)
    with pytest.raises(ValueError):
        st.builder(1.5, [8])


def test_per_example_matches_bce_and_restores_mode():
    torch.manual_seed(0)
    net = MLP(3, [5], 1, dropout=0.5)
    net.train()
    x = torch.randn(7, 3)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 1])
    loss, correct = st.per_example(net, x, y)
    assert net.training
    net.eval()
    with torch.no_grad():
        z = net(x).double()
    ref = nn.functional.binary_cross_entropy_with_logits(
        z, y.double(), reduction="none"
    )
    assert np.allclose(loss, ref.numpy())
    assert np.array_equal(correct, ((z > 0).long() == y).double().numpy())


def test_nested_bootstrap_centres_and_widens_with_example_noise():
    rng = np.random.default_rng(1)
    a = 0.1 + rng.normal(0, 1.0, size=(10, 300))  # large example-level noise
    b = np.zeros_like(a)
    wide = st.nested_bootstrap(a, b, n_boot=2000)
    assert wide.lo < wide.mean < wide.hi
    assert abs(wide.mean - (a - b).mean()) < 1e-12
    # seeds-only noise: each row constant, so the interval is that of the row means
    c = np.repeat(rng.normal(0.1, 0.01, size=(10, 1)), 300, axis=1)
    narrow = st.nested_bootstrap(c, b, n_boot=2000)
    assert narrow.hi - narrow.lo < (wide.hi - wide.lo) / 5
    # about +-1.96 * sd/sqrt(n_examples * n_seeds) for independent noise
    assert 0.5 < (wide.hi - wide.lo) / (2 * 1.96 / np.sqrt(3000)) < 2.5
    assert "bootstrap" in str(wide)


def test_nested_bootstrap_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        st.nested_bootstrap(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        st.nested_bootstrap(np.full((3, 3), np.nan), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="level"):
        st.nested_bootstrap(np.zeros((3, 3)), np.zeros((3, 3)), level=1.5)


def test_tail_slope_is_unbiased_under_noise_unlike_final_minus_lowest():
    rng = np.random.default_rng(0)
    curves = rng.normal(1.0, 0.1, size=(4000, 20))
    slopes = np.array([st.tail_slope(c, 10) for c in curves])
    final_minus_min = curves[:, -1] - curves.min(axis=1)
    assert abs(slopes.mean()) < 4 * slopes.std() / np.sqrt(len(slopes))
    assert final_minus_min.min() >= 0 and final_minus_min.mean() > 0.1
    assert st.tail_slope([5.0, 0.0, 1.0, 2.0, 3.0], 4) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        st.tail_slope([1.0, 2.0], 3)


def test_epoch_counts():
    h = History()
    for va, ta, vl, tl in [
        (0.8, 0.7, 0.5, 0.6),
        (0.8, 0.9, 0.5, 0.4),
        (0.9, 0.9, 0.3, 0.3),
    ]:
        h.append(val_acc=va, train_acc=ta, val_loss=vl, train_loss=tl, other_acc=0.0)
    assert st.epochs_val_above(h) == 1  # strict: a tie does not count
    assert st.epochs_val_above(h, "other_acc") == 3
    assert st.epochs_val_loss_below(h) == 1


def test_keras_style_split_takes_last_rows_of_the_rest():
    x = np.arange(2000, dtype=np.float64).reshape(1000, 2)
    y = np.arange(1000) % 2
    (xt, yt), (xv, yv) = st.keras_style_split(x, y, random_state=3)
    assert len(xt) == 640 and len(xv) == 160
    rows = set(xt[:, 0].tolist()) | set(xv[:, 0].tolist())
    assert len(rows) == 800  # no overlap, 200 rows held out
    (xt2, _), _ = st.keras_style_split(x, y, random_state=4)
    assert not torch.equal(xt, xt2)


def test_thinned_excess_is_zero_without_dropout_and_positive_loss_with_it():
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    plain = MLP(5, [16], 1, dropout=0.0)
    d_plain = st.thinned_excess(plain, x, y)
    assert abs(d_plain[0]) < 1e-6 and d_plain[1] == 0.0
    net = MLP(5, [16], 1, dropout=0.5)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(200):
        loss = nn.functional.binary_cross_entropy_with_logits(net(x), y.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
    d_loss, _ = st.thinned_excess(net, x, y, passes=20)
    assert d_loss > 0


def test_decision_grid_shapes_and_probabilities():
    net = MLP(2, [4], 1)
    xx, yy, prob = st.decision_grid(net, 2.0, n=11)
    assert xx.shape == yy.shape == prob.shape == (11, 11)
    assert np.all((prob > 0) & (prob < 1))
    assert xx.min() == -2.0 and yy.max() == 2.0


def test_run_regime_and_lowest():
    torch.manual_seed(0)
    x = torch.randn(40, 20)
    y = (x[:, 0] > 0).long()
    runs = st.run_regime(0.5, [8], [0, 1], (x, y), {"val": (x, y)}, epochs=3)
    assert len(runs) == 2 and runs[0].config == 0.5
    low = st.lowest(runs)
    assert low.shape == (2,)
    assert all(low[i] == min(r.history["val_loss"]) for i, r in enumerate(runs))


def test_table_and_split_study():
    torch.manual_seed(0)
    x = torch.randn(40, 20)
    y = (x[:, 0] > 0).long()
    runs = {
        p: st.run_regime(p, [8], [0, 1], (x, y), {"val": (x, y)}, epochs=2)
        for p in (0.0, 0.5)
    }
    text = st.table(
        runs, ["val_acc", "best"], extra={"best": {0.0: [1, 2], 0.5: [3, 4]}}
    )
    assert "p = 0.5" in text and "1.500 ± 0.707" in text
    xs = np.random.default_rng(0).normal(size=(100, 20))
    ys = (xs[:, 0] > 0).astype(np.int64)
    out = st.split_study(xs, ys, [0, 1], "glorot")
    assert set(out) == {"acc_above", "loss_below", "e1_train", "e1_val", "thin_excess"}
    assert all(v.shape == (2,) for v in out.values())
    assert np.all((out["acc_above"] >= 0) & (out["acc_above"] <= 20))


def test_scores_rows_follow_runs_and_means_match_history():
    torch.manual_seed(0)
    x = torch.randn(30, 20)
    y = (x[:, 0] > 0).long()
    runs = st.run_regime(0.0, [8], [0, 1, 2], (x, y), {"val": (x, y)}, epochs=2)
    loss, correct = st.scores(runs, x, y)
    assert loss.shape == correct.shape == (3, 30)
    for s, r in enumerate(runs):
        assert loss[s].mean() == pytest.approx(r.history["val_loss"][-1], rel=1e-5)
        assert correct[s].mean() == pytest.approx(r.history["val_acc"][-1])
    runs[0].model = None
    with pytest.raises(ValueError, match="keep its model"):
        st.scores(runs, x, y)
