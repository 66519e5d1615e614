"""Tests for dropout_lib.studies.d2l: dropout_layer, D2LNet and its variants, d2l_runs.

Every test that trains compares tensors on one device: the runs train on
``get_device()`` (a GPU where there is one), so states are moved to the CPU first.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dropout_lib.models import MLP
from dropout_lib.studies.d2l import (
    D2LNet,
    DropConnectNet,
    GaussianNoiseNet,
    activation_variances,
    check_float_tensor,
    class_balanced_subset,
    d2l_runs,
    dropout_layer,
    gaussian_noise_layer,
    largest_fall,
)
from dropout_lib.training import Run


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
        for mine, theirs in zip([net.lin1, net.lin2, net.lin3], linears, strict=True):
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
        (dict(num_outputs=2.5), TypeError),
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


def _cpu_state(model):
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def test_d2l_runs_reproducible_on_one_device():
    data = _toy()
    # bit-for-bit equality is a property of one device: pin it (a GPU may differ)
    kw = dict(seeds=[3], epochs=3, lr=0.1, batch_size=32, device=torch.device("cpu"))
    (a,) = d2l_runs(0.2, 0.5, data, data, **kw)
    (b,) = d2l_runs(0.2, 0.5, data, data, **kw)
    assert isinstance(a, Run) and a.config == (0.2, 0.5) and a.seed == 3
    assert a.history["test_acc"] == b.history["test_acc"]
    assert a.history["train_eval_acc"] == b.history["train_eval_acc"]
    assert a.history["eval_epoch"] == [1.0, 2.0, 3.0]
    assert len(a.history["train_loss"]) == 3 and not a.model.training
    assert a.gap() == pytest.approx(a.final("train_eval_acc") - a.final("test_acc"))


def test_d2l_runs_eval_every_and_probe():
    data = _toy(100)
    (run,) = d2l_runs(
        0.5,
        0.5,
        data,
        data,
        seeds=[0],
        epochs=5,
        lr=0.1,
        eval_every=2,
        probe=data[0][:50],
    )
    assert run.history["eval_epoch"] == [2.0, 4.0, 5.0]
    assert len(run.history["var_h1_train"]) == 3
    assert len(run.history["train_loss"]) == 5


def test_d2l_runs_seeds_are_paired_across_configs():
    data = _toy(100)
    kw = dict(seeds=[0, 1], epochs=1, lr=0.1, batch_size=50)
    a = d2l_runs(0.0, 0.0, data, data, **kw)
    b = d2l_runs(0.5, 0.5, data, data, **kw)
    # the same seed gives the same initial weights whatever the rates
    torch.manual_seed(1)
    init = _cpu_state(D2LNet(0.0, 0.0))
    torch.manual_seed(1)
    assert all(
        torch.equal(v, w)
        for v, w in zip(
            init.values(), _cpu_state(D2LNet(0.5, 0.5)).values(), strict=True
        )
    )
    assert [r.seed for r in a] == [r.seed for r in b] == [0, 1]


def test_d2l_runs_all_dropped_learns_only_output_bias():
    data = _toy(200)
    torch.manual_seed(5)
    init = _cpu_state(D2LNet(1.0, 1.0))
    (run,) = d2l_runs(1.0, 1.0, data, data, seeds=[5], epochs=2, lr=0.5, batch_size=50)
    state = _cpu_state(run.model)
    for name, value in init.items():
        if name == "lin3.bias":
            assert not torch.equal(value, state[name])
        else:
            assert torch.equal(value, state[name]), name


def test_d2l_runs_explicit_cpu_device():
    data = _toy(60)
    (run,) = d2l_runs(
        0.2, 0.5, data, data, seeds=[0], epochs=1, lr=0.1, device=torch.device("cpu")
    )
    assert next(run.model.parameters()).device.type == "cpu"


def test_d2l_runs_weight_decay_shrinks_weights():
    data = _toy(200)
    kw = dict(seeds=[0], epochs=2, lr=0.1, batch_size=50)
    (plain,) = d2l_runs(0.0, 0.0, data, data, **kw)
    (decayed,) = d2l_runs(0.0, 0.0, data, data, weight_decay=0.5, **kw)

    def norm(m):
        return sum(p.pow(2).sum() for p in m.parameters()).item()

    assert norm(decayed.model) < norm(plain.model)


@pytest.mark.parametrize("net", [DropConnectNet, GaussianNoiseNet])
def test_d2l_runs_other_nets(net):
    data = _toy(100)
    (run,) = d2l_runs(0.2, 0.5, data, data, seeds=[0], epochs=1, lr=0.1, net=net)
    assert isinstance(run.model, net)


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(lr=0), ValueError),
        (dict(lr=True), ValueError),
        (dict(weight_decay=-1.0), ValueError),
        (dict(seeds=[-1]), ValueError),
        (dict(seeds=[1.5]), TypeError),
        (dict(epochs=0), ValueError),
        (dict(eval_every=0), ValueError),
        (dict(net=nn.Linear), TypeError),
    ],
)
def test_d2l_runs_validation(kwargs, err):
    data = _toy(10)
    args = dict(seeds=[0], epochs=1, lr=0.1) | kwargs
    with pytest.raises(err):
        d2l_runs(0.0, 0.0, data, data, **args)


def test_check_float_tensor():
    x = torch.ones(2)
    assert check_float_tensor(x) is x
    with pytest.raises(TypeError, match="floating-point"):
        check_float_tensor(torch.ones(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_float_tensor([1.0])


def test_gaussian_noise_moments_and_ends():
    gen = torch.Generator().manual_seed(0)
    n, p = 200_000, 0.5
    x = torch.full((n,), 2.0, dtype=torch.float64)
    out = gaussian_noise_layer(x, p, generator=gen)
    sd_mean = 2.0 * math.sqrt(p / (1 - p) / n)
    assert abs(out.mean().item() - 2.0) < 5.5 * sd_mean
    assert abs(out.var().item() / (4.0 * p / (1 - p)) - 1) < 0.02
    assert torch.equal(x, torch.full((n,), 2.0, dtype=torch.float64))
    assert gaussian_noise_layer(x, 0.0) is x
    with pytest.raises(ValueError):
        gaussian_noise_layer(x, 1.0)
    with pytest.raises(ValueError):
        GaussianNoiseNet(1.0, 0.5)


def test_gaussian_net_never_zeroes_units_and_eval_is_plain():
    torch.manual_seed(0)
    net = GaussianNoiseNet(0.2, 0.5)
    x = torch.rand(16, 784)
    h1, h2 = net.hidden(x)
    relu1 = torch.relu(net.lin1(x))
    assert torch.equal((h1 == 0), (relu1 == 0))  # no extra zeros
    net.eval()
    plain = D2LNet(0.2, 0.5).eval()
    plain.load_state_dict(net.state_dict())
    assert torch.equal(net(x), plain(x))


def test_dropconnect_drops_weights_not_units():
    torch.manual_seed(0)
    net = DropConnectNet(0.5, 0.5)
    x = torch.rand(64, 784)
    h1, h2 = net.hidden(x)
    assert torch.equal(h1, torch.relu(net.lin1(x)))  # layer 1 untouched
    # a unit of H2 reads a thinned weight row, not a zeroed input:
    full = torch.relu(net.lin2(h1))
    assert not torch.equal(h2, full)
    net.eval()
    plain = D2LNet(0.5, 0.5).eval()
    plain.load_state_dict(net.state_dict())
    assert torch.equal(net(x), plain(x))
    dead = DropConnectNet(1.0, 1.0)
    assert torch.equal(dead(x), dead.lin3.bias.expand(64, 10))


def test_activation_variances_modes_and_formula():
    torch.manual_seed(0)
    net = D2LNet(0.5, 0.5)
    x = torch.rand(4000, 784)
    net.train()
    v = activation_variances(net, x)
    assert net.training  # mode restored
    assert set(v) == {"var_h1_eval", "var_h2_eval", "var_h1_train", "var_h2_train"}
    # layer 1 (no dropout before it): train variance = E[h^2]/q - E[h]^2 per unit
    with torch.no_grad():
        h = torch.relu(net.lin1(x))
    expect = ((h.pow(2).mean(0) / 0.5) - h.mean(0).pow(2)).mean().item()
    assert v["var_h1_train"] == pytest.approx(expect, rel=0.05)
    assert v["var_h1_eval"] == pytest.approx(h.var(0).mean().item(), rel=1e-5)
    with pytest.raises(TypeError):
        activation_variances(nn.Linear(3, 3), x)


def test_activation_variances_leave_the_random_stream_alone():
    torch.manual_seed(0)
    net = D2LNet(0.5, 0.5)
    x = torch.rand(64, 784)
    torch.manual_seed(3)
    expected = torch.rand(5)
    torch.manual_seed(3)
    activation_variances(net, x)
    assert torch.equal(torch.rand(5), expected)


def test_largest_fall():
    assert largest_fall([0.5, 0.7, 0.6, 0.9, 0.4]) == pytest.approx(0.5)
    assert largest_fall([0.1, 0.2, 0.3]) == 0.0
    with pytest.raises(ValueError):
        largest_fall([0.3])


def test_class_balanced_subset():
    y = torch.arange(10).repeat(30)
    idx = class_balanced_subset(y, 7, seed=1)
    assert idx.dtype == torch.int64 and len(idx) == 70
    assert torch.bincount(y[idx]).tolist() == [7] * 10
    assert torch.equal(idx, class_balanced_subset(y, 7, seed=1))
    assert len(set(idx.tolist())) == 70
    with pytest.raises(ValueError):
        class_balanced_subset(y, 31)


def test_d2l_runs_without_train_evaluation():
    data = _toy(60)
    # bit-for-bit comparison of two runs: pin one device (a GPU may differ)
    kw = dict(seeds=[0], epochs=2, lr=0.1, batch_size=30, device=torch.device("cpu"))
    (run,) = d2l_runs(0.2, 0.5, data, data, eval_train=False, **kw)
    (full,) = d2l_runs(0.2, 0.5, data, data, **kw)
    assert "train_eval_acc" not in run.history.metrics
    assert run.history["test_acc"] == full.history["test_acc"]  # same training
    with pytest.raises(TypeError, match="eval_train must be a bool"):
        d2l_runs(0.2, 0.5, data, data, eval_train=1, **kw)
