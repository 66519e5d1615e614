"""Tests for dropout_lib.diagnostics."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dropout_lib.diagnostics import (
    bn_input_variance,
    conv_variance_shift,
    conv_variance_terms,
    fill_from_neighbours,
    layer_output,
    neighbour_correlation,
    recalibrate_bn,
    variance_shift,
)
from dropout_lib.nn import Dropout
from dropout_lib.reproducibility import get_device


# ---------------------------------------------------------------- neighbour_correlation
def test_correlation_of_constant_rows_is_one_and_noise_is_near_zero():
    rng = np.random.default_rng(0)
    smooth = np.repeat(
        np.repeat(rng.normal(size=(50, 2, 4, 4)), 4, axis=2), 4, axis=3
    )  # 16x16 blocks
    rho = neighbour_correlation(smooth)
    assert np.all(rho > 0.7)
    noise = rng.normal(size=(50, 3, 16, 16))
    assert np.all(np.abs(neighbour_correlation(noise)) < 0.05)


def test_correlation_matches_numpy_corrcoef_on_horizontal_only():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 1, 1, 9)).cumsum(
        axis=3
    )  # a random walk along the row: H = 1
    a, b = x[:, 0, 0, :-2].ravel(), x[:, 0, 0, 2:].ravel()
    assert np.isclose(neighbour_correlation(x, offset=2)[0], np.corrcoef(a, b)[0, 1])


def test_dead_channel_is_nan_and_input_untouched():
    x = torch.randn(4, 2, 5, 5)
    x[:, 1] = 0.0
    x0 = x.clone()
    rho = neighbour_correlation(x)
    assert np.isnan(rho[1]) and np.isfinite(rho[0])
    assert torch.equal(x, x0)


@pytest.mark.parametrize(
    "bad, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_correlation_bad_offset(bad, exc):
    with pytest.raises(exc, match="offset"):
        neighbour_correlation(np.zeros((1, 1, 4, 4)), offset=bad)


def test_correlation_bad_shape_and_type():
    with pytest.raises(ValueError, match="maps"):
        neighbour_correlation(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="maps"):
        neighbour_correlation(np.array([["a"]]))
    with pytest.raises(ValueError, match="offset"):
        neighbour_correlation(np.zeros((1, 1, 3, 3)), offset=3)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), offset=st.integers(1, 3))
def test_correlation_is_bounded(seed, offset):
    x = np.random.default_rng(seed).normal(size=(3, 2, 5, 5))
    rho = neighbour_correlation(x, offset=offset)
    assert np.all(np.abs(rho) <= 1 + 1e-12)


# ---------------------------------------------------------------- variance_shift
def test_variance_shift_formula_and_li_special_case():
    vt, ve = variance_shift(0.0, 1.0, 0.5)  # x ~ N(0, 1), q = 1/2: Li et al.'s 1/q
    assert vt == pytest.approx(2.0) and ve == pytest.approx(1.0)
    vt, ve = variance_shift(np.array([1.0, 2.0]), np.array([0.5, 0.0]), 0.2)
    assert np.allclose(
        vt, (np.array([1.0, 4.0]) + np.array([0.5, 0.0])) / 0.8 - np.array([1.0, 4.0])
    )


def test_variance_shift_monte_carlo():
    rng = np.random.default_rng(0)
    c, v, p = 0.7, 0.4, 0.3
    x = rng.normal(c, np.sqrt(v), size=1_000_000)
    xd = x * (rng.random(x.size) < 1 - p) / (1 - p)
    vt, ve = variance_shift(c, v, p)
    assert abs(xd.var() - vt) < 0.01 and abs(x.var() - ve) < 0.01


@settings(max_examples=50, deadline=None)
@given(c=st.floats(-5, 5), v=st.floats(0, 5), p=st.floats(0, 0.99))
def test_variance_shift_never_shrinks(c, v, p):
    vt, ve = variance_shift(c, v, p)
    assert vt >= ve - 1e-9 * (1 + c * c + v)


def test_variance_shift_errors():
    with pytest.raises(ValueError, match="p"):
        variance_shift(0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="var"):
        variance_shift(0.0, -1.0, 0.5)
    with pytest.raises(TypeError, match="p"):
        variance_shift(0.0, 1.0, "a")


# ---------------------------------------------------------------- conv_variance_shift
def test_conv_variance_shift_monte_carlo():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 8, 8) + 0.2
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=True).double()
    p = 0.4
    pred = conv_variance_shift(x, conv.weight, p, padding=1)
    with torch.no_grad():
        var_test = conv(x.double()).var(dim=(0, 2, 3), unbiased=False).numpy()
        drop = Dropout(p)
        outs = torch.stack([conv(drop(x.double())) for _ in range(100)])
    var_train = outs.transpose(0, 2).reshape(4, -1).var(dim=1, unbiased=False).numpy()
    assert np.allclose(var_train - var_test, pred, rtol=0.05)


def test_conv_variance_shift_errors():
    with pytest.raises(ValueError, match="x must be"):
        conv_variance_shift(torch.ones(2, 3, 4, 4), torch.ones(1, 2, 3, 3), 0.5)
    with pytest.raises(TypeError, match="x"):
        conv_variance_shift(np.ones((2, 3, 4, 4)), torch.ones(1, 3, 3, 3), 0.5)
    with pytest.raises(ValueError, match="p"):
        conv_variance_shift(torch.ones(2, 3, 4, 4), torch.ones(1, 3, 3, 3), 1.0)


# ---------------------------------------------------------------- BN helpers
def _net(p=0.5):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        Dropout(p),
        nn.BatchNorm2d(4),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 2),
    )


def _warm(net, x):
    net.train()
    with torch.no_grad():
        for _ in range(100):
            net(x)
    net.eval()
    return net


def test_bn_input_variance_direct_dropout_matches_formula():
    torch.manual_seed(1)
    x = torch.rand(256, 1, 6, 6)
    net = _warm(_net(0.5), x)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    (stats,) = bn_input_variance(net, x)
    # the activation feeding dropout: its mean and variance per channel
    h = layer_output(net, net[1], x).double()
    c = h.mean(dim=(0, 2, 3)).numpy()
    v = h.var(dim=(0, 2, 3), unbiased=False).numpy()
    vt, ve = variance_shift(c, v, 0.5)
    assert np.allclose(stats.eval_var, ve, rtol=1e-6)
    active = (
        ve > 0.01
    )  # nearly dead channels have too few non-zero entries for a 5% check
    assert active.sum() >= 2
    assert np.allclose(stats.train_var[active], vt[active], rtol=0.05)
    assert np.allclose(
        stats.running_var[active], vt[active], rtol=0.1
    )  # BN learned the training variance
    assert np.all(stats.train_var[active] > 1.5 * stats.eval_var[active])
    # the model is untouched: mode and buffers
    assert not net.training
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_recalibrate_bn_uses_eval_statistics_and_copies():
    torch.manual_seed(1)
    x = torch.rand(256, 1, 6, 6)
    net = _warm(_net(0.5), x)
    before = net[3].running_var.clone()
    fixed = recalibrate_bn(net, x, batch_size=256)
    assert fixed is not net and not fixed.training
    assert torch.equal(net[3].running_var, before)
    (stats,) = bn_input_variance(fixed, x)
    assert np.allclose(
        fixed[3].running_var.double().numpy(),
        stats.eval_var * 256 * 36 / (256 * 36 - 1),
        rtol=1e-4,
    )
    assert fixed[3].momentum == net[3].momentum
    assert torch.equal(fixed[0].weight, net[0].weight)


def test_bn_helpers_errors():
    plain = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        bn_input_variance(plain, torch.ones(4, 2))
    with pytest.raises(ValueError, match="BatchNorm"):
        recalibrate_bn(plain, torch.ones(4, 2))
    with pytest.raises(TypeError, match="model"):
        recalibrate_bn("net", torch.ones(4, 2))
    with pytest.raises(TypeError, match="x"):
        bn_input_variance(_net(), np.ones((4, 1, 6, 6)))
    with pytest.raises(ValueError, match="batch_size"):
        bn_input_variance(_net(), torch.ones(4, 1, 6, 6), batch_size=1)


def test_layer_output_modes_and_errors():
    net = _net(0.5).eval()
    x = torch.rand(8, 1, 6, 6)
    a = layer_output(net, net[2], x)
    assert torch.equal(a, layer_output(net, net[1], x))  # dropout off in eval
    torch.manual_seed(0)
    b = layer_output(net, net[2], x, training=True)
    assert (b == 0).any() and not net.training
    with pytest.raises(ValueError, match="sub-module"):
        layer_output(net, nn.ReLU(), x)


# ---------------------------------------------------------------- fill_from_neighbours
def test_fill_from_neighbours_small_case():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    keep = torch.ones(1, 1, 3, 3, dtype=torch.bool)
    keep[0, 0, 1, 1] = False  # centre dropped: neighbours 1, 3, 5, 7
    keep[0, 0, 0, 0] = False  # corner dropped: neighbours 1 and 3
    out = fill_from_neighbours(x, keep)
    assert out[0, 0, 1, 1] == pytest.approx(4.0)
    assert out[0, 0, 0, 0] == pytest.approx(2.0)
    assert torch.equal(out[keep], x[keep])
    assert torch.equal(x, torch.arange(9.0).reshape(1, 1, 3, 3))


def test_fill_whole_channel_dropped_gives_zero():
    x = torch.rand(2, 3, 4, 4)
    keep = torch.ones(2, 3, 1, 1, dtype=torch.bool)
    keep[1, 2] = False
    out = fill_from_neighbours(x, keep)
    assert torch.all(out[1, 2] == 0) and torch.equal(out[0], x[0])


def test_fill_errors():
    with pytest.raises(TypeError, match="keep"):
        fill_from_neighbours(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match="broadcast"):
        fill_from_neighbours(
            torch.ones(1, 1, 2, 2), torch.ones(3, 1, 1, 1, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match="maps"):
        fill_from_neighbours(torch.ones(2, 2), torch.ones(2, 2, dtype=torch.bool))


# ---------------------------------------------------------------- conv_variance_terms
def test_conv_variance_terms_add_up_and_match_the_convolution():
    torch.manual_seed(0)
    base = torch.rand(64, 1, 8, 8)
    x = torch.cat([base, base + 0.3 * torch.rand(64, 1, 8, 8)], dim=1)  # correlated
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False).double()
    t = conv_variance_terms(x, conv.weight, 0.5, padding=1)
    with torch.no_grad():
        y = conv(x.double())
    assert np.allclose(t.total, y.var(dim=(0, 2, 3), unbiased=False).numpy())
    assert np.allclose(t.own + t.cross, t.total)
    assert np.allclose(t.shift, conv_variance_shift(x, conv.weight, 0.5, padding=1))
    # all-positive weights on positively correlated inputs: cross terms positive
    w = conv.weight.detach().abs()
    assert np.all(conv_variance_terms(x, w, 0.5, padding=1).cross > 0)


def test_conv_variance_terms_independent_inputs_have_small_cross_terms():
    torch.manual_seed(1)
    x = torch.rand(400, 2, 6, 6)
    w = torch.randn(2, 2, 3, 3)
    t = conv_variance_terms(x, w, 0.2)
    assert np.all(np.abs(t.cross) < 0.1 * t.own)


def test_conv_variance_terms_errors():
    with pytest.raises(ValueError, match="input channels"):
        conv_variance_terms(torch.ones(2, 3, 4, 4), torch.ones(1, 2, 3, 3), 0.5)
    with pytest.raises(ValueError, match="axes"):
        conv_variance_terms(torch.ones(3, 4, 4), torch.ones(1, 3, 3, 3), 0.5)
    with pytest.raises(ValueError, match="p"):
        conv_variance_terms(torch.ones(2, 3, 4, 4), torch.ones(1, 3, 3, 3), 1.0)


def test_layer_output_keeps_mixed_modes():
    net = _net(0.5).eval()
    net[2].train()  # only dropout in training mode
    layer_output(net, net[1], torch.rand(4, 1, 6, 6))
    assert net[2].training and not net[3].training and not net.training


def test_helpers_on_the_default_device():
    device = get_device()
    torch.manual_seed(2)
    x = torch.rand(64, 1, 6, 6)
    net = _warm(_net(0.5), x).to(device)
    h = layer_output(net, net[1], x)  # x on the CPU, model maybe on a GPU
    assert h.device.type == device.type
    (stats,) = bn_input_variance(net, x.to(device))
    assert np.all(np.isfinite(stats.train_var))
    fixed = recalibrate_bn(net, x.to(device))
    assert next(fixed.parameters()).device.type == device.type
    keep = torch.rand(h.shape, device=device) > 0.5
    assert fill_from_neighbours(h, keep).device.type == device.type
    t = conv_variance_terms(h, net[0].weight.detach().repeat(1, 4, 1, 1), 0.5)
    assert np.all(t.total >= 0)
