"""Predictive uncertainty from stochastic passes: entropies, calibration, detection.

A classifier evaluated T times with dropout on (Monte Carlo dropout,
Gal and Ghahramani 2016), or by T members of an ensemble, gives class
probabilities pₜ(c | x), t = 1, …, T. This module
turns such samples, stored as a tensor `samples[t, n, c]`, into

* the **predictive mean** p̄(c | x) = (1/T) Σₜ pₜ(c | x);
* the **predictive entropy** H[p̄], the total uncertainty;
* the **expected entropy** (1/T) Σₜ H[pₜ], the part every pass
  agrees is there (aleatoric);
* the **mutual information** I = H[p̄] − (1/T) Σₜ H[pₜ] ≥ 0
  between the prediction and the sampled network (epistemic; the BALD score
  of Houlsby et al. 2011), which is 0 exactly when all passes agree;

and scores a predictive distribution with the negative log-likelihood, the
Brier score and the expected calibration error (ECE, with the equal-width
confidence bins of Guo et al. 2017), and an out-of-distribution score with the
area under the ROC curve.

Probabilities and labels may be `torch.Tensor` or NumPy arrays; every
computation is done in float64 on the input's device, and inputs are never
modified. Entropies use the natural logarithm (nats) with 0 log 0 = 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import nn

from .nn import dropout_active
from .validation import check_int, check_module, check_seed, check_tensor

__all__ = [
    "Decomposition",
    "ReliabilityBins",
    "auroc",
    "brier_score",
    "decompose",
    "entropy",
    "expected_calibration_error",
    "expected_entropy",
    "mc_samples",
    "mc_samples_batched",
    "mutual_information",
    "nll",
    "nll_from_probs",
    "predictive_entropy",
    "reliability_bins",
]

#: Tolerance on rows of probabilities: they must be >= -TOL and sum to 1 +- TOL.
PROB_TOL = 1e-4


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------


def _as_float64(x: Any, name: str) -> torch.Tensor:
    """`x` (a tensor or an array of reals) as a float64 tensor, never written to."""
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold real numbers; got an array of dtype {x.dtype}"
            )
        t = torch.from_numpy(np.array(x, dtype=np.float64))
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor or a numpy.ndarray; got {type(x).__name__}"
        )
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers; got dtype {t.dtype}")
    return t.detach().to(torch.float64)


def _check_probs(x: Any, name: str, ndim: int) -> torch.Tensor:
    """Rows of class probabilities along the last axis, of exactly `ndim` axes."""
    t = _as_float64(x, name)
    if t.ndim != ndim:
        shape = "[N, C]" if ndim == 2 else "[T, N, C]"
        raise ValueError(
            f"{name} must have shape {shape} ({ndim} axes); got shape {tuple(t.shape)}"
        )
    if t.shape[-1] < 2 or t.numel() == 0:
        raise ValueError(
            f"{name} needs at least 2 classes and 1 example; got shape {tuple(t.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    if bool((t < -PROB_TOL).any()) or bool(
        ((t.sum(dim=-1) - 1.0).abs() > PROB_TOL).any()
    ):
        raise ValueError(
            f"{name} must hold probabilities: non-negative rows that sum to 1 along "
            "the last axis (apply softmax to logits first)"
        )
    return t.clamp_min(0.0)


def _check_labels(y: Any, n: int, n_classes: int, device: torch.device) -> torch.Tensor:
    """Integer labels `[N]` in `{0, ..., C - 1}`, as int64 on `device`."""
    if isinstance(y, np.ndarray):
        if y.dtype.kind not in "iu":
            raise TypeError(f"y must hold integer class labels; got dtype {y.dtype}")
        t = torch.from_numpy(np.array(y, dtype=np.int64))
    elif isinstance(y, torch.Tensor):
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"y must hold integer class labels; got dtype {y.dtype}")
        t = y.detach().long()
    else:
        raise TypeError(
            "y must be a torch.Tensor or numpy.ndarray of labels; "
            f"got {type(y).__name__}"
        )
    if t.ndim != 1 or len(t) != n:
        raise ValueError(
            f"y must have shape [{n}] (one label per row of probs); "
            f"got {tuple(t.shape)}"
        )
    if bool(((t < 0) | (t >= n_classes)).any()):
        raise ValueError(f"y must hold labels in 0..{n_classes - 1}")
    return t.to(device)


# --------------------------------------------------------------------------
# entropies and the BALD decomposition
# --------------------------------------------------------------------------


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum(dim=-1)


def entropy(probs: Any) -> torch.Tensor:
    """Entropy of each row, H[p] = −Σ_c p_c log p_c.

    In nats, with 0 log 0 = 0.

    `probs` has shape `[..., C]` with at least one leading axis; returns
    float64 of shape `[...]`. Ranges from 0 (one class certain) to
    log C (uniform).
    """
    t = _as_float64(probs, "probs")
    if t.ndim not in (2, 3):
        raise ValueError(
            f"probs must have shape [N, C] or [T, N, C]; got shape {tuple(t.shape)}"
        )
    return _entropy(_check_probs(t, "probs", t.ndim))


def predictive_entropy(samples: Any) -> torch.Tensor:
    """Total uncertainty H[(1/T) Σₜ pₜ] per example, `[N]`.

    `samples[t, n, c]` holds pass `t`'s probabilities for example `n`.
    """
    s = _check_probs(samples, "samples", 3)
    return _entropy(s.mean(dim=0))


def expected_entropy(samples: Any) -> torch.Tensor:
    """Aleatoric part (1/T) Σₜ H[pₜ] per example, shape `[N]`."""
    s = _check_probs(samples, "samples", 3)
    return _entropy(s).mean(dim=0)


class Decomposition(NamedTuple):
    """`total = aleatoric + epistemic` per example (float64 tensors `[N]`, nats)."""

    total: torch.Tensor
    aleatoric: torch.Tensor
    epistemic: torch.Tensor


def decompose(samples: Any) -> Decomposition:
    """Split the predictive entropy into expected entropy and mutual information.

    In symbols, total = aleatoric + epistemic:

        H[p̄] = (1/T) Σₜ H[pₜ] + I,    I = (1/T) Σₜ KL(pₜ ‖ p̄) ≥ 0.

    The identity H[p̄] − (1/T) Σₜ H[pₜ] = (1/T) Σₜ
    KL(pₜ‖p̄) shows that I ≥ 0, with equality iff
    every pₜ = p̄. `epistemic` is computed as the mean KL
    divergence, so it is never negative through rounding, and `total` is
    `aleatoric + epistemic` to float64 precision.
    """
    s = _check_probs(samples, "samples", 3)
    mean = s.mean(dim=0)
    aleatoric = _entropy(s).mean(dim=0)
    ratio = torch.where(s > 0, s / mean.clamp_min(1e-300), torch.ones_like(s))
    kl = (torch.where(s > 0, s * torch.log(ratio), torch.zeros_like(s))).sum(dim=-1)
    epistemic = kl.mean(dim=0).clamp_min(0.0)
    return Decomposition(_entropy(mean), aleatoric, epistemic)


def mutual_information(samples: Any) -> torch.Tensor:
    """BALD score I = H[p̄] − (1/T) Σₜ H[pₜ] ≥ 0, `[N]`.

    The information a label would give about which network (mask, member)
    made the prediction: 0 when all passes agree, at most log T and
    at most log C. See `decompose`.
    """
    return decompose(samples).epistemic


# --------------------------------------------------------------------------
# proper scores and calibration
# --------------------------------------------------------------------------


def nll_from_probs(probs: Any, y: Any, *, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood −(1/N) Σₙ log p_(n, yₙ) of PROBABILITIES.

    Unlike `torch.nn.functional.nll_loss`, which takes log-probabilities,
    this takes the probabilities themselves (`nll` is its deprecated earlier
    name, kept as an alias for one release).

    Each probability is floored at ε first.

    A strictly proper score: it is minimised in expectation by the true
    conditional probabilities. `eps` caps a single certain mistake at
    −log ε instead of infinity.
    """
    p = _check_probs(probs, "probs", 2)
    t = _check_labels(y, p.shape[0], p.shape[1], p.device)
    if not (isinstance(eps, float) and 0.0 < eps < 1.0):
        raise ValueError(f"eps must be a float in (0, 1); got eps={eps!r}")
    picked = p.gather(1, t[:, None]).squeeze(1)
    return float(-torch.log(picked.clamp_min(eps)).mean())


#: Deprecated alias of `nll_from_probs`, kept for one release (no chapter uses it).
#: torch's `nll_loss` takes log-probabilities instead.
nll = nll_from_probs


def brier_score(probs: Any, y: Any) -> float:
    """Mean Brier score (1/N) Σₙ Σ_c (p_nc − [yₙ = c])².

    It lies in [0, 2] and is a strictly proper score.
    """
    p = _check_probs(probs, "probs", 2)
    t = _check_labels(y, p.shape[0], p.shape[1], p.device)
    onehot = torch.zeros_like(p).scatter_(1, t[:, None], 1.0)
    return float(((p - onehot) ** 2).sum(dim=1).mean())


class ReliabilityBins(NamedTuple):
    """Equal-width confidence bins: `edges` `[B + 1]`; per bin `counts`,
    mean `confidence` and `accuracy` (NaN for an empty bin). NumPy arrays."""

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability_bins(probs: Any, y: Any, n_bins: int = 15) -> ReliabilityBins:
    """Bin the examples by confidence ĉₙ = max_c p_nc into `n_bins`
    equal-width bins B_b = ((b−1)/B, b/B] (the first also holds 0).

    For each bin: the number of examples |B_b|, their mean confidence
    and their accuracy
    (1/|B_b|) Σ_(n ∈ B_b) [argmax_c p_nc = yₙ].
    A perfectly calibrated classifier has accuracy = confidence in every bin.
    """
    p = _check_probs(probs, "probs", 2)
    t = _check_labels(y, p.shape[0], p.shape[1], p.device)
    n_bins = check_int(n_bins, "n_bins", 1)
    conf, pred = p.max(dim=1)
    correct = (pred == t).to(torch.float64)
    # bin b holds (b/B, (b+1)/B]; ceil(c B) - 1 is that index, and 0 goes to bin 0
    idx = (torch.ceil(conf * n_bins) - 1).clamp(0, n_bins - 1).long()
    count = torch.bincount(idx, minlength=n_bins).to(torch.float64)
    sum_conf = torch.zeros(n_bins, dtype=torch.float64, device=p.device)
    sum_acc = torch.zeros_like(sum_conf)
    sum_conf.index_add_(0, idx, conf)
    sum_acc.index_add_(0, idx, correct)
    safe = count.clamp_min(1.0)
    nan = torch.full_like(count, float("nan"))
    return ReliabilityBins(
        np.linspace(0.0, 1.0, n_bins + 1),
        count.cpu().numpy().astype(np.int64),
        torch.where(count > 0, sum_conf / safe, nan).cpu().numpy(),
        torch.where(count > 0, sum_acc / safe, nan).cpu().numpy(),
    )


def expected_calibration_error(probs: Any, y: Any, n_bins: int = 15) -> float:
    """Expected calibration error, a weighted mean of the bins' gaps.

    In symbols:

        ECE = Σ_b (|B_b|/N) · |acc(B_b) − conf(B_b)|

    Uses the equal-width bins of `reliability_bins` (Guo et al. 2017 use
    15). It is 0 for perfect calibration up to sampling noise of order
    √(B / N); unlike NLL and Brier it is not a proper score (a
    classifier that always predicts the class frequencies has ECE near 0).
    """
    bins = reliability_bins(probs, y, n_bins)
    full = bins.counts > 0
    n = bins.counts.sum()
    gaps = np.abs(bins.accuracy[full] - bins.confidence[full])
    return float((bins.counts[full] / n * gaps).sum())


def auroc(scores_in: Any, scores_out: Any) -> float:
    """Area under the ROC curve: `scores_out` (positives) against `scores_in`.

    Equals P(S_out > S_in) + (1/2) P(S_out =
    S_in) for one score drawn from each set: 1 separates perfectly,
    0.5 is chance. Higher scores must mean "more likely out of distribution"
    (entropy, mutual information). Computed by
    `sklearn.metrics.roc_auc_score`.
    """
    from sklearn.metrics import roc_auc_score

    a = _as_float64(scores_in, "scores_in").cpu().numpy().ravel()
    b = _as_float64(scores_out, "scores_out").cpu().numpy().ravel()
    for name, v in (("scores_in", a), ("scores_out", b)):
        if v.size == 0:
            raise ValueError(f"{name} must hold at least one score")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite")
    labels = np.concatenate([np.zeros(a.size), np.ones(b.size)])
    return float(roc_auc_score(labels, np.concatenate([a, b])))


# --------------------------------------------------------------------------
# Monte Carlo dropout passes: one pass at a time, or all in one batched pass
# --------------------------------------------------------------------------

Output = Literal["probs", "logits"]


def _check_output(output: str) -> None:
    if output not in ("probs", "logits"):
        raise ValueError(f"output must be 'probs' or 'logits'; got output={output!r}")


def _finish(out: torch.Tensor, output: Output) -> torch.Tensor:
    return torch.softmax(out, dim=-1) if output == "probs" else out


@contextmanager
def _mc_passes(model: nn.Module, x: torch.Tensor, seed: int | None) -> Iterator[None]:
    """Only the dropout layers of `model` in training mode (`dropout_active`
    with `others="eval"`); with `seed`, the masks come from PyTorch's
    generator seeded with it inside `torch.random.fork_rng` (on `x`'s CUDA
    device too), so the caller's random state is left untouched."""
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        with dropout_active(model, others="eval"):
            yield


@torch.no_grad()
def mc_samples(
    model: nn.Module,
    x: torch.Tensor,
    k: int,
    *,
    seed: int | None = None,
    output: Output = "probs",
) -> torch.Tensor:
    """`k` stochastic passes with dropout on, one forward pass each, shape
    `[k, *model(x).shape]`.

    With `seed` given, the passes draw from PyTorch's global generator inside
    `torch.random.fork_rng` seeded with `seed`, so the result is
    reproducible and the caller's random state is left untouched. (Dropout layers
    constructed with their own `generator` draw from it instead.) Only the
    dropout layers are in training mode, as in `mc_samples_batched`, which runs
    the same passes as one batched forward pass.
    """
    check_module(model)
    check_tensor(x)
    _check_output(output)
    k = check_int(k, "k", 1)
    if seed is not None:
        seed = check_seed(seed)
    with _mc_passes(model, x, seed):
        return torch.stack([_finish(model(x), output) for _ in range(k)])


@torch.no_grad()
def mc_samples_batched(
    model: nn.Module,
    x: torch.Tensor,
    passes: int,
    *,
    seed: int | None = None,
    batch_size: int | None = None,
    output: Output = "probs",
) -> torch.Tensor:
    """`passes` Monte Carlo dropout passes as ONE batched forward pass per chunk.

    The input is tiled T times along the batch axis,
    `x.repeat(T, 1, ...)` (pass-major: rows tN, …, tN + N − 1 are
    pass t), run once with only the dropout layers in training mode and
    every other module in eval mode (`dropout_lib.nn.dropout_active` with
    `others="eval"`, so BatchNorm keeps its running statistics), under
    `torch.no_grad`, and reshaped to `[T, N, C]`. Each row gets its own
    mask, so the passes are independent exactly as in a loop of T calls
    (`mc_samples`); the batched version replaces
    T small matrix products by one large one.

    `batch_size` (examples per chunk, default: all) bounds the memory, which
    is T times that of one pass. `seed` draws the masks inside
    `torch.random.fork_rng` (the caller's generator is untouched).
    Every module's mode is restored on exit. Returns probabilities (softmax
    over the last axis) or raw `logits`.

    With T >= 2 passes that are all identical (up to float rounding,
    rtol 1e-5, atol 1e-6), it warns (RuntimeWarning):
    then no dropout ran, although the model may hold dropout. That happens
    when the model has no dropout module, and also for dropout that reads
    its OWNER's mode rather than a dropout module's: the eval fast path of
    `torch.nn.TransformerEncoderLayer`, `nn.MultiheadAttention(dropout=...)`,
    `nn.LSTM`/`nn.GRU(dropout=...)` and `F.dropout(x, training=self.training)`
    in user code. Put those owning modules in training mode instead.
    """
    check_module(model)
    check_tensor(x)
    passes = check_int(passes, "passes", 1)
    _check_output(output)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(
            f"x must hold at least one example; got shape {tuple(x.shape)}"
        )
    n = len(x)
    chunk = n if batch_size is None else check_int(batch_size, "batch_size", 1)
    if seed is not None:
        seed = check_seed(seed)
    outs = []
    with _mc_passes(model, x, seed):
        for i in range(0, n, chunk):
            xb = x[i : i + chunk]
            tiled = xb.repeat(passes, *([1] * (xb.ndim - 1)))
            out = model(tiled)
            outs.append(_finish(out.reshape(passes, len(xb), *out.shape[1:]), output))
    result = torch.cat(outs, dim=1)
    same = torch.allclose(result, result[:1].expand_as(result), rtol=1e-5, atol=1e-6)
    if passes >= 2 and same:
        warnings.warn(
            f"all {passes} MC dropout passes are identical: no dropout ran. "
            "Dropout that follows its owner's mode (TransformerEncoderLayer's "
            "fast path, MultiheadAttention/LSTM/GRU dropout=, "
            "F.dropout(training=self.training)) stays off under dropout_active; "
            "put the owning modules in train() mode",
            RuntimeWarning,
            stacklevel=2,
        )
    return result
