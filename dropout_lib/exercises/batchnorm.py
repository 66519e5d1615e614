"""Checkers for the exercises of the chapter on BatchNorm and dropout in CNNs.

Each checker calls the learner's function on cases with known answers and returns True,
or raises ``AssertionError`` naming the property that failed, with a hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..diagnostics import variance_shift

__all__ = ["check_variance_shift", "check_channel_dropout"]


def check_variance_shift(
    fn: Callable[[float, float, float], tuple[float, float]],
) -> bool:
    """Check ``fn(c, v, p) -> (var_train, var_test)`` for an activation of mean c and variance v.

    The reference is :func:`dropout_lib.diagnostics.variance_shift`:
    :math:`\\operatorname{Var}_{\\text{train}} = (c^2 + v)/q - c^2` and
    :math:`\\operatorname{Var}_{\\text{test}} = v`, :math:`q = 1 - p`.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    cases = [
        (0.0, 1.0, 0.5),
        (1.0, 0.0, 0.5),
        (2.0, 0.5, 0.2),
        (-1.5, 3.0, 0.9),
        (0.3, 0.7, 0.0),
    ]
    for c, v, p in cases:
        got = fn(c, v, p)
        assert isinstance(got, tuple) and len(got) == 2, (
            f"fn({c}, {v}, {p}) must return a pair (var_train, var_test); got {got!r}"
        )
        want_train, want_test = (float(a) for a in variance_shift(c, v, p))
        assert math.isclose(float(got[1]), want_test, rel_tol=1e-9, abs_tol=1e-12), (
            f"var_test is wrong for c={c}, v={v}, p={p}: got {got[1]}, expected {want_test}. "
            "Hint: at inference dropout is the identity, so nothing changes."
        )
        assert math.isclose(float(got[0]), want_train, rel_tol=1e-9, abs_tol=1e-12), (
            f"var_train is wrong for c={c}, v={v}, p={p}: got {got[0]}, expected {want_train}. "
            "Hint: compute E[X^2] with E[a^2] = q, then subtract E[X]^2; the mean c is not zero in general."
        )
    return True


def check_channel_dropout(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """Check ``fn(x, p)``: inverted dropout of whole channels of ``x`` (shape ``(N, C, H, W)``).

    Properties checked: the shape is kept; every feature map is either all zeros or the input
    divided by :math:`q`; the fraction of kept maps is :math:`q` within five standard errors;
    masks differ between samples; ``p = 0`` returns the input unchanged; the input is not
    modified.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(12345)
        x = torch.rand(2000, 8, 4, 4) + 0.5  # strictly positive: a zero means "dropped"
        x0 = x.clone()
        p = 0.3
        y = fn(x, p)
        assert torch.equal(x, x0), "fn modified its input; build a new tensor instead."
        assert isinstance(y, torch.Tensor) and y.shape == x.shape, (
            f"fn must return a tensor shaped like x {tuple(x.shape)}; got {getattr(y, 'shape', type(y))}"
        )
        zero = (y == 0).flatten(2)
        assert torch.all(zero.all(dim=2) | (~zero).all(dim=2)), (
            "some feature map is partly dropped. Hint: draw the mask at shape (N, C, 1, 1) and broadcast it."
        )
        kept = ~(y == 0)
        assert torch.allclose(y[kept], x[kept] / (1 - p)), (
            "kept entries must be divided by q = 1 - p."
        )
        frac = kept[:, :, 0, 0].double().mean().item()
        se = math.sqrt(p * (1 - p) / (2000 * 8))
        assert abs(frac - (1 - p)) < 5 * se, (
            f"the fraction of kept maps is {frac:.4f}, expected q = {1 - p} (p is the DROP probability)."
        )
        per_sample = kept[:, :, 0, 0]
        assert not torch.all(per_sample == per_sample[0]), (
            "every sample got the same mask. Hint: draw one mask entry per (sample, channel)."
        )
        assert torch.equal(fn(x, 0.0), x), "p = 0 must return the input unchanged."
    finally:
        torch.random.set_rng_state(gen_state)
    return True
