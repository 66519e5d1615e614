"""Bernoulli masks: the random part of dropout.

A mask :math:`m` has independent entries :math:`m_i \\sim \\mathrm{Bernoulli}(q)`,
where :math:`q = 1 - p` is the KEEP probability: :math:`P(m_i = 1) = q`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .validation import check_probability

__all__ = ["RngLike", "as_generator", "bernoulli_mask"]

RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike | np.random.SeedSequence = None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed or None) into a ``numpy.random.Generator``.

    A Generator is returned as it is, so successive calls advance the caller's stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}"
    )


def bernoulli_mask(shape: int | Sequence[int], keep_prob: float, rng: RngLike = None) -> np.ndarray:
    """Draw a boolean mask with :math:`P(m_i = \\text{True}) = q` (``keep_prob``), independently.

    The draw is :math:`m_i = [u_i < q]` with :math:`u_i \\sim U[0, 1)`, so
    :math:`q = 1` keeps everything and :math:`q = 0` drops everything, exactly.
    A bool mask costs one byte per element (a float32 mask costs four).
    """
    q = check_probability(keep_prob, "keep_prob")
    gen = as_generator(rng)
    return gen.random(shape) < q
