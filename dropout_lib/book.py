"""What a chapter's code hands to the page around it: numbers glued into the prose.

The book's prose never types a number the code produced: a cell glues it
(MyST-NB's `glue`) and the text shows it with {glue:text}`name:.3f`. A paired
difference appears in the prose as its mean and the two ends of its 95 % CI,
so it is glued as three names: `name`, `name_lo` and `name_hi`.

MyST-NB is imported only when a function here is called, so
`import dropout_lib` does not need it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["glue_diff"]


class _Interval(Protocol):
    mean: float
    lo: float
    hi: float


def glue_diff(name: str, d: _Interval) -> None:
    """Glue a difference and its interval as `name`, `name_lo` and `name_hi`.

    `d` is a `stats.PairedDiff` (or anything with `mean`, `lo` and `hi`). Each
    value is glued as a plain Python float, not displayed: MyST-NB stores a
    NumPy scalar as its repr (`np.float64(...)`), which the page would show
    instead of the number.
    """
    from myst_nb import glue

    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    if not name or any(c.isspace() or c in ":`" for c in name):
        raise ValueError(
            "name must be a non-empty glue key without spaces, ':' or '`' "
            f"(the {{glue:text}}`name:format` role splits on ':'); got {name!r}"
        )
    for suffix, value in (("", d.mean), ("_lo", d.lo), ("_hi", d.hi)):
        glue(name + suffix, float(value), display=False)
