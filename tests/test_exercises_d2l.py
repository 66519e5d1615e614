"""The d2l chapter's checkers accept reference solutions and reject typical mistakes."""

import numpy as np
import pytest
import torch

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.d2l import check_constant_loss, check_dropout_layer
from dropout_lib.studies.d2l import dropout_layer
from dropout_lib.studies.d2l_pitfalls import (
    cpu_mask_dropout,
    fixed_key_dropout,
    randn_mask_dropout,
)


def test_reference_dropout_layer_passes():
    assert check_dropout_layer(dropout_layer) is True


def test_checker_leaves_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    check_dropout_layer(dropout_layer)
    assert torch.equal(torch.rand(3), expected)


def _no_check(X, p):
    if p == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape, device=X.device) > p).to(X.dtype)
    return mask * X / (1 - p)


def _keep_prob_confused(X, p):
    from dropout_lib.validation import check_probability

    p = check_probability(p)
    if p in (0.0, 1.0):
        return X.clone() if p == 0 else torch.zeros_like(X)
    mask = (torch.rand(X.shape, device=X.device) < p).to(
        X.dtype
    )  # keeps with probability p
    return mask * X / (1 - p)


def _in_place(X, p):
    from dropout_lib.validation import check_probability

    p = check_probability(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    X *= (torch.rand(X.shape, device=X.device) > p).to(X.dtype)
    X /= 1 - p
    return X


def _unscaled(X, p):
    from dropout_lib.validation import check_probability

    p = check_probability(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    return (torch.rand(X.shape, device=X.device) > p).to(X.dtype) * X


def _valid_p(p):
    from dropout_lib.validation import check_probability

    return check_probability(p)


def _reseeded(X, p):  # re-seeds inside the function: the same mask on every call
    p = _valid_p(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    torch.manual_seed(0)
    mask = (torch.rand(X.shape, device=X.device, dtype=X.dtype) > p).to(X.dtype)
    return mask * X / (1 - p)


def _one_mask_per_feature(X, p):  # drawn at X.shape[-1:], broadcast over the batch
    p = _valid_p(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    mask = (torch.rand(X.shape[-1:], device=X.device, dtype=X.dtype) > p).to(X.dtype)
    return mask * X / (1 - p)


def _arange_mask(X, p):  # a deterministic "mask": exactly a share p of entries dropped
    p = _valid_p(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    n = X.numel()
    keep = (torch.arange(n, device=X.device) >= p * n).reshape(X.shape)
    return keep.to(X.dtype) * X / (1 - p)


def _cpu_mask_moved(X, p):  # a CPU mask copied to X's device at every call
    p = _valid_p(p)
    if p in (0.0, 1.0):
        return X if p == 0 else torch.zeros_like(X)
    mask = (torch.rand(X.shape) > p).to(X.device)
    return mask.to(X.dtype) * X / (1 - p)


# d2l's guard, a bare `assert` that `python -O` removes (a wrong answer). Compiled
# here rather than written as a function of this module: pytest rewrites the asserts
# of test modules into checks that survive -O, and the point is that this one doesn't.
_D2L_EXHIBIT = """
def assert_checked_dropout(X, p):
    assert 0 <= p <= 1, "p must be in [0, 1]"
    mask = (torch.rand(X.shape, device=X.device, dtype=X.dtype) > p).to(X.dtype)
    return mask * X / (1.0 - p)
"""
_namespace: dict = {"torch": torch}
exec(compile(_D2L_EXHIBIT, "<d2l exhibit>", "exec"), _namespace)
assert_checked_dropout = _namespace["assert_checked_dropout"]


@pytest.mark.parametrize(
    "fn, match",
    [
        (_reseeded, "two successive calls agree"),
        (_one_mask_per_feature, "adjacent rows"),
        (_arange_mask, "two successive calls agree"),
        (_cpu_mask_moved, "made tensors on another device"),
        # its torch.Generator cannot live on 'meta'; on a real device it would
        # fail as _reseeded does
        (fixed_key_dropout, "meta"),
    ],
)
def test_wrong_masks_fail(fn, match):
    # these pass the old checks (range, p = 0 and 1, output device, scale, share)
    with pytest.raises(CheckFailed, match=match):
        check_dropout_layer(fn)


def test_device_rule_allows_scalar_tensors_and_same_device_work():
    # a 0-dim CPU tensor is a scalar that torch moves for free; only full-size
    # tensors on another device count
    def with_cpu_scalar(X, p):
        p = _valid_p(p)
        if p in (0.0, 1.0):
            return X if p == 0 else torch.zeros_like(X)
        keep = torch.rand(X.shape, device=X.device, dtype=X.dtype) > p
        return torch.where(keep, X / (1 - p), torch.tensor(0.0, dtype=X.dtype))

    assert check_dropout_layer(with_cpu_scalar) is True


@pytest.mark.parametrize(
    "fn, match",
    [
        # under python -O the exhibit's assert is gone and p=-0.1 goes through
        (assert_checked_dropout, "AssertionError" if __debug__ else "no error"),
        (_no_check, "no error was raised"),
        (cpu_mask_dropout, "device"),
        (_keep_prob_confused, "dropped"),
        (_in_place, "modified its input"),
        (_unscaled, "x / \\(1 - p\\)"),
        (lambda X, p: 1 / 0, "ValueError"),
    ],
)
def test_wrong_dropout_layers_fail(fn, match):
    with pytest.raises(CheckFailed, match=match):
        check_dropout_layer(fn)


def test_dropout_layer_checker_type_error():
    with pytest.raises(TypeError):
        check_dropout_layer(3)


def entropy(labels, n_classes):
    freq = np.bincount(labels, minlength=n_classes) / len(labels)
    freq = freq[freq > 0]
    return float(-(freq * np.log(freq)).sum())


def test_reference_constant_loss_passes():
    assert check_constant_loss(entropy) is True


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda labels, k: float(np.log(k)), "unbalanced"),  # assumes uniform classes
        (lambda labels, k: float(np.log(len(np.unique(labels)))), "unbalanced"),
        (lambda labels, k: "two", "must return a number"),
        (lambda labels, k: float("nan"), "expected"),
    ],
)
def test_wrong_constant_losses_fail(fn, match):
    with pytest.raises(CheckFailed, match=match):
        check_constant_loss(fn)


def test_constant_loss_checker_type_error():
    with pytest.raises(TypeError):
        check_constant_loss(None)


@pytest.mark.parametrize(
    "fn",
    [
        lambda X, p: X,
        lambda X, p: torch.zeros_like(X),
        lambda X, p: None,
    ],
)
def test_trivial_dropout_layers_fail_also_under_optimize(fn):
    # checkers raise CheckFailed explicitly, so python -O cannot turn them into no-ops
    with pytest.raises(CheckFailed):
        check_dropout_layer(fn)


def test_randn_mask_is_rejected_by_the_dropped_fraction():
    with pytest.raises(CheckFailed, match="dropped"):
        check_dropout_layer(randn_mask_dropout)


@pytest.mark.parametrize("fn", [lambda labels, k: 0.0, lambda labels, k: None])
def test_trivial_constant_losses_fail_also_under_optimize(fn):
    with pytest.raises(CheckFailed):
        check_constant_loss(fn)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_reference_layer_on_a_real_gpu():
    # the checker's device rule uses the meta device; on a GPU, check the real thing
    x = torch.linspace(1.0, 2.0, 1000, device="cuda")
    out = dropout_layer(x, 0.3)
    assert out.device == x.device
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.7)
    with pytest.raises(RuntimeError):
        cpu_mask_dropout(x, 0.3)  # a CPU mask times a GPU tensor: device error
    # moved with .to(X.device) it runs, at the cost of a copy per call: only the
    # checker's device rule (tensors made elsewhere) catches it
    assert _cpu_mask_moved(x, 0.3).device == x.device
    with pytest.raises(CheckFailed, match="another device"):
        check_dropout_layer(_cpu_mask_moved)
