"""Dropout on NumPy arrays: inverted (the modern default) and classic (2012 paper).

NumPy, not PyTorch: unlike `torch.nn.functional`, whose name it shares, this
module works on NumPy arrays with a NumPy `rng` (the Keras-style reference
implementation the chapters read masks from). The PyTorch layers are in
`dropout_lib.nn`; for a functional PyTorch dropout use
`torch.nn.functional.dropout`. The top-level `dropout_lib.dropout` is this
module's `dropout` (DROP probability `p`), while `dropout_lib.bernoulli_mask`
takes the KEEP probability q: a mask's parameter is the chance of a 1.

Notation used across the course: `p` is the DROP probability, q = 1 − p the
KEEP probability, and mᵢ ~ Bernoulli(q) the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .masks import RngLike, _bernoulli_mask, as_generator
from .validation import (
    check_int,
    check_probability,
    check_real_array,
    float_dtype_for,
)

__all__ = ["dropout", "classic_dropout", "resolve_noise_shape"]


def resolve_noise_shape(
    shape: tuple[int, ...], noise_shape: Sequence[int | None] | None
) -> tuple[int, ...]:
    """The shape a mask is drawn at, following Keras's `noise_shape` rule.

    `None` means the input's shape. Otherwise `noise_shape` must have the
    input's rank; a `None` entry takes the input's size on that axis, and every
    other entry must equal that size or be 1 (the mask is then shared, i.e.
    broadcast, along that axis).
    """
    if noise_shape is None:
        return shape
    try:
        ns = tuple(noise_shape)
    except TypeError as exc:
        raise TypeError(
            f"noise_shape must be a sequence of ints or None; got {noise_shape!r}"
        ) from exc
    if len(ns) != len(shape):
        raise ValueError(
            f"noise_shape must have the input's rank {len(shape)}; "
            f"got noise_shape={ns!r} for an input of shape {shape}"
        )
    out = []
    for axis, (n, size) in enumerate(zip(ns, shape, strict=True)):
        if n is None:
            out.append(size)
            continue
        n = check_int(n, f"noise_shape[{axis}] (an int or None)", 0)
        if n not in (1, size):
            raise ValueError(
                f"noise_shape={ns!r} is not broadcastable to the input shape {shape}: "
                f"axis {axis} must be 1, {size} or None, got {n}"
            )
        out.append(int(n))
    return tuple(out)


def dropout(
    x: Any,
    p: float,
    *,
    training: bool = True,
    rng: RngLike = None,
    noise_shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Inverted dropout: h'ᵢ = mᵢ hᵢ / (1 − p) with mᵢ ~ Bernoulli(1 − p).

    Dividing the kept entries by the keep probability q = 1 − p makes
    E[h'ᵢ] = q · hᵢ / q = hᵢ, so nothing has to change at inference, where the
    function is the identity.

    Parameters
    ----------
    x : array_like of real numbers
        The activations. Never modified.
    p : float
        DROP probability, 0 ≤ p ≤ 1.
    training : bool
        If False, return an unscaled copy of `x` (inference mode).
    rng : numpy.random.Generator, int or None
        Source of randomness (a seed or a Generator, advanced in place).
    noise_shape : sequence of int or None, optional
        Keras's rule: the mask is drawn at this shape and broadcast to `x`
        (`(n, 1)` drops whole rows). See `resolve_noise_shape`.

    Returns
    -------
    numpy.ndarray
        A new floating array (integer and bool inputs give float64). `p == 0`
        or `training=False` give a copy of `x`; `p == 1` gives exact zeros,
        even where `x` is infinite or NaN.
    """
    p = check_probability(p, "p")
    arr = check_real_array(x, "x")
    out_dtype = float_dtype_for(arr.dtype)
    mask_shape = resolve_noise_shape(arr.shape, noise_shape)
    gen = as_generator(rng)
    if not training or p == 0.0:
        return np.array(arr, dtype=out_dtype, copy=True)
    if p == 1.0:
        return np.zeros(arr.shape, dtype=out_dtype)
    keep = 1.0 - p
    mask = _bernoulli_mask(mask_shape, keep, gen)  # p was checked above
    scaled = arr.astype(out_dtype, copy=True)
    scaled *= out_dtype.type(1.0 / keep)
    out: np.ndarray = np.where(mask, scaled, out_dtype.type(0))
    return out


def classic_dropout(
    x: Any, p: float, *, training: bool = True, rng: RngLike = None
) -> np.ndarray:
    """Classic dropout (Hinton et al. 2012): no scaling in training, weight scaling at
    test.

    Training: h'ᵢ = mᵢ hᵢ, so E[h'ᵢ] = (1 − p) hᵢ. Inference:
    return (1 − p) h, the expected value, which is the "weight scaling
    inference rule" applied to the layer's output. `p == 1` gives exact zeros
    in both modes. `x` is never modified.
    """
    p = check_probability(p, "p")
    arr = check_real_array(x, "x")
    out_dtype = float_dtype_for(arr.dtype)
    gen = as_generator(rng)
    if p == 1.0:
        return np.zeros(arr.shape, dtype=out_dtype)
    values = arr.astype(out_dtype, copy=True)
    if not training:
        values *= out_dtype.type(1.0 - p)
        return values
    if p == 0.0:
        return values
    mask = _bernoulli_mask(arr.shape, 1.0 - p, gen)  # p was checked above
    out: np.ndarray = np.where(mask, values, out_dtype.type(0))
    return out
