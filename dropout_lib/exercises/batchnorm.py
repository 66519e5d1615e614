"""Checkers for the exercises of the chapter on BatchNorm and dropout in CNNs.

Each checker calls the learner's function through
`dropout_lib.exercises._checking.call_learner` on cases with known
answers and returns `True`, or raises
`dropout_lib.exercises._checking.CheckFailed` naming the property that
failed, with a hint. No `assert` statement decides anything, so the checks
hold under `python -O` too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..diagnostics import variance_shift
from ._checking import (
    call_learner,
    fail,
    require,
    require_callable,
    require_unmodified,
    within_z,
)

__all__ = ["check_channel_dropout", "check_variance_shift"]


def _as_float(value: object, what: str, hint: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fail(f"{what}: got {value!r}, not a number", hint)
    return out


def check_variance_shift(
    fn: Callable[[float, float, float], tuple[float, float]],
) -> bool:
    """Check `fn(c, v, p) -> (var_train, var_test)` for an activation of mean c and
    variance v.

    The reference is `dropout_lib.diagnostics.variance_shift`:
    Var_train = (c² + v)/q − c² and
    Var_test = v, q = 1 − p; both must
    match to a relative tolerance of 10⁻⁹ (the formula is exact).
    """
    require_callable(fn, "fn", "(c, v, p) -> (var_train, var_test)")
    cases = [
        (0.0, 1.0, 0.5),
        (1.0, 0.0, 0.5),
        (2.0, 0.5, 0.2),
        (-1.5, 3.0, 0.9),
        (0.3, 0.7, 0.0),
    ]
    for c, v, p in cases:
        where = f"fn({c}, {v}, {p})"
        got = call_learner(
            fn, c, v, p, what=where, hint="fn takes three numbers (c, v, p)"
        )
        require(
            isinstance(got, tuple) and len(got) == 2,
            f"{where} must return a pair (var_train, var_test); got {got!r}",
        )
        want_train, want_test = (float(a) for a in variance_shift(c, v, p))
        pair_hint = "return two numbers"
        got_train = _as_float(got[0], f"{where}: var_train", pair_hint)
        got_test = _as_float(got[1], f"{where}: var_test", pair_hint)
        require(
            math.isclose(got_test, want_test, rel_tol=1e-9, abs_tol=1e-12),
            f"var_test is wrong for c={c}, v={v}, p={p}: got {got_test}, "
            f"expected {want_test}",
            "at inference dropout is the identity, so nothing changes",
        )
        require(
            math.isclose(got_train, want_train, rel_tol=1e-9, abs_tol=1e-12),
            f"var_train is wrong for c={c}, v={v}, p={p}: got {got_train}, "
            f"expected {want_train}",
            "compute E[X^2] with E[a^2] = q, then subtract E[X]^2; the mean c "
            "is not zero in general",
        )
    return True


def check_channel_dropout(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> bool:
    """Check `fn(x, p)`: inverted dropout of whole channels of `x` (`(N, C, H,
    W)`).

    Properties checked: the input is not modified; the shape is kept; every
    feature map is either all zeros or the input divided by q; the
    fraction of kept maps is q within `._checking.Z` standard
    errors √(pq/(NC)); the maps of one sample are dropped independently of
    each other (not one mask per sample, noise shape `(N, 1, 1, 1)`) and of
    the other samples' (not one mask for the batch): on m disjoint pairs of
    maps, two independent keep decisions agree with probability
    a = p² + q², so the fraction of agreeing pairs must lie within `Z`
    standard errors √(a(1−a)/m) of a; the mask comes from torch's generator
    (the same `torch.manual_seed` gives the same output, a second call another
    mask); `p = 0` returns the input unchanged and `p = 1` returns zeros (no
    NaN from 0/0). The caller's random state is restored.
    """
    require_callable(fn, "fn", "(x, p) -> tensor")
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(12345)
        n, c = 2000, 8
        x = torch.rand(n, c, 4, 4) + 0.5  # strictly positive: a zero means "dropped"
        x0 = x.clone()
        p = 0.3
        hint = "fn(x, p) takes a tensor (N, C, H, W) and the drop probability p"
        torch.manual_seed(2024)
        y = call_learner(fn, x, p, what=f"fn(x, p={p})", hint=hint)
        require_unmodified(
            x,
            x0,
            f"fn(x, p={p})",
            "build a new tensor instead of multiplying x in place",
        )
        require(
            isinstance(y, torch.Tensor) and y.shape == x.shape,
            f"fn must return a tensor shaped like x {tuple(x.shape)}; "
            f"got {getattr(y, 'shape', type(y))}",
        )
        zero = (y == 0).flatten(2)
        require(
            bool(torch.all(zero.all(dim=2) | (~zero).all(dim=2))),
            "some feature map is partly dropped",
            "draw the mask at shape (N, C, 1, 1) and broadcast it",
        )
        kept = y != 0
        require(
            torch.allclose(y[kept], x[kept] / (1 - p)),
            "kept entries must be divided by q = 1 - p",
        )
        frac = kept[:, :, 0, 0].double().mean().item()
        within_z(
            frac,
            1 - p,
            math.sqrt(p * (1 - p) / (n * c)),
            "the fraction of kept feature maps",
            "p is the DROP probability: keep a map with probability 1 - p",
        )
        table = kept[:, :, 0, 0]  # keep decisions, one per (sample, channel)
        agree = p * p + (1 - p) * (1 - p)
        for what, a, b in (
            ("one channel of two samples", table[0::2], table[1::2]),
            ("two channels of one sample", table[:, 0::2], table[:, 1::2]),
        ):
            within_z(
                (a == b).double().mean().item(),
                agree,
                math.sqrt(agree * (1 - agree) / a.numel()),
                f"how often {what} share their keep decision",
                "draw one independent mask entry per (sample, channel), shape "
                "(N, C, 1, 1): neither one entry per sample (N, 1, 1, 1) nor one "
                "mask for the whole batch (1, C, 1, 1)",
            )
        torch.manual_seed(2024)
        again = call_learner(fn, x, p, what=f"fn(x, p={p}) again", hint=hint)
        require(
            isinstance(again, torch.Tensor) and torch.equal(again, y),
            "the same torch.manual_seed gave a different output",
            "draw the mask with torch's generator (torch.rand), not NumPy or Python",
        )
        other = call_learner(fn, x, p, what=f"fn(x, p={p}) again", hint=hint)
        require(
            isinstance(other, torch.Tensor) and not torch.equal(other, y),
            "a second call gave the same mask",
            "draw a new mask on every call; do not reseed inside fn",
        )
        y0 = call_learner(fn, x, 0.0, what="fn(x, p=0.0)", hint=hint)
        require(
            isinstance(y0, torch.Tensor) and torch.equal(y0, x),
            "p = 0 must return the input unchanged",
        )
        y1 = call_learner(fn, x, 1.0, what="fn(x, p=1.0)", hint=hint)
        require(
            isinstance(y1, torch.Tensor)
            and y1.shape == x.shape
            and bool(torch.all(y1 == 0)),
            "p = 1 must return zeros (every map dropped)",
            "at p = 1 the scale 1/q divides by zero and 0/0 is NaN: return zeros",
        )
    finally:
        torch.random.set_rng_state(gen_state)
    return True
