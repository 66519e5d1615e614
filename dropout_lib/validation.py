"""Argument checks shared by the NumPy and PyTorch implementations.

Every public function that takes a drop probability validates it here, so the
error messages are the same everywhere in the course.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_module",
    "check_probability",
    "check_real_array",
    "check_seed",
    "check_tensor",
    "float_dtype_for",
]


def check_probability(value: Any, name: str = "p", *, below_one: bool = False) -> float:
    """Return `value` as a Python float after checking it is a probability.

    A probability here is a real number v with 0 ≤ v ≤ 1. With
    `below_one=True` the value 1 is refused too (0 ≤ v < 1): the rule for every
    formula that divides by the keep probability 1 − v.

    Raises
    ------
    TypeError
        If `value` is not a real scalar (a string, `None`, a bool, a complex
        number or an array).
    ValueError
        If `value` is NaN, infinite or outside the closed interval [0, 1], or,
        with `below_one=True`, equal to 1.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number in the closed interval [0, 1]; "
            f"got {name}={value!r} of type {type(value).__name__}"
        )
    v = float(value)
    if math.isnan(v) or math.isinf(v) or not 0.0 <= v <= 1.0:
        raise ValueError(
            f"{name} must be a probability in the closed interval [0, 1]; "
            f"got {name}={value!r}"
        )
    if below_one and v == 1.0:
        raise ValueError(
            f"{name} must be a probability below 1, in [0, 1): at {name} = 1 every "
            f"unit is dropped and 1 - {name} = 0 leaves nothing to divide by; "
            f"got {name}={value!r}"
        )
    return v


def float_dtype_for(dtype: np.dtype) -> np.dtype:
    """The floating dtype a dropout output has for an input of `dtype`.

    Floating inputs keep their precision; booleans and integers become float64.
    """
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def check_real_array(x: Any, name: str = "x") -> np.ndarray:
    """Convert `x` to an array of real numbers (bool, integer or float).

    The input is never modified; the returned array may share memory with it,
    so callers must not write into it.

    Raises
    ------
    TypeError
        If `x` cannot be read as an array of real numbers (strings, objects,
        complex numbers).
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"{name} must be an array of real numbers; got {type(x).__name__}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be an array of real numbers (bool, integer or float); "
            f"got an array of dtype {arr.dtype}"
        )
    return arr


def check_int(value: Any, name: str, minimum: int = 0) -> int:
    """Return `value` as an `int` after checking it is an integer `>= minimum`.

    Booleans are rejected (`True` is an `int` in Python, but never a count).

    Raises
    ------
    TypeError
        If `value` is not an integer.
    ValueError
        If `value < minimum`.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer >= {minimum}; got {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    v = int(value)
    if v < minimum:
        raise ValueError(
            f"{name} must be an integer >= {minimum}; got {name}={value!r}"
        )
    return v


def check_seed(value: Any, name: str = "seed") -> int:
    """A random seed: an integer `>= 0` (see `check_int`)."""
    return check_int(value, name, 0)


def check_tensor(x: Any, name: str = "x", ndim: int | None = None) -> Any:
    """Check that `x` is a `torch.Tensor` (of `ndim` axes, if given) and return
    it.

    Raises `TypeError` for anything else and `ValueError` for a wrong number of
    axes.
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes; got shape {tuple(x.shape)}")
    return x


def check_module(model: Any, name: str = "model") -> Any:
    """Check that `model` is a `torch.nn.Module` and return it (else TypeError)."""
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module; got {type(model).__name__}")
    return model
