"""What every exercise checker shares: calling the learner's code, failing, tolerances.

A checker returns `True` or raises `CheckFailed` (a subclass of
`AssertionError`) whose message names the property that failed and gives a
hint. Checkers never use the `assert` statement: `python -O` strips it, and a
checker that passes everything under `-O` teaches the wrong lesson. The course
runs the checker tests under `python -O` too (`make test-optimized`).

Tolerance policy
----------------
A statistical check compares an observed value with its expectation and allows
`Z` = 5.5 standard deviations (`dropout_lib.stats.Z_TOLERANCE`, re-exported
here as `Z` for the checkers and for older imports). By the normal
approximation a correct function fails one such check with probability
2Φ(−5.5) ≈ 3.8 × 10⁻⁸; a checker with ten checks fails a correct function
less than once in a million calls (union bound), while the mistakes the
checkers look for miss by tens to hundreds of standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from ..stats import Z_TOLERANCE

__all__ = [
    "CheckFailed",
    "Z",
    "call_learner",
    "fail",
    "require",
    "require_callable",
    "require_independent_masks",
    "require_same_shape",
    "require_unmodified",
    "within_z",
]

#: Allowed deviation of a statistical check, in standard deviations: the public
#: `dropout_lib.stats.Z_TOLERANCE`, kept here under its old name.
Z = Z_TOLERANCE


class CheckFailed(AssertionError):
    """A learner's solution lacks a property the exercise asks for."""


def fail(what: str, hint: str = "") -> NoReturn:
    """Raise `CheckFailed` with `what` went wrong and a `hint`."""
    raise CheckFailed(f"{what}. Hint: {hint}" if hint else what)


def require(condition: object, what: str, hint: str = "") -> None:
    """`fail` with `what` and `hint` unless `condition` is true."""
    if not condition:
        fail(what, hint)


def require_callable(fn: object, name: str = "fn", signature: str = "") -> None:
    """Raise `TypeError` (a misuse of the checker, not a failed property) for a
    non-callable.
    """
    if not callable(fn):
        shape = f" {signature}" if signature else ""
        raise TypeError(f"{name} must be a callable{shape}; got {type(fn).__name__}")


def call_learner(
    fn: Callable[..., Any], *args: Any, what: str, hint: str = "", **kwargs: Any
) -> Any:
    """Call the learner's `fn(*args, **kwargs)`; an exception becomes
    `CheckFailed`.

    `what` names the check being made (`"p = 0.3"`) and `hint` says what the
    function must accept. The learner's exception is chained (`from`), so its
    traceback is still shown.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # the learner's bug, reported as a failed property
        message = f"{what}: your function raised {type(exc).__name__}: {exc}"
        raise CheckFailed(f"{message}. Hint: {hint}" if hint else message) from exc


def within_z(
    observed: float, expected: float, sd: float, what: str, hint: str = "", z: float = Z
) -> None:
    """Fail unless |observed − expected| ≤ z·σ.

    `sd` is the standard deviation of `observed` for a correct solution; the
    message reports the deviation in standard deviations.
    """
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive finite number; got sd={sd!r}")
    if not math.isfinite(observed):
        fail(f"{what}: got {observed!r}, expected about {expected:.6g}", hint)
    dev = abs(observed - expected) / sd
    if dev > z:
        fail(
            f"{what}: got {observed:.6g}, expected {expected:.6g} "
            f"({dev:.1f} standard deviations away; {z} allowed)",
            hint,
        )


def _as_numpy(value: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a NumPy array, never a view to write."""
    detach = getattr(value, "detach", None)
    if callable(detach):
        value = detach().cpu().numpy()
    return np.asarray(value)


def require_unmodified(value: Any, before: Any, what: str, hint: str = "") -> None:
    """Fail unless the learner left its input `value` equal to the copy `before`.

    Works for tensors and NumPy arrays alike (same shape and the same entries,
    NaN never equal).
    """
    a, b = _as_numpy(value), _as_numpy(before)
    require(
        a.shape == b.shape and bool(np.array_equal(a, b)),
        f"{what}: your function modified its input",
        hint,
    )


def require_same_shape(
    got: tuple[int, ...], expected: tuple[int, ...], what: str, hint: str = ""
) -> None:
    """Fail unless the learner's output shape `got` equals `expected`."""
    got, expected = tuple(got), tuple(expected)
    require(got == expected, f"{what}: output shape {got}, expected {expected}", hint)


def require_independent_masks(
    m1: Any, m2: Any, what: str, compared: str, hint: str, *, rate: str = "p"
) -> None:
    """Fail unless two boolean masks agree as independent draws do.

    With keep shares k₁ and k₂ (each measured on its own mask), masks
    drawn independently agree at a share a = k₁k₂ + (1 − k₁)(1 − k₂)
    of the M positions compared, with standard deviation √(a(1 − a)/M); the
    observed share must lie within `Z` of them. A mask that keeps or drops
    everything (a = 0 or 1) fails outright. `what` names the setting
    (`"p=0.5"`), `compared` the two masks (`"adjacent rows"`), `hint` the fix
    for a failed agreement, and `rate` the name of the drop probability in the
    learner's signature.
    """
    a1, a2 = _as_numpy(m1).astype(bool), _as_numpy(m2).astype(bool)
    if a1.shape != a2.shape or a1.size == 0:
        raise ValueError(
            f"m1 and m2 must be non-empty masks of one shape; got {a1.shape}, "
            f"{a2.shape}"
        )
    k1, k2 = float(a1.mean()), float(a2.mean())
    a = k1 * k2 + (1.0 - k1) * (1.0 - k2)
    if not 0.0 < a < 1.0:
        fail(
            f"{what}: every entry is {'kept' if k1 > 0.5 else 'dropped'}",
            f"keep each entry with probability 1 - {rate}",
        )
    within_z(
        float(np.mean(a1 == a2)),
        a,
        math.sqrt(a * (1.0 - a) / a1.size),
        f"{what}: share of positions where the masks of {compared} agree",
        hint,
    )
