"""Chapter 8's study: the SDPA trap, SDPA dropout in law, checkpointing, DropPath
runs, the character-level language model, and early/late dropout and R-Drop on
batched MLPs (small, fast versions)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from dropout_lib import stats
from dropout_lib.studies.modern import (
    CHARS,
    BatchedMLP,
    LMRegime,
    ResidualMLP,
    ScheduleRegime,
    UngatedAttention,
    checkpoint_grads,
    detectable_effect,
    droppath_runs,
    encode,
    eval_call_spread,
    lm_grid,
    lm_run,
    moment_check,
    schedule_runs,
    sdpa_mask_readback,
    stdlib_text,
)
from dropout_lib.transformer import MultiHeadSelfAttention


def test_ungated_sdpa_still_drops_in_eval_mode():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    bad = UngatedAttention(8, 2, attn_p=0.3)
    good = MultiHeadSelfAttention(8, 2, attn_p=0.3)
    assert eval_call_spread(bad, x) > 1e-3
    assert eval_call_spread(good, x) == 0.0
    assert eval_call_spread(UngatedAttention(8, 2, attn_p=0.0), x) == 0.0
    with pytest.raises(ValueError, match="calls"):
        eval_call_spread(good, x, calls=1)


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_moments_match_the_law(use_sdpa):
    m = moment_check(0.3, n_draws=5000, use_sdpa=use_sdpa, device=torch.device("cpu"))
    assert m.z_mean < 5.5 and m.z_var < 5.5 and m.n == 5000


def test_moment_check_detects_a_wrong_p():
    # samples drawn with p = 0.3 against the law of p = 0.5: the variance is off
    import dropout_lib.studies.modern as mod

    real = mod.attention_dropout_moments
    try:
        mod.attention_dropout_moments = lambda q, k, v, p: real(q, k, v, 0.5)
        m = moment_check(0.3, n_draws=5000, device=torch.device("cpu"))
    finally:
        mod.attention_dropout_moments = real
    assert m.z_var > 10


def test_mask_readback():
    kept, rel = sdpa_mask_readback(0.25, batch=64, device=torch.device("cpu"))
    assert abs(kept - 0.75) < 0.02 and rel < 1e-5
    with pytest.raises(ValueError, match="p must be < 1"):
        sdpa_mask_readback(1.0)


def test_checkpoint_replays_the_mask_unless_told_not_to():
    out_p, g_p = checkpoint_grads("plain")
    out_c, g_c = checkpoint_grads("checkpoint")
    out_n, g_n = checkpoint_grads("no_rng")
    assert torch.equal(out_p, out_c) and torch.equal(out_p, out_n)
    assert torch.equal(g_p, g_c)
    assert (g_p - g_n).abs().max() > 1e-3
    with pytest.raises(ValueError, match="mode"):
        checkpoint_grads("other")


def test_residual_mlp_and_runs():
    torch.manual_seed(0)
    m = ResidualMLP(6, width=8, n_blocks=3, n_out=3, element_p=0.1, drop_path_rate=0.2)
    assert m(torch.randn(5, 6)).shape == (5, 3)
    assert [round(pth.p, 3) for pth in m.paths] == [0.0, 0.1, 0.2]
    x, y = torch.randn(40, 6), torch.randint(0, 10, (40,))
    res = droppath_runs(
        {"none": (0.0, 0.0), "dp": (0.0, 0.5)},
        [0, 1],
        (x, y, x, y),
        epochs=2,
        batch_size=20,
        device=torch.device("cpu"),
    )
    assert set(res) == {"none", "dp"}
    assert res["dp"]["test_loss"].shape == (2,)


def test_text_and_lm():
    text = stdlib_text(5000)
    assert len(text) == 5000
    tok = encode(text)
    assert tok.dtype == torch.long and int(tok.max()) < len(CHARS)
    assert encode("\u00e9a").tolist() == [0, CHARS.index("a")]
    r = LMRegime("tiny", 600, steps=3, batch=4, context=8)
    assert r.epochs == pytest.approx(3 * 4 * 8 / 600)
    loss = lm_run(tok[:600], tok[600:800], r, 0.1, 0, device=torch.device("cpu"))
    assert 0 < loss < 10
    with pytest.raises(ValueError, match="train_chars"):
        lm_run(tok[:5], tok[600:800], r, 0.1, 0, device=torch.device("cpu"))
    grid = lm_grid([r], [0.0, 0.1], [0], n_val=200, device=torch.device("cpu"))
    assert set(grid) == {("tiny", 0.0), ("tiny", 0.1)}


# ---- early and late dropout, R-Drop -------------------------------------------

CPU = torch.device("cpu")


def test_batched_mlp_is_m_separate_mlps():
    m = BatchedMLP([3, 4, 3], d_in=5, hidden=6, n_out=2)
    w1 = m.params[0].detach()
    assert w1.shape == (3, 5, 6)
    assert torch.equal(w1[0], w1[2]) and not torch.equal(w1[0], w1[1])
    assert float(w1.abs().max()) <= 1 / 5**0.5
    x = torch.randn(7, 5)
    m.eval()
    out = m(x)
    assert out.shape == (3, 7, 2)
    w1, b1, w2, b2, w3, b3 = (prm[1] for prm in m.params)
    manual = torch.relu(torch.relu(x @ w1 + b1) @ w2 + b2) @ w3 + b3
    assert torch.allclose(out[1], manual, atol=1e-6)
    # train mode: each model drops with its own p, inverted scaling
    m.set_p([0.0, 0.5, 0.9])
    m.train()
    h = torch.ones(3, 4000, 6)
    dropped = m._drop(h)
    assert torch.equal(dropped[0], h[0])
    assert abs(float((dropped[1] == 0).float().mean()) - 0.5) < 0.02
    assert set(dropped[1].unique().tolist()) == {0.0, 2.0}
    assert abs(float((dropped[2] == 0).float().mean()) - 0.9) < 0.02
    with pytest.raises(ValueError, match="p must lie"):
        m.set_p([0.0, 1.0, 0.1])
    with pytest.raises(ValueError, match="3 values"):
        m.set_p([0.1])
    with pytest.raises(ValueError, match="init_seeds"):
        BatchedMLP([], 5, 6, 2)


def _toy_data(n=48, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, xv = torch.randn(n, d, generator=g), torch.randn(200, d, generator=g)
    return x, torch.randint(0, 3, (n,), generator=g), xv, torch.randint(0, 3, (200,))


def test_models_train_independently_and_pair_by_seed():
    data = _toy_data()
    r = ScheduleRegime("toy", 48, hidden=8, epochs=3, cutoff=1, batch_size=16)
    both = schedule_runs(r, ["none", "standard"], [0, 1], data, device=CPU)
    alone = schedule_runs(r, ["none"], [1], data, device=CPU)
    assert set(both) == {"none", "standard"}
    assert both["none"]["val"].shape == (2, 3)
    # training beside other models changes nothing: no dropout, same seed
    assert np.allclose(both["none"]["val"][1], alone["none"]["val"][0], atol=1e-5)
    assert np.allclose(both["none"]["train"][1], alone["none"]["train"][0], atol=1e-5)
    # late dropout is off in epoch 0: the same model as no dropout until then
    late = schedule_runs(r, ["none", "late"], [0], data, device=CPU)
    assert np.allclose(late["none"]["val"][:, 0], late["late"]["val"][:, 0], atol=1e-6)
    assert not np.allclose(late["none"]["val"][:, 2], late["late"]["val"][:, 2])
    rd = schedule_runs(r, ["standard"], [0], data, alpha=1.0, device=CPU)
    assert np.isfinite(rd["standard"]["val"]).all()
    # measured after every second epoch and after the last
    r5 = ScheduleRegime(
        "toy", 48, hidden=8, epochs=5, cutoff=1, batch_size=16, eval_every=2
    )
    assert r5.eval_epochs == [2, 4, 5]
    sparse = schedule_runs(r5, ["none"], [1], data, device=CPU)
    dense = schedule_runs(replace(r5, eval_every=1), ["none"], [1], data, device=CPU)
    assert sparse["none"]["val"].shape == (1, 3)
    assert np.allclose(sparse["none"]["val"], dense["none"]["val"][:, [1, 3, 4]])


def test_schedule_runs_sets_the_rate_per_iteration(monkeypatch):
    # the authors' rule: early_linear ramps over the iterations, not per epoch
    from dropout_lib.schedules import iteration_schedule

    seen = []
    original = BatchedMLP.set_p

    def spy(self, p):
        seen.append(torch.as_tensor(p, dtype=torch.float32).clone())
        original(self, p)

    monkeypatch.setattr(BatchedMLP, "set_p", spy)
    r = ScheduleRegime("toy", 48, hidden=4, epochs=3, cutoff=2, batch_size=16)
    schedule_runs(r, ["early_linear", "late"], [0, 1], _toy_data(), device=CPU)
    got = torch.stack(seen)  # (iterations, models): 3 epochs of 3 iterations
    assert got.shape == (9, 4)
    ramp = iteration_schedule("early_linear", 3, 3, 0.25, 2)
    late = iteration_schedule("late", 3, 3, 0.25, 2)
    for m, want in enumerate((ramp, ramp, late, late)):
        assert np.allclose(got[:, m].numpy(), want, atol=1e-6)
    assert len(set(np.round(ramp[:6], 6))) == 6  # six distinct rates, not a step


def test_overfit_regime_opens_the_gap_the_chapter_asserts():
    # a wide net on 48 random labels memorises them: train loss << val loss
    data = _toy_data()
    r = ScheduleRegime(
        "overfit",
        48,
        hidden=64,
        epochs=40,
        cutoff=10,
        batch_size=16,
        lr=3e-3,
        n_train_eval=48,
    )
    res = schedule_runs(r, ["none", "late"], range(5), data, device=CPU)
    gap = stats.paired_diff(res["none"]["val"][:, -1], res["none"]["train"][:, -1])
    assert stats.claim("gap", gap, ">").tier == "replicates"
    assert res["late"]["train"][:, -1].mean() > res["none"]["train"][:, -1].mean()


def test_schedule_runs_rejects_bad_arguments():
    data = _toy_data()
    r = ScheduleRegime("toy", 48, hidden=4, epochs=2, cutoff=1)
    with pytest.raises(ValueError, match="kind"):
        schedule_runs(r, ["sometimes"], [0], data, device=CPU)
    with pytest.raises(ValueError, match="kinds"):
        schedule_runs(r, [], [0], data, device=CPU)
    with pytest.raises(ValueError, match="alpha"):
        schedule_runs(r, ["none"], [0], data, alpha=-1.0, device=CPU)
    with pytest.raises(ValueError, match="seeds"):
        schedule_runs(r, ["none"], [], data, device=CPU)
    bad = ScheduleRegime("toy", 48, hidden=4, epochs=2, cutoff=3)
    with pytest.raises(ValueError, match="cutoff"):
        schedule_runs(bad, ["late"], [0], data, device=CPU)


def test_detectable_effect_has_the_power_it_says():
    d = detectable_effect(0.05, 20)
    assert stats.power_paired(d, 0.05, 20) == pytest.approx(0.8, abs=1e-6)
    assert detectable_effect(0.1, 20) == pytest.approx(2 * d, rel=1e-6)
    assert detectable_effect(0.05, 40) < d
    assert detectable_effect(0.05, 20, power=0.9) > d
    with pytest.raises(ValueError, match="sd"):
        detectable_effect(0.0, 20)
    with pytest.raises(ValueError, match="power"):
        detectable_effect(0.1, 20, power=1.0)
    with pytest.raises(ValueError, match="n"):
        detectable_effect(0.1, 1)


def test_rdrop_term_of_the_batch_is_the_sum_of_each_models_term():
    # schedule_runs adds alpha · M · symmetric_kl over all (M, B) rows, which is
    # the sum over models of each model's own R-Drop term
    from dropout_lib.rdrop import symmetric_kl

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 5, 4, generator=g), torch.randn(3, 5, 4, generator=g)
    per_model = sum(symmetric_kl(a[m], b[m]) for m in range(3))
    assert torch.allclose(3 * symmetric_kl(a, b), per_model, atol=1e-6)
