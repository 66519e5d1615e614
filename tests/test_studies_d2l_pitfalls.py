"""Tests for dropout_lib.pitfalls: each exhibit shows its failure, and the fix does not."""

import pytest
import torch

from dropout_lib.pitfalls import (
    FlaggedNet,
    assert_checked_dropout,
    cpu_mask_dropout,
    run_python,
)
from dropout_lib.scratch import D2LNet, dropout_layer


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


def test_assert_checked_dropout_in_normal_mode():
    x = torch.ones(5)
    with pytest.raises(AssertionError):
        assert_checked_dropout(x, -0.5)
    assert torch.equal(assert_checked_dropout(x, 1), torch.zeros(5))
    assert assert_checked_dropout(x, 0) is x
    out = assert_checked_dropout(torch.ones(1000), 0.5)
    assert set(out.unique().tolist()) <= {0.0, 2.0}


SNIPPET = """
import torch
from dropout_lib.pitfalls import assert_checked_dropout
from dropout_lib.scratch import dropout_layer
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
