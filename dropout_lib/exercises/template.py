"""The checker of `chapters/_template.ipynb`'s exercise: a checker in miniature.

`check_inverted_scale(fn)` checks a learner's `fn(p)`: the factor 1/(1 − p)
by which inverted dropout multiplies the kept units so that E[h'] = h. It
follows the contract of `dropout_lib.exercises._checking`: it returns `True`
or raises `CheckFailed` naming the property that failed, with a hint; an
exception of the learner's function is a failed property; no `assert`, so it
decides the same under `python -O`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from ._checking import call_learner, fail, require, require_callable

__all__ = ["check_inverted_scale"]


def check_inverted_scale(fn: Callable[[float], Any]) -> bool:
    """Check `fn(p) -> float`: the scale 1/(1 − p) of inverted dropout's kept units.

    It must equal 1/(1 − p) to a relative 1e-6 (float32 is fine) for p in
    {0, 0.1, 0.5, 0.9}, and `fn(1.0)` must raise `ValueError` (every unit is
    dropped and no scale restores the mean; returning inf or NaN, or dividing
    by zero, fails).
    """
    require_callable(fn, "fn", "fn(p) -> float")
    hint = "q = 1 - p is the KEEP probability; the kept units are divided by q"
    for p in (0.0, 0.1, 0.5, 0.9):
        got = call_learner(fn, p, what=f"p={p}", hint=hint)
        require(
            isinstance(got, numbers.Real) and not isinstance(got, bool),
            f"p={p}: return a number, got {type(got).__name__}",
        )
        want = 1.0 / (1.0 - p)
        value = float(got)
        if not (math.isfinite(value) and math.isclose(value, want, rel_tol=1e-6)):
            fail(f"p={p}: got {got!r}, expected {want:.6g}", hint)
    try:
        got = fn(1.0)
    except ValueError:
        return True
    except Exception as exc:  # ZeroDivisionError and the like
        raise_hint = "check p < 1 first and raise ValueError naming p"
        fail(
            f"p=1: your function raised {type(exc).__name__}, not ValueError",
            raise_hint,
        )
    fail(
        f"p=1: got {got!r}; no scale restores the mean when every unit is dropped",
        "raise ValueError for p = 1 instead of returning a number",
    )
