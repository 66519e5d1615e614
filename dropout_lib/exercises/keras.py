"""Checkers for chapter 4 (Keras) exercises.

Each checker calls the learner's function on fixed inputs and returns True, or
raises ``AssertionError`` naming the property that failed, with a hint.
They use NumPy only, so they run without Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["check_keras1_dropout", "check_spatial_dropout2d"]

_Z = 6.0  # z-score bound on statistical checks: a correct function fails with probability < 1e-8


def _fail(what: str, hint: str) -> None:
    raise AssertionError(f"{what}\nHint: {hint}")


def _fraction_ok(dropped: float, p: float, n: int) -> bool:
    return abs(dropped - p) <= _Z * math.sqrt(p * (1 - p) / n) + 1e-12


def check_keras1_dropout(fn: Callable) -> bool:
    """Check ``fn(x, level, rng)``: Keras 1's backend dropout, with its bugs fixed.

    Required: a ``ValueError`` for ``level`` outside :math:`[0, 1)` (including 1
    and NaN); ``x`` never modified; integer inputs accepted (float output);
    ``level == 0`` returns the input's values; each entry is zeroed with
    probability ``level`` and every kept entry equals :math:`x_i / (1 - \\text{level})`.
    """
    for bad in (1.0, -0.1, 1.5, float("nan")):
        try:
            fn(np.ones(3), bad, np.random.default_rng(0))
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - report the wrong type to the learner
            _fail(
                f"level={bad!r} raised {type(exc).__name__}, not ValueError",
                "raise ValueError for a level outside [0, 1), as Keras 1 did",
            )
        _fail(
            f"level={bad!r} was accepted",
            "Keras 1 accepted only 0 <= level < 1; NaN fails every comparison",
        )

    x = np.arange(1, 7, dtype=np.float64).reshape(2, 3)
    x0 = x.copy()
    fn(x, 0.5, np.random.default_rng(1))
    if not np.array_equal(x, x0):
        _fail(
            "fn modified its input x",
            "build a new array (x * mask / q) instead of x *= mask",
        )

    xi = np.arange(1, 1001, dtype=np.int64)
    try:
        out_int = np.asarray(fn(xi, 0.5, np.random.default_rng(2)))
    except Exception as exc:  # noqa: BLE001
        _fail(
            f"an integer input raised {type(exc).__name__}: {exc}",
            "x /= q fails on an int array; convert to float first",
        )
    if not np.issubdtype(out_int.dtype, np.floating):
        _fail(
            f"an integer input gave dtype {out_int.dtype}",
            "the output must be floating: 3 / 0.5 is 6.0",
        )
    kept = out_int != 0
    if not np.allclose(out_int[kept], xi[kept] / 0.5, rtol=1e-12):
        _fail(
            "kept entries of an integer input are wrong",
            "kept entries are x / (1 - level)",
        )

    out0 = np.asarray(fn(x, 0.0, np.random.default_rng(3)))
    if out0.shape != x.shape or not np.array_equal(out0, x):
        _fail(
            "level=0 changed the values",
            "with level 0 nothing is dropped and the scale is 1",
        )

    for level in (0.2, 0.7):
        big = np.full((400, 500), 3.0)
        out = np.asarray(fn(big, level, np.random.default_rng(4)))
        if out.shape != big.shape:
            _fail(
                f"output shape {out.shape} differs from input shape {big.shape}",
                "draw one mask entry per input entry",
            )
        dropped = float(np.mean(out == 0))
        if not _fraction_ok(dropped, level, big.size):
            _fail(
                f"level={level}: dropped fraction {dropped:.4f} is not close to {level}",
                "keep each entry with probability 1 - level: rng.random(shape) < 1 - level",
            )
        vals = out[out != 0]
        if not np.allclose(vals, 3.0 / (1 - level), rtol=1e-12):
            _fail(
                f"level={level}: kept entries are not scaled by 1 / (1 - level)",
                "divide kept entries by the keep probability",
            )
    return True


def check_spatial_dropout2d(fn: Callable) -> bool:
    """Check ``fn(x, p, rng, data_format)``: SpatialDropout2D on NumPy arrays.

    For ``data_format="channels_last"`` (inputs ``(N, H, W, C)``) and
    ``"channels_first"`` (``(N, C, H, W)``): each feature map (one sample, one
    channel) is either all zeros or all kept and scaled by :math:`1/(1-p)`;
    maps are dropped with probability ``p``; ``p == 0`` returns the values,
    ``p == 1`` gives zeros; ``x`` is never modified.
    """
    rng0 = np.random.default_rng(10)
    for data_format, spatial in (("channels_last", (1, 2)), ("channels_first", (2, 3))):
        shape = (300, 5, 4, 20) if data_format == "channels_last" else (300, 20, 5, 4)
        x = rng0.uniform(0.5, 2.0, size=shape)
        x0 = x.copy()
        p = 0.4
        out = np.asarray(fn(x, p, np.random.default_rng(11), data_format))
        if not np.array_equal(x, x0):
            _fail("fn modified its input x", "return a new array")
        if out.shape != x.shape:
            _fail(
                f"{data_format}: output shape {out.shape} differs from {x.shape}",
                "the mask broadcasts to x",
            )
        kept = out != 0
        whole = np.all(
            kept == np.take(np.take(kept, [0], axis=spatial[0]), [0], axis=spatial[1])
        )
        if not whole:
            _fail(
                f"{data_format}: some feature map is partly dropped",
                "draw the mask at the noise shape (N, 1, 1, C) (channels_last) or (N, C, 1, 1) and broadcast",
            )
        maps = np.take(np.take(kept, [0], axis=spatial[0]), [0], axis=spatial[1])
        dropped = 1.0 - float(maps.mean())
        if not _fraction_ok(dropped, p, maps.size):
            _fail(
                f"{data_format}: fraction of dropped maps {dropped:.4f} is not close to {p}",
                "drop each (sample, channel) map with probability p",
            )
        if not np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-12):
            _fail(
                f"{data_format}: kept maps are not scaled by 1 / (1 - p)",
                "inverted dropout divides by q = 1 - p",
            )
        if not np.array_equal(
            np.asarray(fn(x, 0.0, np.random.default_rng(12), data_format)), x
        ):
            _fail("p=0 changed the values", "p = 0 keeps everything")
        if not np.all(
            np.asarray(fn(x, 1.0, np.random.default_rng(13), data_format)) == 0
        ):
            _fail("p=1 did not give zeros", "p = 1 drops every map")
    return True
