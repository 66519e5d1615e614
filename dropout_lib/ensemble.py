"""Dropout as an ensemble: the arithmetic and the geometric mean of thinned networks.

A network with n droppable units defines 2ⁿ thinned networks, one per mask
m ∈ {0, 1}ⁿ, drawn with probability π(m) = Πᵢ q^(mᵢ) p^(1 − mᵢ). Two ways to
combine their predicted class distributions P(· | x, m):

* the **arithmetic mean** A(y) = Σₘ π(m) P(y | x, m), which
  Monte Carlo averaging estimates;
* the **normalised geometric mean** (NGM)
  G(y) ∝ Πₘ P(y | x, m)^(π(m)), normalised to sum to 1 over the classes.

For softmax regression with (inverted) dropout on its inputs,
P(· | x, m) = softmax(W (m ⊙ x) / q + b), the NGM is *exactly* the
weight-scaled prediction softmax(W x + b)
(Hinton et al. 2012; Baldi and Sadowski 2013): `softmax_regression_ensemble`
checks it by enumerating every mask.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .validation import check_int, check_probability, check_real_array

__all__ = [
    "SoftmaxEnsemble",
    "all_masks",
    "mask_probabilities",
    "normalised_geometric_mean",
    "softmax_regression_ensemble",
    "tv_distance",
]

#: Enumerating more masks than this is refused (2^20 masks is about a million).
MAX_ENUMERATED_UNITS = 20


def all_masks(n: int) -> np.ndarray:
    """Every keep mask of `n` units, an array of shape `(2**n, n)` of 0.0/1.0.

    Row r is the binary expansion of r (most significant unit first), so row 0
    drops every unit and the last row keeps every unit. Refuses `n` above
    `MAX_ENUMERATED_UNITS`.
    """
    n = check_int(n, "n", 1)
    if n > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"n must be <= {MAX_ENUMERATED_UNITS} (2**n masks are enumerated); "
            f"got n={n}"
        )
    rows = np.arange(2**n)[:, None]
    bits = (rows >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return bits.astype(np.float64)


def mask_probabilities(masks: np.ndarray, p: float) -> np.ndarray:
    """π(m) = q^(k(m)) p^(n − k(m)), k(m) the number of kept units.

    `masks` has shape `(n_masks, n)` with entries 0/1; over `all_masks` the
    probabilities sum to 1.
    """
    p = check_probability(p, "p")
    m = check_real_array(masks, "masks")
    if m.ndim != 2 or not np.all((m == 0) | (m == 1)):
        raise ValueError("masks must be a 2-D array of zeros and ones")
    return _mask_probabilities(m, p)


def _mask_probabilities(masks: np.ndarray, p: float) -> np.ndarray:
    """`mask_probabilities` for masks and a `p` the caller has checked (the
    masks of `all_masks`)."""
    kept = masks.sum(axis=1)
    probs: np.ndarray = (1.0 - p) ** kept * p ** (masks.shape[1] - kept)
    return probs


def normalised_geometric_mean(
    log_probs: np.ndarray | torch.Tensor,
    weights: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray | torch.Tensor:
    """The normalised geometric mean over axis 0 of distributions given as
    log-probabilities:

        G(y) = exp(Σⱼ wⱼ log Pⱼ(y)) / Σ_y' exp(Σⱼ wⱼ log Pⱼ(y')),

    with weights wⱼ summing to 1 (default: equal weights, the NGM of k sampled
    passes). `log_probs` has shape `(k, ..., classes)`; the result has shape
    `(..., classes)` and the type of `log_probs`. Because
    log softmax(z)_y = z_y − log Σ e^z, the NGM of softmax outputs is the softmax
    of the (weighted) mean logits.
    """
    is_torch = isinstance(log_probs, torch.Tensor)
    if isinstance(log_probs, torch.Tensor):
        lp = log_probs.double()
    else:
        lp = torch.as_tensor(
            check_real_array(log_probs, "log_probs"), dtype=torch.float64
        )
    if lp.ndim < 2:
        raise ValueError(
            "log_probs must have shape (k, ..., classes); got a tensor with "
            f"{lp.ndim} axes"
        )
    if weights is None:
        mean_log = lp.mean(dim=0)
    else:
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=torch.float64)
        if w.shape != (lp.shape[0],):
            raise ValueError(
                f"weights must have shape ({lp.shape[0]},); got {tuple(w.shape)}"
            )
        if not torch.isclose(w.sum(), torch.tensor(1.0, dtype=torch.float64)):
            raise ValueError(f"weights must sum to 1; they sum to {w.sum().item()}")
        mean_log = torch.tensordot(w, lp, dims=1)
    out = torch.softmax(mean_log, dim=-1)
    return out if is_torch else out.numpy()


def tv_distance(
    a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor
) -> np.ndarray | torch.Tensor:
    """Total-variation distance ½ Σ_y |a(y) − b(y)|, last axis."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return 0.5 * (a.double() - b.double()).abs().sum(dim=-1)
    xa = check_real_array(a, "a").astype(np.float64)
    xb = check_real_array(b, "b").astype(np.float64)
    if xa.shape != xb.shape:
        raise ValueError(
            f"a and b must have the same shape; got {xa.shape}, {xb.shape}"
        )
    tv: np.ndarray = 0.5 * np.abs(xa - xb).sum(axis=-1)
    return tv


class SoftmaxEnsemble(NamedTuple):
    """The predictions of `softmax_regression_ensemble`, each `(N, classes)`.

    `arithmetic`: Σₘ π(m) P(· | x, m); `geometric`: the NGM; `weight_scaled`:
    softmax(W x + b); `n_masks`: how many masks were enumerated.
    """

    arithmetic: np.ndarray
    geometric: np.ndarray
    weight_scaled: np.ndarray
    n_masks: int


def softmax_regression_ensemble(
    W: np.ndarray, b: np.ndarray, x: np.ndarray, p: float
) -> SoftmaxEnsemble:
    """Enumerate the 2ⁿ thinned softmax regressions (inverted input dropout).

    For each mask m the thinned model predicts
    P(· | x, m) = softmax(W (m ⊙ x)/q + b), with `W` of shape `(classes, n)`,
    `b` of shape `(classes,)` and `x` of shape `(N, n)`. Returns the arithmetic
    mean and the NGM over masks (weighted by π(m)) and the weight-scaled
    prediction, in float64. Requires 0 < p < 1 and n ≤ `MAX_ENUMERATED_UNITS`.
    """
    p = check_probability(p, "p", below_one=True)
    if p == 0.0:
        raise ValueError(f"p must lie in the open interval (0, 1); got p={p}")
    W = check_real_array(W, "W").astype(np.float64)
    b = check_real_array(b, "b").astype(np.float64)
    x = check_real_array(x, "x").astype(np.float64)
    if W.ndim != 2 or b.shape != (W.shape[0],) or x.ndim != 2:
        raise ValueError(
            "W must be (classes, n), b (classes,) and x (N, n); got "
            f"{W.shape}, {b.shape}, {x.shape}"
        )
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but W reads {W.shape[1]}")
    q = 1.0 - p
    masks = all_masks(W.shape[1])
    pi = _mask_probabilities(masks, p)
    # logits[j, i, c] for mask j, example i, class c
    logits = np.einsum("jn,in,cn->jic", masks, x, W) / q + b
    log_probs = logits - _logsumexp(logits)
    arithmetic = np.einsum("j,jic->ic", pi, np.exp(log_probs))
    geometric = normalised_geometric_mean(log_probs, pi)
    ws = x @ W.T + b
    weight_scaled = np.exp(ws - _logsumexp(ws))
    return SoftmaxEnsemble(arithmetic, np.asarray(geometric), weight_scaled, len(pi))


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=-1, keepdims=True)
    lse: np.ndarray = top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True))
    return lse
