"""Exact moments of dropped activations, and Monte Carlo estimates to check them.

For one activation :math:`h` and drop probability :math:`p` (keep :math:`q = 1 - p`):

* inverted dropout, :math:`h' = m h / q`:
  :math:`\\mathbb{E}[h'] = h`, :math:`\\operatorname{Var}[h'] = h^2 p / q`;
* classic dropout in training, :math:`h' = m h`:
  :math:`\\mathbb{E}[h'] = q h`, :math:`\\operatorname{Var}[h'] = h^2 p q`.

Both follow from :math:`\\mathbb{E}[m] = \\mathbb{E}[m^2] = q`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from .functional import classic_dropout, dropout
from .masks import RngLike, as_generator
from .validation import check_int, check_probability, check_real_array

__all__ = [
    "Moments",
    "MonteCarloMoments",
    "dropout_moments",
    "linear_unit_moments",
    "monte_carlo_linear_unit",
    "monte_carlo_moments",
    "sample_moments",
]

Kind = Literal["inverted", "classic"]


class Moments(NamedTuple):
    """Mean and variance, element-wise."""

    mean: np.ndarray
    var: np.ndarray


class MonteCarloMoments(NamedTuple):
    """Sample mean and variance with their standard errors, element-wise.

    ``se_mean`` is :math:`s / \\sqrt{n}`; ``se_var`` is
    :math:`\\sqrt{(\\hat\\mu_4 - s^4) / n}`, the large-sample standard error of a
    sample variance (:math:`\\hat\\mu_4` the sample fourth central moment).
    """

    mean: np.ndarray
    var: np.ndarray
    se_mean: np.ndarray
    se_var: np.ndarray
    n: int


def sample_moments(samples: np.ndarray) -> MonteCarloMoments:
    """Sample mean and variance over axis 0 of ``samples``, with standard errors.

    With :math:`n` draws, :math:`\\bar x = \\frac1n\\sum_i x_i`,
    :math:`s^2 = \\frac{1}{n-1}\\sum_i (x_i - \\bar x)^2`, ``se_mean`` =
    :math:`s/\\sqrt n` and ``se_var`` = :math:`\\sqrt{(\\hat\\mu_4 - s^4)/n}` (see
    :class:`MonteCarloMoments`). Raises ``ValueError`` for fewer than two draws.
    """
    samples = check_real_array(samples, "samples")
    if samples.ndim == 0 or samples.shape[0] < 2:
        raise ValueError(
            "samples must hold at least 2 draws along axis 0; "
            f"got shape {samples.shape}"
        )
    n = samples.shape[0]
    mean = samples.mean(axis=0)
    centred = samples - mean
    var = (centred**2).sum(axis=0) / (n - 1)
    mu4 = (centred**4).mean(axis=0)
    se_var = np.sqrt(np.maximum(mu4 - var**2, 0.0) / n)
    return MonteCarloMoments(mean, var, np.sqrt(var / n), se_var, int(n))


def _check_kind(kind: str) -> None:
    if kind not in ("inverted", "classic"):
        raise ValueError(f"kind must be 'inverted' or 'classic'; got kind={kind!r}")


def dropout_moments(h, p: float, kind: Kind = "inverted") -> Moments:
    """Exact mean and variance of the dropped activation ``h'`` in training.

    Inverted: :math:`(h,\\; h^2 p/(1-p))`; classic: :math:`((1-p) h,\\; h^2 p (1-p))`.
    At :math:`p = 1` both layers output exact zeros, so both moments are 0.
    """
    p = check_probability(p, "p")
    _check_kind(kind)
    h = check_real_array(h, "h").astype(np.float64)
    if p == 1.0:
        return Moments(np.zeros_like(h), np.zeros_like(h))
    q = 1.0 - p
    if kind == "inverted":
        return Moments(h.copy(), h**2 * p / q)
    return Moments(q * h, h**2 * p * q)


def monte_carlo_moments(
    h, p: float, n: int, rng: RngLike = None, kind: Kind = "inverted"
) -> MonteCarloMoments:
    """Estimate the moments of ``h'`` from ``n`` independent dropout draws.

    Each of the ``n`` samples applies a fresh mask to the whole of ``h``; the
    statistics are taken over the sample axis, element by element.
    """
    p = check_probability(p, "p")
    _check_kind(kind)
    n = check_int(n, "n", 2)
    h = check_real_array(h, "h").astype(np.float64)
    gen = as_generator(rng)
    tiled = np.broadcast_to(h, (int(n),) + h.shape)
    fn = dropout if kind == "inverted" else classic_dropout
    samples = fn(tiled, p, rng=gen)
    return sample_moments(samples)


def _check_unit(w, h) -> tuple[np.ndarray, np.ndarray]:
    w = check_real_array(w, "w").astype(np.float64)
    h = check_real_array(h, "h").astype(np.float64)
    if w.ndim != 1:
        raise ValueError(f"w must be a 1-D weight vector; got w of shape {w.shape}")
    if h.ndim not in (1, 2) or h.shape[-1] != w.shape[0]:
        raise ValueError(
            f"h must have shape (n,) or (batch, n) with n = len(w) = {w.shape[0]}; "
            f"got h of shape {h.shape}"
        )
    return w, h


def linear_unit_moments(w, h, p: float, kind: Kind = "inverted") -> Moments:
    """Exact mean and variance of a linear unit fed dropped inputs,
    :math:`z = \\sum_i w_i h'_i`.

    The masks :math:`m_i` are independent, so the variances add:

    * inverted, :math:`h'_i = m_i h_i / q`: :math:`\\mathbb{E}[z] = w \\cdot h`,
      :math:`\\operatorname{Var}[z] = \\frac{p}{q} \\sum_i w_i^2 h_i^2`;
    * classic, :math:`h'_i = m_i h_i`: :math:`\\mathbb{E}[z] = q\\, w \\cdot h`,
      :math:`\\operatorname{Var}[z] = p q \\sum_i w_i^2 h_i^2`.

    ``w`` has shape ``(n,)``; ``h`` has shape ``(n,)`` (one example, scalar moments)
    or ``(batch, n)`` (one pair of moments per row). At :math:`p = 1` both are 0.
    """
    p = check_probability(p, "p")
    _check_kind(kind)
    w, h = _check_unit(w, h)
    mean_full = h @ w
    ssq = (h**2) @ (w**2)
    if p == 1.0:
        return Moments(np.zeros_like(mean_full), np.zeros_like(ssq))
    q = 1.0 - p
    if kind == "inverted":
        return Moments(mean_full, ssq * p / q)
    return Moments(q * mean_full, ssq * p * q)


def monte_carlo_linear_unit(
    w, h, p: float, n: int, rng: RngLike = None, kind: Kind = "inverted"
) -> MonteCarloMoments:
    """Estimate the moments of :math:`z = \\sum_i w_i h'_i` from ``n`` fresh masks.

    Shapes as in :func:`linear_unit_moments`; returns sample statistics with
    their standard errors (see :class:`MonteCarloMoments`).
    """
    p = check_probability(p, "p")
    _check_kind(kind)
    n = check_int(n, "n", 2)
    w, h = _check_unit(w, h)
    gen = as_generator(rng)
    fn = dropout if kind == "inverted" else classic_dropout
    samples = fn(np.broadcast_to(h, (int(n),) + h.shape), p, rng=gen) @ w
    return sample_moments(samples)
