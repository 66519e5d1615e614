"""Exact moments of dropped activations, and Monte Carlo estimates to check them.

For one activation h and drop probability p (keep q = 1 − p):

* inverted dropout, h' = m h / q:
  E[h'] = h, Var[h'] = h² p / q;
* classic dropout in training, h' = m h:
  E[h'] = q h, Var[h'] = h² p q.

Both follow from E[m] = E[m²] = q.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

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

    `se_mean` is s / √n; `se_var` is √((μ̂₄ − s⁴) / n), the large-sample
    standard error of a sample variance (μ̂₄ the sample fourth central moment).
    """

    mean: np.ndarray
    var: np.ndarray
    se_mean: np.ndarray
    se_var: np.ndarray
    n: int


def sample_moments(samples: np.ndarray) -> MonteCarloMoments:
    """Sample mean and variance over axis 0 of `samples`, with standard errors.

    With n draws, x̄ = (1/n) Σᵢ xᵢ, s² = (1/(n−1)) Σᵢ (xᵢ − x̄)², `se_mean` =
    s/√n and `se_var` = √((μ̂₄ − s⁴)/n) (see `MonteCarloMoments`). Raises
    `ValueError` for fewer than two draws.
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


def dropout_moments(h: Any, p: float, kind: Kind = "inverted") -> Moments:
    """Exact mean and variance of the dropped activation `h'` in training.

    Inverted: (h, h² p/(1−p)); classic: ((1−p) h, h² p (1−p)). At p = 1 both
    layers output exact zeros, so both moments are 0.
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
    h: Any, p: float, n: int, rng: RngLike = None, kind: Kind = "inverted"
) -> MonteCarloMoments:
    """Estimate the moments of `h'` from `n` independent dropout draws.

    Each of the `n` samples applies a fresh mask to the whole of `h`; the
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


def _check_unit(w: Any, h: Any) -> tuple[np.ndarray, np.ndarray]:
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


def linear_unit_moments(w: Any, h: Any, p: float, kind: Kind = "inverted") -> Moments:
    """Exact mean and variance of a linear unit fed dropped inputs,
    z = Σᵢ wᵢ h'ᵢ.

    The masks mᵢ are independent, so the variances add:

    * inverted, h'ᵢ = mᵢ hᵢ / q: E[z] = w · h,
      Var[z] = (p/q) Σᵢ wᵢ² hᵢ²;
    * classic, h'ᵢ = mᵢ hᵢ: E[z] = q w · h,
      Var[z] = p q Σᵢ wᵢ² hᵢ².

    `w` has shape `(n,)`; `h` has shape `(n,)` (one example, scalar moments) or
    `(batch, n)` (one pair of moments per row). At p = 1 both are 0.
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
    w: Any, h: Any, p: float, n: int, rng: RngLike = None, kind: Kind = "inverted"
) -> MonteCarloMoments:
    """Estimate the moments of z = Σᵢ wᵢ h'ᵢ from `n` fresh masks.

    Shapes as in `linear_unit_moments`; returns sample statistics with their
    standard errors (see `MonteCarloMoments`).
    """
    p = check_probability(p, "p")
    _check_kind(kind)
    n = check_int(n, "n", 2)
    w, h = _check_unit(w, h)
    gen = as_generator(rng)
    fn = dropout if kind == "inverted" else classic_dropout
    samples = fn(np.broadcast_to(h, (int(n),) + h.shape), p, rng=gen) @ w
    return sample_moments(samples)
