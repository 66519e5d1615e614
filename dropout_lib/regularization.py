"""Dropout as adaptive L2 regularisation in a generalised linear model.

Wager, Wang and Liang (2013).

A GLM with natural parameter η = x · β has the negative log-likelihood
ℓ(β; x, y) = −y·η + A(η) (up to terms free of β); for logistic regression
A(η) = log(1 + e^η) and A''(η) = σ(η)(1 − σ(η)). Inverted dropout on the
features replaces x by x̃ = m ⊙ x / q, so E[x̃] = x and the linear term keeps
its mean. A second-order Taylor expansion of A around x · β gives:

    Eₘ[ℓ(β; x̃ᵢ, yᵢ)] ≈ ℓ(β; xᵢ, yᵢ) + ½ A''(xᵢ · β) Var[x̃ᵢ · β],
    Var[x̃ᵢ · β] = (p/q) Σⱼ xᵢⱼ² βⱼ²,

so, summed over the data, the expected dropout loss is the loss plus the penalty
(p/(2q)) Σⱼ βⱼ² Σᵢ A''(xᵢ · β) xᵢⱼ²:
an L2 penalty weighted by the diagonal of the Fisher information (equivalently,
plain ridge after scaling feature j by Iⱼⱼ^(−1/2)). This module computes the
exact expectation (by enumerating the masks) and the quadratic approximation,
per example averaged over the data.
"""

from __future__ import annotations

import numpy as np

from .ensemble import _mask_probabilities, all_masks
from .validation import check_probability, check_real_array

__all__ = [
    "dropout_quadratic_penalty",
    "expected_dropout_logistic_loss",
    "logistic_loss",
    "logistic_variance",
]


def _check_glm(
    beta: object, X: object, y: object | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    b = check_real_array(beta, "beta").astype(np.float64)
    x = check_real_array(X, "X").astype(np.float64)
    if b.ndim != 1 or x.ndim != 2 or x.shape[1] != b.shape[0]:
        raise ValueError(
            f"beta must be (d,) and X (N, d) with the same d; got {b.shape}, {x.shape}"
        )
    if y is None:
        return b, x, None
    t = check_real_array(y, "y").astype(np.float64)
    if t.shape != (x.shape[0],) or not np.all((t == 0) | (t == 1)):
        raise ValueError("y must hold one label in {0, 1} per row of X")
    return b, x, t


def _softplus(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.logaddexp(0.0, z)
    return out


def logistic_loss(beta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean logistic negative log-likelihood, (1/N) Σᵢ [A(xᵢ·β) − yᵢ xᵢ·β]."""
    b, x, t = _check_glm(beta, X, y)
    eta = x @ b
    return float(np.mean(_softplus(eta) - t * eta))


def logistic_variance(eta: np.ndarray) -> np.ndarray:
    """The logistic variance function, A''(η) = σ(η)(1 − σ(η))."""
    s = 1.0 / (1.0 + np.exp(-check_real_array(eta, "eta").astype(np.float64)))
    return s * (1.0 - s)


def expected_dropout_logistic_loss(
    beta: np.ndarray, X: np.ndarray, y: np.ndarray, p: float
) -> float:
    """Exact expected dropout loss by enumeration,
    (1/N) Σᵢ Eₘ[ℓ(β; m ⊙ xᵢ / q, yᵢ)].

    Every one of the 2^d masks is weighted by its probability qᵏ p^(d−k); `d`
    is limited by `dropout_lib.ensemble.all_masks`. Requires p < 1.
    """
    p = check_probability(p, "p", below_one=True)
    b, x, t = _check_glm(beta, X, y)
    if t is None:  # unreachable: labels were passed; narrows the type
        raise ValueError("y is required")
    q = 1.0 - p
    masks = all_masks(b.shape[0])
    pi = _mask_probabilities(masks, p)
    eta = (x @ (masks * b).T) / q  # [N, n_masks]
    loss = _softplus(eta) - t[:, None] * eta
    return float(np.mean(loss @ pi))


def dropout_quadratic_penalty(beta: np.ndarray, X: np.ndarray, p: float) -> float:
    """The second-order dropout penalty, averaged over the data:

        R(β) = (p/(2q)) Σⱼ βⱼ² (1/N) Σᵢ A''(xᵢ · β) xᵢⱼ².

    It does not depend on the labels. Requires p < 1.
    """
    p = check_probability(p, "p", below_one=True)
    b, x, _ = _check_glm(beta, X)
    fisher_diag = (logistic_variance(x @ b)[:, None] * x**2).mean(axis=0)
    return float(p / (2.0 * (1.0 - p)) * np.sum(b**2 * fisher_diag))
