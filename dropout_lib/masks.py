"""Bernoulli masks: the random part of dropout.

A mask m has independent entries mᵢ ~ Bernoulli(q), where q = 1 − p is the KEEP
probability: P(mᵢ = 1) = q.

This module draws masks (four rules from the sources), stores them in one bit
per entry, tests that samples of masks are i.i.d. Bernoulli (chi-square), and
reads a mask back from a dropout layer's input and output
(`recover_kept_mask`, `dropout_summary`, `shared_along`), whichever library
applied it.

Names: functions that DRAW a mask are called `*_mask` after what they draw
(`draw_mask`, `bernoulli_mask` here; `dropout_lib.nn.keep_mask`,
`channel_keep_mask`, `block_keep_mask`); the one that READS a mask back from a
layer's input and output is `recover_kept_mask`. `kept_mask` is its deprecated
earlier name, kept as an alias for one release.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .validation import check_int, check_probability, check_real_array

__all__ = [
    "MASK_METHODS",
    "ChiSquareResult",
    "DropoutSummary",
    "PackedMask",
    "RngLike",
    "as_generator",
    "bernoulli_mask",
    "binomial_gof_test",
    "draw_mask",
    "dropout_summary",
    "homogeneity_test",
    "kept_count_table",
    "kept_mask",
    "pack_mask",
    "recover_kept_mask",
    "shared_along",
    "unpack_mask",
]

RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike | np.random.SeedSequence = None) -> np.random.Generator:
    """Turn `rng` (a Generator, an int seed or None) into a
    `numpy.random.Generator`.

    A Generator is returned as it is, so successive calls advance the caller's stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if (
        rng is None
        or isinstance(rng, (int, np.integer, np.random.SeedSequence))
        and not isinstance(rng, bool)
    ):
        return np.random.default_rng(rng)
    raise TypeError(
        "rng must be a numpy.random.Generator, an int seed or None; "
        f"got {type(rng).__name__}"
    )


def bernoulli_mask(
    shape: int | Sequence[int], keep_prob: float, rng: RngLike = None
) -> np.ndarray:
    """Draw a boolean mask with P(mᵢ = True) = q (`keep_prob`), independently.

    The draw is mᵢ = [uᵢ < q] with uᵢ ~ U[0, 1), so q = 1 keeps everything and
    q = 0 drops everything, exactly. A bool mask costs one byte per element
    (a float32 mask costs four).
    """
    q = check_probability(keep_prob, "keep_prob")
    return _bernoulli_mask(shape, q, as_generator(rng))


def _bernoulli_mask(
    shape: int | Sequence[int], q: float, gen: np.random.Generator
) -> np.ndarray:
    """`bernoulli_mask` for a keep probability `q` its caller has checked."""
    mask: np.ndarray = gen.random(shape) < q
    return mask


# ---------------------------------------------------------------------------
# Four ways to draw a mask, bit-packed storage, and tests that masks are i.i.d.
# ---------------------------------------------------------------------------

#: The mask-drawing rules found in the sources, by name (see `draw_mask`).
MASK_METHODS = ("binomial", "uniform_gt_drop", "uniform_lt_keep", "torch_bernoulli")


def _check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """`shape` as a tuple of sizes `>= 0` (an int is a 1-d shape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        dims: tuple[Any, ...] = (shape,)
    else:
        try:
            dims = tuple(shape)
        except TypeError as exc:
            raise TypeError(
                f"{name} must be an int or a sequence of ints; got {shape!r}"
            ) from exc
    return tuple(check_int(d, f"{name} entries", 0) for d in dims)


def draw_mask(
    shape: int | Sequence[int],
    keep_prob: float,
    method: str = "uniform_lt_keep",
    rng: RngLike = None,
) -> np.ndarray:
    """Draw a boolean mask with P(mᵢ = True) = q (`keep_prob`) by one of four
    rules.

    With p = 1 − q the drop probability and uᵢ ~ U[0, 1):

    `"binomial"`
        mᵢ ~ Binomial(1, q) via `rng.binomial(1, q, shape)`, as the Keras-style NumPy
        article does (NumPy returns int64 counts; converted to bool here).
    `"uniform_gt_drop"`
        mᵢ = [uᵢ > p], the comparison d2l uses (with `torch.rand`). Since
        P(uᵢ > p) = 1 − p = q it has the right law, except that at p = 0 a draw
        uᵢ = 0 (probability 2⁻⁵³ per element here) is dropped.
    `"uniform_lt_keep"`
        mᵢ = [uᵢ < q], as Keras's NumPy backend and `bernoulli_mask` do; exact
        at both ends (uᵢ < 1 always, uᵢ < 0 never).
    `"torch_bernoulli"`
        `torch.empty(shape, dtype=torch.bool).bernoulli_(q)`, PyTorch's own sampler,
        driven by a `torch.Generator` seeded with one 63-bit integer drawn from
        `rng`.

    All four give i.i.d. Bernoulli(q) entries; they differ in cost and in the
    random stream, so equal seeds give different masks across methods. The result
    is always a new `bool` NumPy array of the requested shape.
    """
    dims = _check_shape(shape)
    q = check_probability(keep_prob, "keep_prob")
    if not isinstance(method, str) or method not in MASK_METHODS:
        raise ValueError(f"method must be one of {MASK_METHODS}; got method={method!r}")
    gen = as_generator(rng)
    if method == "binomial":
        return gen.binomial(1, q, size=dims).astype(bool)
    if method == "uniform_gt_drop":
        return gen.random(dims) > 1.0 - q
    if method == "uniform_lt_keep":
        return _bernoulli_mask(dims, q, gen)
    import torch  # only this method needs PyTorch

    seed = int(gen.integers(0, 2**63 - 1))
    torch_gen = torch.Generator().manual_seed(seed)
    mask = torch.empty(dims, dtype=torch.bool).bernoulli_(q, generator=torch_gen)
    return mask.numpy()


class PackedMask(NamedTuple):
    """A boolean mask stored as bits: `bits` holds ⌈n/8⌉ bytes for `n` entries."""

    bits: np.ndarray
    shape: tuple[int, ...]


def pack_mask(mask: Any) -> PackedMask:
    """Store a boolean mask with one BIT per entry (`np.packbits`, big-endian bit
    order).

    A mask of n entries costs ⌈n/8⌉ bytes instead of n (bool) or 4n (float32).
    The shape is kept so that `unpack_mask` can drop the padding bits of the
    last byte. `mask` is not modified.
    """
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise TypeError(
            f"mask must be a boolean array; got an array of dtype {arr.dtype}"
        )
    return PackedMask(np.packbits(arr.ravel()), tuple(int(d) for d in arr.shape))


def unpack_mask(packed: PackedMask) -> np.ndarray:
    """Inverse of `pack_mask`: a new `bool` array of the stored shape."""
    if not isinstance(packed, PackedMask):
        raise TypeError(
            f"packed must be a PackedMask from pack_mask; got {type(packed).__name__}"
        )
    bits = np.asarray(packed.bits)
    if bits.dtype != np.uint8 or bits.ndim != 1:
        raise TypeError(
            "packed.bits must be a 1-d uint8 array; "
            f"got dtype {bits.dtype}, ndim {bits.ndim}"
        )
    shape = _check_shape(packed.shape, "packed.shape")
    n = int(np.prod(shape, dtype=np.int64))
    if bits.size != -(-n // 8):
        raise ValueError(
            f"packed.bits has {bits.size} bytes but a mask of shape {shape} "
            f"needs {-(-n // 8)}"
        )
    return np.unpackbits(bits, count=n).astype(bool).reshape(shape)


class ChiSquareResult(NamedTuple):
    """A chi-square test: statistic, degrees of freedom, p-value and the tables it
    compared.
    """

    statistic: float
    df: int
    pvalue: float
    observed: np.ndarray
    expected: np.ndarray


# : Smallest expected count the chi-square approximation is trusted with (Cochran's
# rule).
MIN_EXPECTED = 5.0


def kept_count_table(masks: Any) -> np.ndarray:
    """For masks of shape `(n_rows, k)`: how many rows keep exactly j entries,
    j = 0..k.
    """
    arr = np.asarray(masks)
    if arr.dtype != np.bool_:
        raise TypeError(
            f"masks must be a boolean array; got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(
            f"masks must have shape (n_rows, k) with k >= 1; got shape {arr.shape}"
        )
    return np.bincount(arr.sum(axis=1), minlength=arr.shape[1] + 1)


def binomial_gof_test(masks: Any, keep_prob: float) -> ChiSquareResult:
    """Chi-square goodness-of-fit test of "rows of `masks` are i.i.d.
    Bernoulli(q)".

    Under that hypothesis the number of kept entries in a row of k is Binomial(k, q),
    so the k + 1 counts of `kept_count_table` are compared with
    n·C(k, j)·qʲ·(1 − q)^(k−j) by Pearson's statistic X² = Σⱼ (Oⱼ − Eⱼ)² / Eⱼ, which
    is asymptotically χ²ₖ (k + 1 cells, no fitted parameter). The test detects a
    wrong keep probability AND dependence between entries of a row
    (a shared coin changes the spread of the count). It needs every Eⱼ ≥ 5; otherwise
    it raises `ValueError` (use more rows or a smaller k). Requires 0 < q < 1.
    """
    from scipy import stats

    q = check_probability(keep_prob, "keep_prob")
    if q in (0.0, 1.0):
        raise ValueError(
            "keep_prob must be strictly between 0 and 1 for this test; "
            f"got {keep_prob!r}"
        )
    observed = kept_count_table(masks)
    n_rows, k = int(observed.sum()), observed.size - 1
    expected = n_rows * stats.binom.pmf(np.arange(k + 1), k, q)
    if expected.min() < MIN_EXPECTED:
        raise ValueError(
            f"an expected count is {expected.min():.2f} < {MIN_EXPECTED}: the "
            "chi-square approximation is unreliable; use more rows than "
            f"n_rows={n_rows} or fewer columns than k={k}"
        )
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return ChiSquareResult(
        statistic, k, float(stats.chi2.sf(statistic, k)), observed, expected
    )


def homogeneity_test(mask_sets: Sequence[Any]) -> ChiSquareResult:
    """Chi-square test that several mask samples (each `(n_rows, k)`, same `k`)
    share one law.

    Builds the r × (k+1) table of `kept_count_table` rows and applies Pearson's
    test of homogeneity: Eᵢⱼ = Rᵢ Cⱼ / N, statistic asymptotically χ²_((r−1)k)
    when all samples come from the same distribution. Needs at least two
    samples and every Eᵢⱼ ≥ 5.
    """
    from scipy import stats

    tables = [kept_count_table(m) for m in mask_sets]
    if len(tables) < 2:
        raise ValueError(f"mask_sets must hold at least two samples; got {len(tables)}")
    if len({t.size for t in tables}) != 1:
        raise ValueError(
            "every sample in mask_sets must have the same number of columns k"
        )
    observed = np.vstack(tables).astype(np.float64)
    expected = (
        observed.sum(axis=1, keepdims=True)
        * observed.sum(axis=0, keepdims=True)
        / observed.sum()
    )
    if expected.min() < MIN_EXPECTED:
        raise ValueError(
            f"an expected count is {expected.min():.2f} < {MIN_EXPECTED}: "
            "use more rows per sample"
        )
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    df = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return ChiSquareResult(
        statistic, df, float(stats.chi2.sf(statistic, df)), observed, expected
    )


# ---------------------------------------------------------------------------
# Reading a mask back from a dropout layer's input and output
# ---------------------------------------------------------------------------


def recover_kept_mask(x: Any, out: Any) -> np.ndarray:
    """Which entries a dropout layer kept, read from its input `x` and output
    `out`: mᵢ = [outᵢ ≠ 0]. It draws nothing (`kept_mask` is its deprecated
    earlier name).

    An entry with xᵢ = 0 looks the same dropped or kept, so `x` must have no
    zeros; `ValueError` otherwise, or if the shapes differ. Works for any
    library's output converted to NumPy. Neither input is modified.
    """
    xa = check_real_array(x, "x")
    outa = check_real_array(out, "out")
    if xa.shape != outa.shape:
        raise ValueError(
            f"x and out must have the same shape; got {xa.shape} and {outa.shape}"
        )
    if np.any(xa == 0):
        raise ValueError(
            "x must have no zero entries: a zero input hides whether it was dropped"
        )
    kept: np.ndarray = outa != 0
    return kept


#: Deprecated alias of `recover_kept_mask` (kept for one release; chapter 4's
#: stored code uses it).
kept_mask = recover_kept_mask


class DropoutSummary(NamedTuple):
    """What one application of dropout did to `x`.

    `dropped_fraction` is the share of entries set to 0; `scale_min` and
    `scale_max` bound outᵢ / xᵢ over the kept entries (both equal 1/q for exact
    inverted dropout; NaN when nothing was kept); `n` is the number of entries.
    """

    dropped_fraction: float
    scale_min: float
    scale_max: float
    n: int


def dropout_summary(x: Any, out: Any) -> DropoutSummary:
    """The dropped fraction and the scale of the kept entries of one dropout
    application.

    For inverted dropout with drop probability p, the dropped fraction of n
    entries has mean p and standard deviation √(p(1−p)/n), and every kept entry
    satisfies outᵢ / xᵢ = 1/(1−p) up to rounding. `x` must have no zeros
    (see `recover_kept_mask`). The ratios are computed in float64.
    """
    mask = recover_kept_mask(x, out)
    n = int(mask.size)
    if n == 0:
        raise ValueError("x must have at least one entry")
    x64 = np.asarray(x, dtype=np.float64)
    out64 = np.asarray(out, dtype=np.float64)
    ratios = out64[mask] / x64[mask]
    if ratios.size == 0:
        lo = hi = float("nan")
    else:
        lo, hi = float(ratios.min()), float(ratios.max())
    return DropoutSummary(float(1.0 - mask.mean()), lo, hi, n)


def shared_along(mask: Any, axes: int | Sequence[int]) -> bool:
    """True if `mask` is constant along every axis in `axes`.

    A mask drawn at a `noise_shape` with size 1 on an axis and broadcast to the
    input is constant along that axis; an element-wise mask (almost surely) is
    not. `SpatialDropout2D` on `(N, H, W, C)` inputs, for example, gives masks
    shared along axes `(1, 2)`. Negative axes count from the end.
    """
    m = np.asarray(mask)
    given: Any = axes
    if isinstance(given, (int, np.integer)) and not isinstance(given, np.bool_):
        given = (given,)
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        raise TypeError(f"axes must be an int or a sequence of ints; got axes={axes!r}")
    seq = tuple(given)
    checked = [check_int(a, "axes entries", -m.ndim) for a in seq]
    for a in checked:
        if a >= m.ndim:
            raise ValueError(f"axis {a} is out of range for a mask of rank {m.ndim}")
    if m.size == 0:
        return True
    first = m
    for a in checked:
        first = np.take(first, [0], axis=a)
    return bool(np.all(m == first))
