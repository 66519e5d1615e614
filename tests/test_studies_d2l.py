"""Tests for dropout_lib.scratch: d2l-style dropout_layer, D2LNet and fit_d2l."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dropout_lib.models import MLP
from dropout_lib.scratch import D2LNet, D2LRun, dropout_layer, fit_d2l


def test_special_cases():
    x = torch.randn(4, 5)
    assert dropout_layer(x, 0.0) is x
    assert torch.equal(dropout_layer(x, 1.0), torch.zeros_like(x))
    # p = 1 gives exact zeros even for infinite inputs (no 0 * inf)
    y = torch.tensor([float("inf"), -float("inf"), 1.0])
    assert torch.equal(dropout_layer(y, 1.0), torch.zeros(3))


@pytest.mark.parametrize("bad", [-0.1, 1.0001, float("nan"), float("inf")])
def test_bad_p_raises_value_error(bad):
    with pytest.raises(ValueError, match="p must be a probability"):
        dropout_layer(torch.ones(3), bad)


@pytest.mark.parametrize("bad", ["0.5", None, True, 1j])
def test_bad_p_type_raises_type_error(bad):
    with pytest.raises(TypeError, match="p must be a real number"):
        dropout_layer(torch.ones(3), bad)


@pytest.mark.parametrize(
    "x",
    [
        np.ones(3),
        [1.0, 2.0],
        torch.ones(3, dtype=torch.int64),
        torch.ones(3, dtype=torch.bool),
        torch.ones(3, dtype=torch.complex64),
    ],
)
def test_bad_x_raises_type_error(x):
    with pytest.raises(TypeError, match="X must be"):
        dropout_layer(x, 0.5)


def test_mask_made_on_the_input_device():
    meta = torch.empty(3, 7, device="meta")
    out = dropout_layer(meta, 0.3)
    assert out.device.type == "meta" and out.shape == meta.shape


def test_values_are_zero_or_scaled_and_input_untouched():
    torch.manual_seed(0)
    x = torch.rand(1000) + 0.5
    before = x.clone()
    out = dropout_layer(x, 0.25)
    assert torch.equal(x, before)
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.75)
    assert 0 < kept.sum() < 1000


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_dtype_kept(dtype):
    out = dropout_layer(torch.ones(10, dtype=dtype), 0.5)
    assert out.dtype == dtype


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**31 - 1))
def test_drop_fraction_and_mean(p, seed):
    n = 50_000
    gen = torch.Generator().manual_seed(seed)
    x = torch.full((n,), 2.0, dtype=torch.float64)
    out = dropout_layer(x, p, generator=gen)
    dropped = (out == 0).double().mean().item()
    assert abs(dropped - p) < 5.5 * math.sqrt(p * (1 - p) / n)
    # E[h'] = h; sd of the mean is h * sqrt(p / (q n))
    assert abs(out.mean().item() - 2.0) < 5.5 * 2.0 * math.sqrt(p / ((1 - p) * n))


def test_gradient_is_mask_over_q():
    torch.manual_seed(1)
    x = torch.rand(200, requires_grad=True)
    out = dropout_layer(x, 0.4)
    out.sum().backward()
    expect = (out != 0).float() / 0.6
    assert torch.allclose(x.grad, expect)


def test_net_shapes_and_modes():
    torch.manual_seed(0)
    net = D2LNet(0.2, 0.5)
    x = torch.rand(8, 28, 28)
    assert net(x).shape == (8, 10)
    net.eval()
    assert torch.equal(net(x), net(x))  # deterministic in eval mode
    net.train()
    assert not torch.equal(net(x), net(x))  # masks differ in training mode
    assert "dropout1=0.2, dropout2=0.5" in repr(net)


def test_net_matches_library_mlp_in_eval_mode():
    torch.manual_seed(0)
    net = D2LNet(0.2, 0.5)
    mlp = MLP(784, [256, 256], 10, (0.2, 0.5))
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for mine, theirs in zip([net.lin1, net.lin2, net.lin3], linears):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
    net.eval()
    mlp.eval()
    x = torch.rand(16, 28, 28)
    assert torch.allclose(net(x), mlp(x), atol=1e-6)


def test_net_all_dropped_outputs_bias():
    net = D2LNet(1.0, 1.0)
    out = net(torch.rand(5, 784))
    assert torch.equal(out, net.lin3.bias.expand(5, 10))


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(dropout1=1.5), ValueError),
        (dict(dropout2=-1), ValueError),
        (dict(dropout1="a"), TypeError),
        (dict(num_hiddens=(3,)), ValueError),
        (dict(num_inputs=0), ValueError),
        (dict(num_outputs=2.5), ValueError),
    ],
)
def test_net_validation(kwargs, err):
    with pytest.raises(err):
        D2LNet(**kwargs)


def _toy(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 784, generator=g)
    y = (x[:, :392].sum(1) > x[:, 392:].sum(1)).long()
    return x, y


def test_fit_d2l_reproducible_and_learns():
    data = _toy()
    a = fit_d2l(0.2, 0.5, data, data, epochs=3, lr=0.1, batch_size=32, seed=3)
    b = fit_d2l(0.2, 0.5, data, data, epochs=3, lr=0.1, batch_size=32, seed=3)
    assert isinstance(a, D2LRun)
    assert a.history["test_acc"] == b.history["test_acc"]
    assert a.train_eval_acc == b.train_eval_acc
    assert a.history.epochs == 3 and not a.model.training
    assert a.gap == pytest.approx(a.train_eval_acc - a.test_acc)
    assert a.test_acc == pytest.approx(a.history.final("test_acc"))


def test_fit_d2l_all_dropped_learns_only_output_bias():
    data = _toy(200)
    torch.manual_seed(5)
    init = D2LNet(1.0, 1.0).state_dict()
    run = fit_d2l(1.0, 1.0, data, data, epochs=2, lr=0.5, batch_size=50, seed=5)
    state = run.model.state_dict()
    for name, value in init.items():
        if name == "lin3.bias":
            assert not torch.equal(value, state[name])
        else:
            assert torch.equal(value, state[name]), name


def test_fit_d2l_weight_decay_shrinks_weights():
    data = _toy(200)
    plain = fit_d2l(0.0, 0.0, data, data, epochs=2, lr=0.1, batch_size=50, seed=0)
    decayed = fit_d2l(
        0.0, 0.0, data, data, epochs=2, lr=0.1, batch_size=50, seed=0, weight_decay=0.5
    )
    norm = lambda m: sum(p.pow(2).sum() for p in m.parameters()).item()  # noqa: E731
    assert norm(decayed.model) < norm(plain.model)


def test_fit_d2l_extra_eval_sets():
    data = _toy(100)
    run = fit_d2l(0.0, 0.0, data, data, epochs=1, batch_size=50, eval_sets={"tr": data})
    assert len(run.history["tr_acc"]) == 1


@pytest.mark.parametrize(
    "kwargs",
    [dict(lr=0), dict(lr=True), dict(weight_decay=-1.0), dict(seed=-1), dict(seed=1.5)],
)
def test_fit_d2l_validation(kwargs):
    data = _toy(10)
    with pytest.raises(ValueError):
        fit_d2l(0.0, 0.0, data, data, epochs=1, **kwargs)
