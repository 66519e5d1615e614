"""Checkers for chapter 2 (the mask: drawing, scaling and storing it).

* `check_mask_rule`: a function `fn(shape, p, rng)` that draws a boolean
keep-mask
  for DROP probability `p`, exact at `p = 0` and `p = 1`.
* `check_packing`: a pair `pack(mask)` / `unpack(packed)` that stores a
boolean
  mask in one bit per entry and restores it exactly.
* `check_group_mean_variance`: a formula `fn(d, block, p)` for the variance of
  the mean of `d` inverted-dropout outputs of unit activations when blocks of
  `block` units share one coin (a broadcast mask, as with `noise_shape`).

Each returns True or raises `dropout_lib.exercises._checking.CheckFailed`
(an `AssertionError`) naming the failed property, with a hint.

Statistical tolerance of `check_mask_rule`: with N = `N_MASK`
entries the kept fraction has standard deviation √(pq/N); the check
allows `dropout_lib.exercises._checking.Z` = 5.5 of them (the course's one
tolerance policy), so a correct function fails with probability
2Φ(−5.5) ≈ 3.8 × 10⁻⁸ per statistical check. The same policy
bounds the independence check (`dropout_lib.exercises.core.require_independent`,
a lag-1 correlation along each axis of a 400 × 500 mask).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..validation import check_int, check_probability
from ._checking import (
    Z,
    call_learner,
    fail,
    require,
    require_callable,
    require_same_shape,
    within_z,
)
from .core import require_independent, require_uses_rng

__all__ = [
    "BoundaryGenerator",
    "N_MASK",
    "P_TEST",
    "check_group_mean_variance",
    "check_mask_rule",
    "check_packing",
    "group_mean_variance",
]

#: entries in the statistical check of `check_mask_rule`
N_MASK = 200_000
_BIG = (400, 500)  # N_MASK entries, two axes for the independence check
#: drop probability used for the statistical check (asymmetric, so p and 1 - p differ)
P_TEST = 0.3

#: the largest double below 1, the top of numpy's uniform grid
_TOP = float(np.nextafter(1.0, 0.0))


class BoundaryGenerator(np.random.Generator):
    """A NumPy Generator whose uniform draws hit the extremes of [0, 1).

    `random` and `uniform` (with the default bounds) return ordinary draws in which
    every third entry is replaced by 0.0 or by the largest double below 1. A real
    generator produces each of these with probability 2⁻⁵³; this one makes
    them common, so a mask rule that is wrong only at those values is caught.
    Every other method (`binomial`, `integers`, ...) is the real generator's.
    """

    def _plant(self, u: Any) -> Any:
        arr = np.asarray(u)
        if arr.size == 0:
            return u
        flat = arr.reshape(-1).copy()
        flat[0::3] = 0.0
        flat[1::3][::2] = (
            _TOP
            if arr.dtype == np.float64
            else np.nextafter(arr.dtype.type(1), arr.dtype.type(0))
        )
        out = flat.reshape(arr.shape).astype(arr.dtype)
        return out if isinstance(u, np.ndarray) else out[()]

    def random(  # numpy's signature
        self, size: Any = None, dtype: Any = np.float64, out: Any = None
    ) -> Any:
        return self._plant(super().random(size, dtype=dtype, out=out))

    def uniform(  # numpy's signature
        self, low: Any = 0.0, high: Any = 1.0, size: Any = None
    ) -> Any:
        u = super().uniform(low, high, size)
        if low == 0.0 and high == 1.0:
            return self._plant(u)
        return u


MaskFn = Callable[[tuple[int, ...], float, np.random.Generator], Any]


def _mask_call(
    fn: MaskFn, shape: tuple[int, ...], p: float, rng: np.random.Generator, what: str
) -> np.ndarray:
    out = call_learner(
        fn,
        shape,
        p,
        rng,
        what=what,
        hint="it must accept a shape tuple, a drop probability p and a numpy "
        "Generator rng",
    )
    out = np.asarray(out)
    require_same_shape(
        out.shape, tuple(shape), what, "return a mask of the given shape"
    )
    require(
        out.dtype == np.bool_,
        f"{what}: the mask has dtype {out.dtype}; return a bool array (True = keep)",
        "a comparison such as rng.random(shape) < 1 - p already gives bools",
    )
    return out


def check_mask_rule(fn: MaskFn) -> bool:
    """Check `fn(shape, p, rng)`: a bool mask, True = keep,
    P(True) = 1 − p.

    Properties, in order: shape and dtype; one coin per entry; kept fraction
    1 − p within `Z` standard deviations (catches keep/drop
    confusion); the mask depends on `rng` (different seeds and consecutive
    calls give different masks, the call advances the generator: a function
    that makes its own `default_rng(0)` fails here, whatever its rule);
    neighbouring entries are uncorrelated along each axis (no shared coins);
    exactly all True at p = 0 and all False at p = 1, even when the
    uniform draws are exactly 0.0 or just below 1 (a `BoundaryGenerator`
    is passed); equal seeds give equal masks.
    """
    require_callable(fn, "fn", "fn(shape, p, rng)")
    shape = (30, 40)
    m = _mask_call(fn, shape, P_TEST, np.random.default_rng(0), f"p={P_TEST}")
    if m.all() or not m.any():
        fail(
            f"one coin: at p={P_TEST} the mask "
            f"{'keeps' if m.all() else 'drops'} every entry",
            "draw one uniform number per entry, rng.random(shape)",
        )
    rng_hint = (
        "draw from the rng argument (rng.random(shape)), not from a generator "
        "made inside the function (default_rng(0)) or from np.random"
    )
    require_uses_rng(
        lambda rng: _mask_call(fn, shape, P_TEST, rng, "rng"), f"p={P_TEST}", rng_hint
    )
    big = _mask_call(fn, _BIG, P_TEST, np.random.default_rng(3), "statistics")
    require_independent(
        ~big,
        f"p={P_TEST}, shape {_BIG}",
        "draw one uniform number per entry, rng.random(shape): neighbours must "
        "not share a coin",
    )
    kept = float(big.mean())
    q = 1.0 - P_TEST
    sd = math.sqrt(P_TEST * q / N_MASK)
    require(
        abs(kept - P_TEST) > Z * sd,
        f"keep/drop confusion: with p={P_TEST} your mask keeps {kept:.4f} of the "
        "entries, about p",
        "p is the DROP probability; True means keep, with probability 1 - p",
    )
    within_z(
        kept,
        q,
        sd,
        f"keep rate: the fraction of entries your mask keeps at p={P_TEST}",
        "keep each entry with probability 1 - p, independently",
    )
    m0 = _mask_call(fn, shape, 0.0, BoundaryGenerator(np.random.PCG64(1)), "p=0")
    require(
        m0.all(),
        f"p=0: {int((~m0).sum())} of {m0.size} entries were dropped, but p = 0 must "
        "keep everything",
        "a uniform draw can be exactly 0.0, and `u > p` is False for u = 0 = p; "
        "compare with the keep probability instead: keep when u < 1 - p",
    )
    m1 = _mask_call(fn, shape, 1.0, BoundaryGenerator(np.random.PCG64(2)), "p=1")
    require(
        not m1.any(),
        f"p=1: {int(m1.sum())} of {m1.size} entries were kept, but p = 1 must drop "
        "everything",
        "with u = 0.0, `u <= 1 - p` is True at p = 1; use a strict comparison "
        "u < 1 - p",
    )
    again = _mask_call(fn, _BIG, P_TEST, np.random.default_rng(3), "reproducibility")
    require(
        np.array_equal(again, big),
        "rng: two calls with generators seeded alike gave different masks",
        "draw from the rng argument, not from np.random or torch's global generator",
    )
    return True


def _packed_nbytes(obj: Any) -> int:
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, (bytes, bytearray)):
        return len(obj)
    if isinstance(obj, (tuple, list)):
        return sum(_packed_nbytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(_packed_nbytes(o) for o in obj.values())
    return 0  # ints and other small metadata (the shape) are not counted


def check_packing(
    pack: Callable[[np.ndarray], Any], unpack: Callable[[Any], np.ndarray]
) -> bool:
    """Check that `unpack(pack(mask))` restores any boolean mask in at most one
    bit per entry.

    Properties: the round trip returns a bool array equal to `mask` with the
    same shape, for shapes whose size is not a multiple of 8 too; the arrays (or
    bytes) inside `pack(mask)` total at most ⌈n/8⌉ bytes;
    `pack` does not modify `mask`.
    """
    if not callable(pack) or not callable(unpack):
        raise TypeError("pack and unpack must both be callables")
    rng = np.random.default_rng(0)
    hint = "np.packbits and np.unpackbits(bits, count=n) do the bit work"
    for shape in [(16,), (9,), (1,), (3, 5), (2, 3, 7), (0,), (64, 33)]:
        mask = rng.random(shape) < 0.6
        before = mask.copy()
        packed = call_learner(pack, mask, what=f"shape {shape}: pack", hint=hint)
        restored = np.asarray(
            call_learner(unpack, packed, what=f"shape {shape}: unpack", hint=hint)
        )
        require(
            np.array_equal(mask, before),
            "mutation: pack changed the caller's mask in place",
        )
        n = mask.size
        require(
            restored.shape == mask.shape,
            f"shape {shape}: unpack returned shape {restored.shape}",
            f"the last byte holds {(-n) % 8} padding bits for {n} entries; keep "
            "the shape and pass count=n to np.unpackbits",
        )
        require(
            restored.dtype == np.bool_,
            f"shape {shape}: unpack returned dtype {restored.dtype}",
            "return a bool array (.astype(bool))",
        )
        require(
            np.array_equal(restored, mask),
            f"shape {shape}: the round trip changed "
            f"{int((restored != mask).sum())} entries",
            "pack and unpack must use the same bit order and the same flattening "
            "(C order)",
        )
        size = _packed_nbytes(packed)
        require(
            size <= -(-n // 8),
            f"shape {shape}: the packed mask holds {size} bytes for {n} entries; "
            f"one bit per entry needs only {-(-n // 8)}",
            "mask.astype(np.uint8) still spends a byte per entry; np.packbits puts "
            "eight entries in each byte",
        )
    return True


def group_mean_variance(d: int, block: int, p: float) -> float:
    """Variance of ȳ = (1/d) Σᵢ₌₁ᵈ mᵢ / q when blocks of `block` units share one coin.

    The d unit activations are split into g = d / b blocks of b (`block`) units;
    each block has one mask value Mⱼ ~ Bernoulli(q), independent across blocks (a
    broadcast mask, e.g. one coin per channel). Then ȳ = (1/g) Σⱼ Mⱼ / q and, since
    Var(Mⱼ/q) = p/q:

        Var(ȳ) = p/(q g) = p b/(q d).

    b = 1 is element-wise dropout (p/(qd)), b = d one coin for all (p/q). Requires
    0 ≤ p < 1, d, b ≥ 1 and b | d (b divides d).
    """
    d = check_int(d, "d", 1)
    block = check_int(block, "block", 1)
    if d % block:
        raise ValueError(f"block must divide d; got d={d}, block={block}")
    p = check_probability(p, "p", below_one=True)
    return p / (1.0 - p) * block / d


def check_group_mean_variance(fn: Callable[[int, int, float], float]) -> bool:
    """Check a learner's formula `fn(d, block, p)` against
    `group_mean_variance`.

    Evaluated on a grid of layer sizes, block sizes and drop probabilities
    (relative tolerance 10⁻⁹); typical mistakes (classic dropout's
    pq, ignoring the sharing, dividing by the block size instead of the
    number of blocks) get their own hint.
    """
    require_callable(fn, "fn", "fn(d, block, p)")
    for d, block in ((1, 1), (8, 1), (8, 8), (12, 3), (64, 16), (60, 4)):
        for p in (0.0, 0.1, 0.5, 0.8):
            want = group_mean_variance(d, block, p)
            what = f"d={d}, block={block}, p={p}"
            got = float(call_learner(fn, d, block, p, what=what))
            if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15):
                continue
            q = 1.0 - p
            hint = (
                "the mean is an average of g = d / block independent terms M_j / q, "
                "each of variance p / q"
            )
            if math.isclose(got, p * q * block / d, rel_tol=1e-9):
                hint = (
                    "you used p*q, the variance of a mask value (classic dropout); "
                    "inverted dropout divides by q"
                )
            elif math.isclose(got, p / q / d, rel_tol=1e-9):
                hint = (
                    "you treated all d coins as independent; units in one block "
                    "share a coin and do not average out"
                )
            elif math.isclose(got, p / q / block, rel_tol=1e-9):
                hint = (
                    "you divided by the block size; the variance falls with the "
                    "number of blocks, d / block"
                )
            fail(
                f"{what}: your formula gives {got:.6g}, the variance is {want:.6g}",
                hint,
            )
    return True
