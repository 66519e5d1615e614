"""Tests for dropout_lib.studies.d2l_pitfalls: each exhibit fails, its fix does not.

The exhibits run on the CPU (and the ``meta`` device), whatever get_device() picks.
"""

import math
import warnings

import pytest
import torch

from dropout_lib.studies.d2l import D2LNet, dropout_layer
from dropout_lib.studies.d2l_pitfalls import (
    FlaggedNet,
    FunctionalDropoutMLP,
    cpu_mask_dropout,
    dropout2d_on_unbatched,
    fixed_key_dropout,
    lstm_dropout_one_layer,
    randn_keep_probability,
    randn_mask_dropout,
    run_python,
)


def test_cpu_mask_fails_off_the_cpu_and_fix_works():
    meta = torch.empty(4, 4, device="meta")
    with pytest.raises(RuntimeError, match="device"):
        cpu_mask_dropout(meta, 0.5)
    assert dropout_layer(meta, 0.5).device.type == "meta"


def test_cpu_mask_is_correct_on_the_cpu():
    torch.manual_seed(0)
    x = torch.ones(10_000)
    out = cpu_mask_dropout(x, 0.3)
    assert set(out.unique().tolist()) <= {0.0, torch.tensor(1 / 0.7).item()}
    assert abs((out == 0).float().mean().item() - 0.3) < 0.03
    assert cpu_mask_dropout(x, 0.0) is x
    assert torch.equal(cpu_mask_dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError):
        cpu_mask_dropout(x, 2.0)


def test_flagged_net_ignores_eval():
    torch.manual_seed(0)
    net = FlaggedNet(0.5, 0.5)
    x = torch.rand(32, 784)
    net.eval()
    assert not net.training and net.is_training
    assert not torch.equal(net(x), net(x))  # still dropping after eval()
    net.is_training = False
    assert torch.equal(net(x), net(x))


def test_flagged_net_shares_weights_with_d2lnet():
    torch.manual_seed(0)
    good = D2LNet(0.5, 0.5)
    bad = FlaggedNet(0.5, 0.5, is_training=False)
    bad.load_state_dict(good.state_dict())
    good.eval()
    x = torch.rand(8, 784)
    assert torch.equal(good(x), bad(x))
    assert "is_training=False" in repr(bad)


def test_flagged_net_validation():
    with pytest.raises(TypeError):
        FlaggedNet(is_training=1)


SNIPPET = """
import torch
from dropout_lib.studies.d2l import dropout_layer


def assert_checked_dropout(X, p):
    assert 0 <= p <= 1, "p must be in [0, 1]"
    return (torch.rand(X.shape) > p).float() * X / (1.0 - p)


x = torch.ones(3)
for f in (assert_checked_dropout, dropout_layer):
    try:
        print(f.__name__, f(x, -0.5).tolist())
    except (AssertionError, ValueError) as e:
        print(f.__name__, type(e).__name__)
"""


def test_assert_vanishes_under_optimize():
    normal = run_python(SNIPPET)
    optimized = run_python(SNIPPET, optimize=True)
    assert normal.returncode == 0 and optimized.returncode == 0, (
        normal.stderr + optimized.stderr
    )
    assert normal.stdout.splitlines() == [
        "assert_checked_dropout AssertionError",
        "dropout_layer ValueError",
    ]
    lines = optimized.stdout.splitlines()
    assert lines[0].startswith("assert_checked_dropout [0.666")
    assert lines[1] == "dropout_layer ValueError"


def test_run_python_validation_and_exit_code():
    assert run_python("import sys; sys.exit(3)").returncode == 3
    with pytest.raises(TypeError):
        run_python(b"print(1)")
    with pytest.raises(TypeError):
        run_python("print(1)", optimize=1)


def test_functional_dropout_ignores_eval_unless_told():
    torch.manual_seed(0)
    x = torch.rand(32, 784)
    bad = FunctionalDropoutMLP(0.5, pass_training=False).eval()
    good = FunctionalDropoutMLP(0.5, pass_training=True).eval()
    good.load_state_dict(bad.state_dict())
    assert not torch.equal(bad(x), bad(x))  # still dropping after eval()
    assert torch.equal(good(x), good(x))
    good.train()
    assert not torch.equal(good(x), good(x))
    with pytest.raises(TypeError):
        FunctionalDropoutMLP(0.5, pass_training=1)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
def test_randn_mask_keeps_the_wrong_fraction(p):
    torch.manual_seed(0)
    n = 200_000
    out = randn_mask_dropout(torch.ones(n, dtype=torch.float64), p)
    kept = (out != 0).double().mean().item()
    q = randn_keep_probability(p)
    assert abs(kept - q) < 5.5 * math.sqrt(q * (1 - q) / n)
    assert abs(out.mean().item() - q / (1 - p)) < 0.01 / (1 - p)
    assert randn_keep_probability(0.0) == 0.5
    assert torch.equal(randn_mask_dropout(torch.ones(3), 1.0), torch.zeros(3))


def test_fixed_key_dropout_repeats_its_mask():
    x = torch.ones(100, 50)
    a, b = fixed_key_dropout(x, 0.5), fixed_key_dropout(x, 0.5)
    assert torch.equal(a, b)
    assert not torch.equal(a, fixed_key_dropout(x, 0.5, key=1))
    torch.manual_seed(0)
    assert not torch.equal(dropout_layer(x, 0.5), dropout_layer(x, 0.5))
    assert fixed_key_dropout(x, 0.0) is x
    assert torch.equal(fixed_key_dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError):
        fixed_key_dropout(x, 0.5, key=-1)


def test_dropout2d_on_3d_input_drops_rows_and_warns():
    torch.manual_seed(0)
    res = dropout2d_on_unbatched(8, 8, 5, 0.5)
    assert any("3D input" in w for w in res.warnings)
    out = res.output
    assert out.shape == (8, 8, 5)
    # every row [c, h, :] is all zero or all kept ...
    rows = out.reshape(64, 5)
    assert bool(((rows == 0).all(1) | (rows == 2.0).all(1)).all())
    # ... and some channel has both kept and dropped rows: not whole channels
    per_channel = (out[:, :, 0] == 0).float().mean(1)
    assert bool(((per_channel > 0) & (per_channel < 1)).any())


def test_lstm_dropout_with_one_layer_warns_and_does_nothing():
    first, second, evaluated = lstm_dropout_one_layer(0.5)
    assert any("num_layers greater than 1" in w for w in first.warnings)
    assert torch.equal(first.output, second) and torch.equal(first.output, evaluated)


def test_exhibit_validation():
    with pytest.raises(ValueError):
        randn_mask_dropout(torch.ones(2), 1.5)
    with pytest.raises(TypeError):
        cpu_mask_dropout(torch.ones(2, dtype=torch.int64), 0.5)
    with pytest.raises(ValueError):
        dropout2d_on_unbatched(0, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            lstm_dropout_one_layer(2.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_mask_fails_on_a_real_gpu_and_fix_stays_there():
    # the meta-device tests above stand in for this one on machines without a GPU
    x = torch.ones(4, 4, device="cuda")
    with pytest.raises(RuntimeError, match="device"):
        cpu_mask_dropout(x, 0.5)
    out = dropout_layer(x, 0.5)
    assert out.device == x.device
    assert set(out.unique().tolist()) <= {0.0, 2.0}
