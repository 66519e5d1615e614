"""Tests for dropout_lib.uncertainty: entropies, BALD, scores, ECE, AUROC, MC."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dropout_lib.inference import mc_samples
from dropout_lib.models import MLP
from dropout_lib.nn import Dropout, dropout_active
from dropout_lib.reproducibility import get_device
from dropout_lib.uncertainty import (
    auroc,
    brier_score,
    decompose,
    entropy,
    expected_calibration_error,
    expected_entropy,
    mc_samples_batched,
    mutual_information,
    nll,
    predictive_entropy,
    reliability_bins,
)


def dirichlet(t, n, c, conc=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.dirichlet(np.full(c, conc), size=(t, n)))


def sample_labels(probs, seed=0):
    rng = np.random.default_rng(seed)
    u = torch.from_numpy(rng.random(len(probs)))[:, None]
    return (probs.cumsum(1) < u).sum(1).clamp_max(probs.shape[1] - 1)


# ---------------------------------------------------------------- entropies


def test_entropy_uniform_and_certain():
    p = torch.tensor([[0.25] * 4, [1.0, 0.0, 0.0, 0.0]])
    h = entropy(p)
    assert h.dtype == torch.float64
    assert h[0].item() == pytest.approx(math.log(4))
    assert h[1].item() == 0.0


def test_entropy_accepts_numpy_and_samples():
    s = dirichlet(3, 5, 4)
    assert torch.allclose(entropy(s.numpy()), entropy(s))
    assert entropy(s).shape == (3, 5)


def test_two_class_toy_by_hand():
    # passes (0.9, 0.1) and (0.1, 0.9): mean (0.5, 0.5)
    s = torch.tensor([[[0.9, 0.1]], [[0.1, 0.9]]], dtype=torch.float64)
    h = lambda a: -(a * math.log(a) + (1 - a) * math.log(1 - a))  # noqa: E731
    assert predictive_entropy(s).item() == pytest.approx(math.log(2))
    assert expected_entropy(s).item() == pytest.approx(h(0.9))
    assert mutual_information(s).item() == pytest.approx(math.log(2) - h(0.9))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(1, 6),
    st.integers(2, 6),
    st.floats(0.05, 5.0),
    st.integers(0, 10_000),
)
def test_decomposition_identity_and_mi_nonnegative(t, n, c, conc, seed):
    s = dirichlet(t, n, c, conc, seed)
    d = decompose(s)
    assert torch.allclose(d.total, d.aleatoric + d.epistemic, atol=1e-10)
    assert torch.all(d.epistemic >= 0)
    assert torch.allclose(d.total, predictive_entropy(s))
    assert torch.allclose(d.aleatoric, expected_entropy(s))
    assert torch.all(d.epistemic <= math.log(c) + 1e-12)
    assert torch.all(d.epistemic <= math.log(t) + 1e-12)


def test_mi_zero_when_all_passes_agree():
    one = dirichlet(1, 7, 5)
    s = one.expand(9, 7, 5).clone()
    # 0 up to the rounding of the mean of nine equal numbers
    assert torch.all(mutual_information(s).abs() < 1e-12)
    assert torch.allclose(predictive_entropy(s), expected_entropy(s))


def test_mi_handles_zeros():
    s = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert mutual_information(s).item() == pytest.approx(math.log(2))


def test_functions_do_not_mutate_inputs():
    s = dirichlet(4, 6, 3).float()
    before = s.clone()
    decompose(s)
    entropy(s)
    y = torch.zeros(6, dtype=torch.long)
    p = s[0]
    nll(p, y)
    brier_score(p, y)
    expected_calibration_error(p, y)
    assert torch.equal(s, before)
    arr = s.numpy().copy()
    decompose(arr)
    assert np.array_equal(arr, before.numpy())


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fn", [predictive_entropy, expected_entropy, mutual_information, decompose]
)
def test_sample_functions_validate(fn):
    with pytest.raises(TypeError, match="samples"):
        fn([[[0.5, 0.5]]])
    with pytest.raises(ValueError, match="samples"):
        fn(torch.full((3, 2), 0.5))  # missing the pass axis
    with pytest.raises(ValueError, match="probabilities"):
        fn(torch.randn(2, 3, 4))  # logits, not probabilities
    with pytest.raises(ValueError, match="finite"):
        fn(torch.full((2, 3, 2), float("nan")))


def test_label_validation():
    p = dirichlet(1, 4, 3)[0]
    with pytest.raises(TypeError, match="y"):
        nll(p, torch.zeros(4))  # float labels
    with pytest.raises(ValueError, match="y"):
        nll(p, torch.tensor([0, 1, 2, 3]))  # label out of range
    with pytest.raises(ValueError, match="y"):
        brier_score(p, torch.tensor([0, 1]))  # wrong length
    with pytest.raises(TypeError, match="y"):
        brier_score(p, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(p, torch.tensor([0, 1, 2, 0]), n_bins=0)
    with pytest.raises(TypeError, match="n_bins"):
        reliability_bins(p, torch.tensor([0, 1, 2, 0]), n_bins=2.5)
    with pytest.raises(ValueError, match="eps"):
        nll(p, torch.tensor([0, 1, 2, 0]), eps=0.0)


# ---------------------------------------------------------------- scores


def test_nll_and_brier_by_hand():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    assert nll(p, y) == pytest.approx(-(math.log(0.7) + math.log(0.1)) / 2)
    b0 = 0.3**2 + 0.2**2 + 0.1**2
    b1 = 0.1**2 + 0.9**2 + 0.8**2
    assert brier_score(p, y) == pytest.approx((b0 + b1) / 2)
    assert nll(torch.tensor([[1.0, 0.0]]), torch.tensor([1])) == pytest.approx(
        -math.log(1e-12)
    )


def test_reliability_bins_by_hand():
    p = torch.tensor([[0.55, 0.45], [0.65, 0.35], [0.95, 0.05], [0.5, 0.5]])
    y = torch.tensor([0, 1, 0, 0])
    bins = reliability_bins(p, y, n_bins=2)
    # (0, 0.5] holds 0.5; (0.5, 1] holds 0.55, 0.65, 0.95
    assert bins.counts.tolist() == [1, 3]
    assert bins.confidence[1] == pytest.approx((0.55 + 0.65 + 0.95) / 3)
    assert bins.accuracy[1] == pytest.approx(2 / 3)
    ece = expected_calibration_error(p, y, n_bins=2)
    expected = 0.25 * abs(1.0 - 0.5) + 0.75 * abs(2 / 3 - 2.15 / 3)
    assert ece == pytest.approx(expected)
    empty = reliability_bins(p, y, n_bins=20)
    assert np.isnan(empty.accuracy[0]) and empty.counts.sum() == 4


def test_ece_of_a_calibrated_predictor_is_small():
    probs = dirichlet(1, 50_000, 5, 0.5)[0]
    y = sample_labels(probs, seed=3)
    ece = expected_calibration_error(probs, y, 15)
    # sampling noise alone: about sqrt(B / N) at most
    assert ece < math.sqrt(15 / 50_000) * 1.5
    # and an overconfident version of the same predictor is clearly miscalibrated
    sharp = probs**3 / (probs**3).sum(1, keepdim=True)
    assert expected_calibration_error(sharp, y, 15) > 5 * ece


def test_proper_scores_prefer_the_true_probabilities():
    probs = dirichlet(1, 20_000, 4, 1.0, seed=5)[0]
    y = sample_labels(probs, seed=6)
    flat = (probs + 1.0) / (probs + 1.0).sum(1, keepdim=True)
    assert nll(probs, y) < nll(flat, y)
    assert brier_score(probs, y) < brier_score(flat, y)


# ---------------------------------------------------------------- AUROC


def test_auroc_sanity():
    assert auroc(torch.tensor([0.1, 0.2]), torch.tensor([0.8, 0.9])) == 1.0
    assert auroc(torch.tensor([0.8, 0.9]), torch.tensor([0.1, 0.2])) == 0.0
    assert auroc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=4000), rng.normal(size=4000)
    assert abs(auroc(a, b) - 0.5) < 0.03
    # shifted normals: AUROC = Phi(delta / sqrt 2)
    from scipy.stats import norm

    assert abs(auroc(a, b + 1.0) - norm.cdf(1 / math.sqrt(2))) < 0.02
    with pytest.raises(ValueError, match="scores_out"):
        auroc(a, np.array([]))
    with pytest.raises(TypeError, match="scores_in"):
        auroc([1.0], np.array([1.0]))


# ---------------------------------------------------------------- batched MC


def _one_dropout_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), Dropout(0.4), nn.Linear(16, 3))


def test_batched_equals_looped_with_the_same_masks():
    # one dropout layer, CPU generator: the tiled batch draws the masks in the
    # same order as T separate passes
    model = _one_dropout_net()
    x = torch.randn(10, 6)
    a = mc_samples_batched(model, x, 7, seed=3)
    b = mc_samples(model, x, 7, seed=3)
    assert a.shape == (7, 10, 3)
    assert torch.allclose(a, b, atol=1e-6)
    # and the passes really differ
    assert (a[0] - a[1]).abs().max() > 1e-3


def test_batched_with_generators_per_layer():
    torch.manual_seed(0)
    model = MLP(6, (16, 16), 3, 0.3)
    x = torch.randn(5, 6)

    def reseed():
        for k, m in enumerate(d for d in model.modules() if isinstance(d, Dropout)):
            m.generator = torch.Generator().manual_seed(10 + k)

    reseed()
    a = mc_samples_batched(model, x, 4)
    reseed()
    b = mc_samples(model, x, 4)
    assert torch.allclose(a, b, atol=1e-6)


def test_batched_chunks_logits_modes_and_rng():
    model = _one_dropout_net()
    model.train()
    x = torch.randn(9, 6)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    out = mc_samples_batched(model, x, 5, seed=1, batch_size=4, output="logits")
    assert torch.equal(torch.get_rng_state(), state)  # caller's stream untouched
    assert out.shape == (5, 9, 3)
    assert model.training  # mode restored
    again = mc_samples_batched(model, x, 5, seed=1, batch_size=4, output="logits")
    assert torch.equal(out, again)
    with pytest.raises(ValueError, match="passes"):
        mc_samples_batched(model, x, 0)
    with pytest.raises(TypeError, match="model"):
        mc_samples_batched("net", x, 2)
    with pytest.raises(TypeError, match="x"):
        mc_samples_batched(model, x.numpy(), 2)
    with pytest.raises(ValueError, match="output"):
        mc_samples_batched(model, x, 2, output="softmax")
    with pytest.raises(ValueError, match="batch_size"):
        mc_samples_batched(model, x, 2, batch_size=0)


def test_batched_keeps_batchnorm_in_eval_and_restores_modes():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), Dropout(0.5), nn.Linear(8, 2)
    )
    model.train()
    model(torch.randn(64, 4))  # non-trivial running statistics
    model[1].train(False)  # a mixed-mode model
    stats = model[1].running_mean.clone()
    x = torch.randn(3, 4)
    s = mc_samples_batched(model, x, 4, seed=0)
    assert torch.equal(model[1].running_mean, stats)  # BN did not update
    assert [m.training for m in model] == [True, False, True, True, True]
    # a single example gives the same passes as inside a batch: BN used running stats
    s1 = mc_samples_batched(model, x[:1], 4, seed=0)
    assert s1.shape == (4, 1, 2) and torch.all(torch.isfinite(s))


def test_batched_on_the_default_device():
    device = get_device()
    model = _one_dropout_net().to(device)
    x = torch.randn(8, 6, device=device)
    s = mc_samples_batched(model, x, 3, seed=0)
    assert s.device.type == device.type
    d = decompose(s)
    assert d.total.device.type == device.type
    assert torch.allclose(d.total, d.aleatoric + d.epistemic, atol=1e-10)
    y = torch.zeros(8, dtype=torch.long, device=device)
    assert math.isfinite(nll(s.mean(0), y))
    assert 0 <= expected_calibration_error(s.mean(0), y) <= 1


class _OwnerModeDropout(nn.Module):
    """Dropout written as F.dropout(x, training=self.training): no dropout module."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(nn.functional.dropout(x, 0.5, training=self.training))


@pytest.mark.parametrize(
    "make",
    [
        _OwnerModeDropout,
        lambda: nn.Sequential(nn.Linear(6, 3)),  # no dropout at all
    ],
)
def test_batched_warns_when_all_passes_are_identical(make):
    model = make()
    x = torch.randn(4, 6)
    with pytest.warns(RuntimeWarning, match="identical"):
        out = mc_samples_batched(model, x, 3)
    assert torch.equal(out[0], out[1])
    # the workaround: the owner in training mode makes the passes differ
    if isinstance(model, _OwnerModeDropout):
        model.train()
        with dropout_active(model, others="keep"):
            out = torch.stack([model(x).softmax(-1) for _ in range(3)])
        assert (out[0] - out[1]).abs().max() > 1e-3


def test_batched_warns_for_transformer_fast_path():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.3, batch_first=True
    )
    x = torch.randn(3, 5, 8)
    with pytest.warns(RuntimeWarning, match="identical"):
        mc_samples_batched(layer, x, 3, output="logits")


def test_batched_does_not_warn_with_real_dropout():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc_samples_batched(_one_dropout_net(), torch.randn(4, 6), 3, seed=0)


def test_nll_is_a_deprecated_alias_of_nll_from_probs():
    from dropout_lib import uncertainty

    assert uncertainty.nll is uncertainty.nll_from_probs
