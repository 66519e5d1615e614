"""The checker of chapter 11's exercise: variational ("locked") dropout in torch.

`check_locked_dropout(fn)` checks a learner's `fn(x, p, generator)` for a batch
of sequences `x` of shape (N, T, F) (batch first, as `nn.LSTM(batch_first=True)`
takes them): inverted dropout whose mask is drawn once per sequence and feature,
m_{n,f} ~ Bernoulli(1 − p), and shared by every time step t,

    y_{n,t,f} = m_{n,f} x_{n,t,f} / (1 − p),

so E[y] = x as for element-wise dropout (Gal & Ghahramani 2016). It follows the
contract of `dropout_lib.exercises._checking`: `True`, or `CheckFailed` naming the
property that failed with a hint; no `assert`, so it decides the same under
`python -O`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._checking import (
    call_learner,
    require,
    require_callable,
    require_independent_masks,
    require_same_shape,
    require_unmodified,
    within_z,
)

__all__ = ["check_locked_dropout"]

_SIG = "fn(x, p, generator) -> tensor, x of shape (N, T, F)"
_N, _T, _F = 256, 6, 64


def _run(fn: Callable[..., Any], x: Any, p: float, seed: int, what: str) -> Any:
    import torch

    before = x.clone()
    g = torch.Generator(device=x.device).manual_seed(seed)
    hint = "draw the mask from the generator given: torch.rand(..., generator=g)"
    out = call_learner(fn, x, p, g, what=what, hint=hint)
    require(
        isinstance(out, torch.Tensor),
        f"{what}: return a torch.Tensor, got {type(out).__name__}",
    )
    require_same_shape(tuple(out.shape), tuple(x.shape), what)
    require_unmodified(x, before, what, "compute a new tensor; do not write into x")
    return out


def check_locked_dropout(fn: Callable[..., Any]) -> bool:
    """Check `fn(x, p, generator)`: variational dropout, one mask per sequence.

    For x of shape (N, T, F): p = 0 returns x; p = 1 returns exact zeros (no NaN,
    even where x is infinite); for p = 0.3 the kept entries equal x / (1 − p),
    the kept set is the same at every time step, differs between sequences
    and between features (agreement as for independent draws, within
    `Z` standard deviations), keeps a share 1 − p of the entries, depends only
    on the generator (the same seed gives the same mask whatever x holds, two
    seeds give independent masks) and the input is left unchanged.
    """
    import torch

    require_callable(fn, "fn", _SIG)
    x = torch.randn(_N, _T, _F, generator=torch.Generator().manual_seed(0))
    same = _run(fn, x, 0.0, 1, "p=0")
    require(torch.equal(same, x), "p=0: the output must equal x", "p = 0 drops nothing")

    x_inf = x.clone()
    x_inf[0, 0, 0] = float("inf")
    zeros = _run(fn, x_inf, 1.0, 1, "p=1")
    require(
        bool(torch.isfinite(zeros).all()) and not bool(zeros.any()),
        "p=1: the output must be exact zeros (got NaN, inf or non-zero entries)",
        "every entry is dropped: return zeros instead of dividing by 1 - p = 0",
    )

    p, q = 0.3, 0.7
    ones = _run(fn, torch.ones(_N, _T, _F), p, 1, "p=0.3 on ones")
    kept = ones != 0
    require(
        bool(torch.allclose(ones[kept], torch.full_like(ones[kept], 1 / q))),
        "p=0.3: kept entries of an all-ones input must equal 1 / (1 - p)",
        "inverted dropout divides the kept entries by the keep probability 1 - p",
    )
    require(
        bool((kept == kept[:, :1]).all()),
        "p=0.3: the kept entries change from one time step to the next",
        "draw one mask of shape (N, 1, F) and let broadcasting share it over time",
    )
    first = kept[:, 0, :]
    hint_cols = "draw a mask entry for every feature, shape (N, 1, F), not (N, 1, 1)"
    require_independent_masks(
        first[:, 0::2], first[:, 1::2], "p=0.3", "neighbouring features", hint_cols
    )
    hint_rows = "draw a mask entry for every sequence, shape (N, 1, F), not (1, 1, F)"
    require_independent_masks(
        first[0::2], first[1::2], "p=0.3", "neighbouring sequences", hint_rows
    )
    share = float(first.double().mean())
    within_z(
        share,
        q,
        math.sqrt(q * (1 - q) / first.numel()),
        "p=0.3: share of kept entries",
        "keep each entry with probability 1 - p (p is the DROP probability)",
    )

    on_x = _run(fn, x, p, 1, "p=0.3 on x, seed 1")
    expected = torch.where(kept, x / q, torch.zeros(()))
    require(
        bool(torch.allclose(on_x, expected, rtol=1e-5, atol=1e-6)),
        "p=0.3: with the same generator seed, x must get the mask the all-ones "
        "input got (the mask may depend only on the generator, never on x)",
        "draw the mask from the generator with a fixed shape, then multiply",
    )
    other = _run(fn, torch.ones(_N, _T, _F), p, 2, "p=0.3 on ones, seed 2") != 0
    require_independent_masks(
        first,
        other[:, 0, :],
        "p=0.3",
        "two generator seeds",
        "use the generator passed in; do not re-seed or use the global generator",
    )
    return True
