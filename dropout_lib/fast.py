"""Fast NumPy dropout, quantised keep thresholds and bit-packed masks.

Inverted dropout with drop probability p multiplies each element by m/q,
with m ~ Bernoulli(q) and q = 1 − p. The textbook mask compares a uniform
float with q: 32 random bits per element. `dropout_uint8` compares one random
byte b ∈ {0, …, 255} with a threshold t = round(256·p) and keeps b ≥ t, so
P(keep) = 1 − t/256: p is quantised to multiples of 1/256 and only 8 random
bits are drawn per element. `dropout_uint16` does the same with 16 bits
(multiples of 1/65536).

A stored mask costs one byte per element as a bool array; `pack_mask` stores
it as bits (8 × smaller) and `unpack_mask` restores it exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dropout_float_mask",
    "dropout_uint8",
    "dropout_uint16",
    "pack_mask",
    "quantised_p",
    "threshold",
    "unpack_mask",
]


def _check_p(p: float) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise TypeError(f"p must be a float in [0, 1]; got {type(p).__name__}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    return float(p)


def _check_x(x: np.ndarray) -> np.ndarray:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError("x must be a floating NumPy array")
    return x


def threshold(p: float, bits: int = 8) -> int:
    """Integer threshold t = round(2^bits · p) for a `bits`-bit random draw.

    An element is kept when its draw b satisfies b ≥ t, so the drop
    probability actually used is t / 2^bits (see `quantised_p`).
    """
    p = _check_p(p)
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16; got {bits}")
    return round(p * (1 << bits))


def quantised_p(p: float, bits: int = 8) -> float:
    """The drop probability t / 2^bits that a `bits`-bit threshold realises."""
    return threshold(p, bits) / (1 << bits)


def dropout_float_mask(x: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Textbook inverted dropout: keep where u < q, u ~ U(0, 1) float32, scale 1/q.

    Returns a new array; x is not modified. p = 1 gives zeros (never NaN).
    """
    x = _check_x(x)
    p = _check_p(p)
    if p == 1.0:
        return np.zeros_like(x)
    q = 1.0 - p
    keep = rng.random(x.shape, dtype=np.float32) < q
    out: np.ndarray = x * (keep * x.dtype.type(1.0 / q))
    return out


def _draw(shape: tuple[int, ...], bits: int, rng: np.random.Generator) -> np.ndarray:
    n = int(np.prod(shape))
    dtype = np.uint8 if bits == 8 else np.uint16
    raw = rng.bytes(n * (bits // 8))
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _threshold_dropout(
    x: np.ndarray, p: float, rng: np.random.Generator, bits: int, inplace: bool
) -> np.ndarray:
    x = _check_x(x)
    t = threshold(p, bits)
    out = x if inplace else np.empty_like(x)
    if t >= (1 << bits):
        out[...] = 0
        return out
    scale = x.dtype.type((1 << bits) / ((1 << bits) - t))
    keep = _draw(x.shape, bits, rng) >= t
    np.multiply(x, keep, out=out)
    out *= scale
    return out


def dropout_uint8(
    x: np.ndarray, p: float, rng: np.random.Generator, *, inplace: bool = False
) -> np.ndarray:
    """Inverted dropout from one random byte per element.

    Keep where b ≥ t, b uniform on {0, …, 255}, t = round(256·p); kept values
    are scaled by 1/q' with q' = 1 − t/256, so E[out] = x exactly for the
    quantised p' = t/256. With inplace=True x itself is overwritten and
    returned; otherwise x is left unchanged.
    """
    return _threshold_dropout(x, p, rng, 8, inplace)


def dropout_uint16(
    x: np.ndarray, p: float, rng: np.random.Generator, *, inplace: bool = False
) -> np.ndarray:
    """As `dropout_uint8` with 16 random bits: p' = round(65536·p)/65536."""
    return _threshold_dropout(x, p, rng, 16, inplace)


def pack_mask(mask: np.ndarray) -> np.ndarray:
    """Pack a bool mask into bits: ceil(n/8) bytes instead of n."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError("mask must be a bool NumPy array")
    return np.packbits(mask.ravel())


def unpack_mask(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `pack_mask`: the bool mask of the given shape."""
    n = int(np.prod(shape))
    if packed.dtype != np.uint8 or packed.size != (n + 7) // 8:
        raise ValueError(f"packed must be {(n + 7) // 8} uint8 bytes for shape {shape}")
    return np.unpackbits(packed, count=n).astype(bool).reshape(shape)
