"""Checkers for chapter 4 (Keras) exercises.

* `check_keras1_dropout`: Keras 1's backend dropout `fn(x, level, rng)`
  on NumPy arrays, without the bugs of the NumPy copy in the source article;
* `check_spatial_dropout2d`: `fn(x, p, rng, data_format)`, Keras's
  `SpatialDropout2D` on NumPy arrays.

Each returns True or raises `dropout_lib.exercises._checking.CheckFailed`
(an `AssertionError`) naming the property that failed, with a hint; an
exception raised by the learner's function is reported the same way. The
statistical checks allow `dropout_lib.exercises._checking.Z` = 5.5
standard deviations (the course's one tolerance policy). They use NumPy only,
so they run without Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._checking import (
    CheckFailed,
    call_learner,
    fail,
    require,
    require_callable,
    require_independent_masks,
    require_same_shape,
    require_unmodified,
    within_z,
)

__all__ = ["check_keras1_dropout", "check_spatial_dropout2d"]


def _dropped_fraction_ok(
    dropped: float, p: float, n: int, what: str, hint: str
) -> None:
    within_z(dropped, p, math.sqrt(p * (1 - p) / n), what, hint)


def check_keras1_dropout(fn: Callable[..., Any]) -> bool:
    """Check `fn(x, level, rng)`: Keras 1's backend dropout, with its bugs fixed.

    Required: a `ValueError` for `level` outside [0, 1) (including 1
    and NaN); `x` never modified; integer inputs accepted (float output);
    `level == 0` returns the input's values; the mask is drawn from `rng`
    (the same seed repeats the output, another seed changes it) with every
    entry independent (adjacent rows and columns agree as often as
    independent draws do); each entry is zeroed with probability `level`
    and every kept entry equals xᵢ / (1 − level).
    """
    require_callable(fn, "fn", "fn(x, level, rng)")
    for bad in (1.0, -0.1, 1.5, float("nan")):
        try:
            fn(np.ones(3), bad, np.random.default_rng(0))
        except ValueError:
            continue
        except Exception as exc:  # the learner raised the wrong type
            raise CheckFailed(
                f"level={bad!r} raised {type(exc).__name__}, not ValueError. Hint: "
                "raise ValueError for a level outside [0, 1), as Keras 1 did"
            ) from exc
        fail(
            f"level={bad!r} was accepted",
            "Keras 1 accepted only 0 <= level < 1; NaN fails every comparison",
        )

    x = np.arange(1, 7, dtype=np.float64).reshape(2, 3)
    x0 = x.copy()
    call_learner(fn, x, 0.5, np.random.default_rng(1), what="level=0.5")
    require_unmodified(
        x, x0, "level=0.5", "build a new array (x * mask / q) instead of x *= mask"
    )

    xi = np.arange(1, 1001, dtype=np.int64)
    out_int = np.asarray(
        call_learner(
            fn,
            xi,
            0.5,
            np.random.default_rng(2),
            what="an integer input",
            hint="x /= q fails on an int array; convert to float first",
        )
    )
    require(
        np.issubdtype(out_int.dtype, np.floating),
        f"an integer input gave dtype {out_int.dtype}",
        "the output must be floating: 3 / 0.5 is 6.0",
    )
    kept = out_int != 0
    require(
        np.allclose(out_int[kept], xi[kept] / 0.5, rtol=1e-12),
        "kept entries of an integer input are wrong",
        "kept entries are x / (1 - level)",
    )

    out0 = np.asarray(
        call_learner(fn, x, 0.0, np.random.default_rng(3), what="level=0")
    )
    require(
        out0.shape == x.shape and np.array_equal(out0, x),
        "level=0 changed the values",
        "with level 0 nothing is dropped and the scale is 1",
    )

    _check_keras1_randomness(fn)

    for level in (0.2, 0.7):
        big = np.full((400, 500), 3.0)
        out = np.asarray(
            call_learner(
                fn, big, level, np.random.default_rng(4), what=f"level={level}"
            )
        )
        require(
            out.shape == big.shape,
            f"output shape {out.shape} differs from input shape {big.shape}",
            "draw one mask entry per input entry",
        )
        _dropped_fraction_ok(
            float(np.mean(out == 0)),
            level,
            big.size,
            f"level={level}: the dropped fraction",
            "keep each entry with probability 1 - level: rng.random(shape) < 1 - level",
        )
        require(
            np.allclose(out[out != 0], 3.0 / (1 - level), rtol=1e-12),
            f"level={level}: kept entries are not scaled by 1 / (1 - level)",
            "divide kept entries by the keep probability",
        )
    return True


def _check_keras1_randomness(fn: Callable[..., Any]) -> None:
    """The mask comes from `rng`, afresh for each generator, entry by entry.

    With the same seed twice the output must repeat (the draws come from
    `rng`, not from a global generator); with another seed it must change (no
    fixed pattern); and adjacent rows and adjacent columns of one mask must
    agree on a share a = k₁k₂ + (1 − k₁)(1 − k₂) of positions, as
    independent draws with keep shares k₁, k₂ do, within `Z` standard
    deviations √(a(1 − a)/M) for M positions compared.
    """
    level = 0.5
    x = np.full((200, 300), 3.0)
    outs = [
        np.asarray(
            call_learner(
                fn, x, level, np.random.default_rng(seed), what=f"level={level}"
            )
        )
        for seed in (5, 5, 6)
    ]
    require(
        all(o.shape == x.shape for o in outs),
        f"output shape {outs[0].shape} differs from input shape {x.shape}",
        "draw one mask entry per input entry",
    )
    require(
        np.array_equal(outs[0], outs[1]),
        "two calls with generators of the same seed gave different outputs",
        "draw the mask from the rng argument (rng.random(x.shape)), not from "
        "np.random's global state",
    )
    require(
        not np.array_equal(outs[0], outs[2]),
        "generators with different seeds gave the same output",
        "the mask must be random: draw it from rng, not from a fixed pattern",
    )
    kept = outs[0] != 0
    for compared, m1, m2 in (
        ("adjacent rows", kept[1:], kept[:-1]),
        ("adjacent columns", kept[:, 1:], kept[:, :-1]),
    ):
        require_independent_masks(
            m1,
            m2,
            f"level={level}",
            compared,
            "draw every entry independently, rng.random(x.shape) < 1 - level; no "
            "arange/threshold pattern, no mask shared along an axis",
            rate="level",
        )


def check_spatial_dropout2d(fn: Callable[..., Any]) -> bool:
    """Check `fn(x, p, rng, data_format)`: SpatialDropout2D on NumPy arrays.

    For `data_format="channels_last"` (inputs `(N, H, W, C)`) and
    `"channels_first"` (`(N, C, H, W)`): each feature map (one sample, one
    channel) is either all zeros or all kept and scaled by 1/(1−p);
    maps are dropped with probability `p`; the maps of one sample are dropped
    independently of each other (not one mask per sample, noise shape
    `(N, 1, 1, 1)`) and of the other samples' (not one mask for the batch);
    the mask comes from `rng` (the same generator state gives the same output,
    another state another mask); `p == 0` returns the values, `p == 1` gives
    zeros (finite); `x` is never modified.

    Independence is checked on disjoint pairs of maps: two independent keep
    decisions agree with probability a = p² + q², so the fraction of agreeing
    pairs among m disjoint pairs must lie within `._checking.Z` standard
    errors √(a(1−a)/m) of a; a shared mask makes it 1.
    """
    require_callable(fn, "fn", "fn(x, p, rng, data_format)")
    rng0 = np.random.default_rng(10)
    for data_format, spatial in (("channels_last", (1, 2)), ("channels_first", (2, 3))):
        shape = (300, 5, 4, 20) if data_format == "channels_last" else (300, 20, 5, 4)
        x = rng0.uniform(0.5, 2.0, size=shape)
        x0 = x.copy()
        p = 0.4
        out = np.asarray(
            call_learner(
                fn, x, p, np.random.default_rng(11), data_format, what=data_format
            )
        )
        require_unmodified(x, x0, data_format, "return a new array")
        require_same_shape(out.shape, x.shape, data_format, "the mask broadcasts to x")
        kept = out != 0
        maps = np.take(np.take(kept, [0], axis=spatial[0]), [0], axis=spatial[1])
        noise = "(N, 1, 1, C)" if data_format == "channels_last" else "(N, C, 1, 1)"
        require(
            np.all(kept == maps),
            f"{data_format}: some feature map is partly dropped",
            f"draw the mask at the noise shape {noise} and broadcast it",
        )
        _dropped_fraction_ok(
            1.0 - float(maps.mean()),
            p,
            maps.size,
            f"{data_format}: the fraction of dropped maps",
            "drop each (sample, channel) map with probability p",
        )
        require(
            np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-12),
            f"{data_format}: kept maps are not scaled by 1 / (1 - p)",
            "inverted dropout divides by q = 1 - p",
        )
        # keep decisions as a (sample, channel) table
        table = maps.reshape(shape[0], -1)
        agree = (p * p) + (1 - p) * (1 - p)
        for what, a, b in (
            ("two channels of one sample", table[:, 0::2], table[:, 1::2]),
            ("one channel of two samples", table[0::2], table[1::2]),
        ):
            same = float(np.mean(a == b))
            within_z(
                same,
                agree,
                math.sqrt(agree * (1 - agree) / a.size),
                f"{data_format}: how often {what} share their keep decision",
                f"draw one independent mask entry per (sample, channel): the noise "
                f"shape is {noise}, neither one entry per sample nor one mask "
                "for the whole batch",
            )
        again = np.asarray(
            call_learner(
                fn, x, p, np.random.default_rng(11), data_format, what=data_format
            )
        )
        require(
            np.array_equal(again, out),
            f"{data_format}: the same rng state gave a different output",
            "draw the mask from the rng argument, not from np.random or a new "
            "generator",
        )
        other = np.asarray(
            call_learner(
                fn, x, p, np.random.default_rng(14), data_format, what=data_format
            )
        )
        require(
            not np.array_equal(other, out),
            f"{data_format}: another rng state gave the same mask",
            "draw the mask from the rng argument on every call",
        )
        out0 = call_learner(
            fn, x, 0.0, np.random.default_rng(12), data_format, what="p=0"
        )
        require(
            np.array_equal(np.asarray(out0), x),
            "p=0 changed the values",
            "p = 0 keeps everything",
        )
        out1 = call_learner(
            fn, x, 1.0, np.random.default_rng(13), data_format, what="p=1"
        )
        require(
            np.shape(out1) == x.shape and np.all(np.asarray(out1) == 0),
            "p=1 did not give zeros",
            "p = 1 drops every map; guard the division by q = 1 - p = 0 (0/0 is NaN)",
        )
    return True
