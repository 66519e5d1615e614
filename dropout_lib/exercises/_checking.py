"""What every exercise checker shares: calling the learner's code, failing, tolerances.

A checker returns `True` or raises `CheckFailed` (a subclass of
`AssertionError`) whose message names the property that failed and gives a
hint. Checkers never use the `assert` statement: `python -O` strips it, and a
checker that passes everything under `-O` teaches the wrong lesson. The course
runs the checker tests under `python -O` too (`make test-optimized`).

Tolerance policy
----------------
A statistical check compares an observed value with its expectation and allows
`Z` = 5.5 standard deviations. By the normal approximation a correct function
fails one such check with probability 2Φ(−5.5) ≈ 3.8 × 10⁻⁸; a checker with ten
checks fails a correct function less than once in a million calls (union bound),
while the mistakes the checkers look for miss by tens to hundreds of standard
deviations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = [
    "CheckFailed",
    "Z",
    "call_learner",
    "fail",
    "require",
    "require_callable",
    "within_z",
]

#: Allowed deviation of a statistical check, in standard deviations.
Z = 5.5


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
