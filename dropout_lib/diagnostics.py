"""Measurements for dropout in convolutional networks: correlated feature maps
and BatchNorm's variance shift.

* `neighbour_correlation`: how alike two neighbouring positions of a feature
  map are, which is why element-wise dropout barely removes information from a
  conv layer.
* `fill_from_neighbours`: the guess a next layer could make about a dropped
  entry from its kept neighbours.
* `variance_shift` and `conv_variance_shift`: the variance a dropout layer adds
  in training, which a later BatchNorm layer learns and then misses at
  inference (Li et al. 2019).
* `conv_variance_terms`: a convolution's output variance split into the
  per-input terms and the covariances between inputs (why the shift shrinks
  there).
* `bn_input_variance`: the variance of every BatchNorm layer's input, measured
  in training and in inference mode, next to the running variance BN uses at
  inference.
* `recalibrate_bn`: a copy of a network whose BN statistics are re-estimated
  with dropout off.
* `layer_output`: the output of one sub-module, captured with a forward hook.

Notation: `p` is the drop probability, q = 1 − p the keep probability.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .nn import preserve_modes
from .validation import (
    check_int,
    check_module,
    check_probability,
    check_real_array,
    check_tensor,
)

__all__ = [
    "BNVariance",
    "ConvVarianceTerms",
    "bn_input_variance",
    "conv_variance_shift",
    "conv_variance_terms",
    "fill_from_neighbours",
    "layer_output",
    "neighbour_correlation",
    "recalibrate_bn",
    "variance_shift",
]

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _check_batch_size(batch_size: Any) -> int:
    return check_int(batch_size, "batch_size", 2)


def neighbour_correlation(maps: Any, offset: int = 1) -> np.ndarray:
    """Per-channel Pearson correlation between positions `offset` pixels apart
    in a feature map.

    For maps h of shape `(N, C, H, W)` and a channel c, collect every pair
    (h_(n c i j), h_(n c i, j+d)) (horizontal neighbours) and
    (h_(n c i j), h_(n c, i+d, j)) (vertical neighbours), d = `offset`, over all
    samples n and positions, and return their sample correlation (a, b running over
    the pairs):

        ρ_c = Σ (a − ā)(b − b̄) / √( Σ (a − ā)² · Σ (b − b̄)² ).

    A channel that is constant over those pairs (a dead ReLU unit) has no
    correlation: its entry is NaN, so average with `numpy.nanmean`. `maps` (a tensor
    or array) is not modified.
    """
    offset = check_int(offset, "offset", 1)
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().cpu().numpy()
    arr = check_real_array(maps, "maps").astype(np.float64)
    if arr.ndim != 4:
        raise ValueError(f"maps must have shape (N, C, H, W); got shape {arr.shape}")
    n, c, h, w = arr.shape
    if offset >= max(h, w):
        raise ValueError(f"offset={offset} leaves no pairs in {h}x{w} maps")
    firsts, seconds = [], []
    if offset < w:
        firsts.append(arr[:, :, :, :-offset].transpose(1, 0, 2, 3).reshape(c, -1))
        seconds.append(arr[:, :, :, offset:].transpose(1, 0, 2, 3).reshape(c, -1))
    if offset < h:
        firsts.append(arr[:, :, :-offset, :].transpose(1, 0, 2, 3).reshape(c, -1))
        seconds.append(arr[:, :, offset:, :].transpose(1, 0, 2, 3).reshape(c, -1))
    a = np.concatenate(firsts, axis=1)
    b = np.concatenate(seconds, axis=1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = (a * b).sum(axis=1)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    out = np.full(c, np.nan)
    ok = den > 1e-12 * max(1.0, float(np.abs(num).max(initial=0.0)))
    out[ok] = num[ok] / den[ok]
    return out


def fill_from_neighbours(maps: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Replace every dropped entry of `maps` by the mean of its kept
    4-neighbours in the same map.

    `maps` has shape `(N, C, H, W)` and `keep` is a bool tensor that broadcasts
    to it (`True` = kept). Kept entries are returned unchanged; a dropped entry
    with no kept neighbour (up, down, left, right) becomes 0. This is the
    simplest guess a next layer could make about a dropped activation from the
    ones around it: when neighbours are strongly correlated the guess is good,
    which is why element-wise dropout removes little information from a feature
    map, while a dropped whole channel (`keep` of shape `(N, C, 1, 1)`) leaves
    no neighbour to guess from. Inputs are not modified.
    """
    maps = check_tensor(maps, "maps")
    keep = check_tensor(keep, "keep")
    if maps.ndim != 4:
        raise ValueError(f"maps must have shape (N, C, H, W); got {tuple(maps.shape)}")
    if keep.dtype != torch.bool:
        raise TypeError(f"keep must be a bool tensor; got dtype {keep.dtype}")
    try:
        k = torch.broadcast_to(keep, maps.shape).to(maps.dtype)
    except RuntimeError as exc:
        raise ValueError(
            f"keep of shape {tuple(keep.shape)} does not broadcast to maps "
            f"{tuple(maps.shape)}"
        ) from exc
    kernel = torch.tensor(
        [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
        dtype=maps.dtype,
        device=maps.device,
    )
    kernel = kernel.expand(maps.shape[1], 1, 3, 3)
    with torch.no_grad():
        total = F.conv2d(maps * k, kernel, padding=1, groups=maps.shape[1])
        count = F.conv2d(k, kernel, padding=1, groups=maps.shape[1])
        guess = torch.where(
            count > 0,
            total / count.clamp_min(1),
            torch.zeros((), dtype=maps.dtype, device=maps.device),
        )
    return torch.where(k.bool(), maps, guess)


def variance_shift(mean: Any, var: Any, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Variance of an inverted-dropout output in training and at inference.

    Let the activation x have mean c and variance v (over the data) and X = a x / q
    with an independent mask a ~ Bernoulli(q). Then E[X] = c and
    E[X²] = E[a²] E[x²] / q² = (c² + v)/q, so:

        Var_train[X] = (c² + v)/q − c²,    Var_test[X] = v,

    because dropout is the identity at inference. The difference (c² + v) p/q is
    never negative. Returns `(var_train, var_test)` as float64 arrays broadcast
    from `mean` and `var`; `p` must be below 1.
    """
    p = check_probability(p, "p", below_one=True)
    c = check_real_array(mean, "mean").astype(np.float64)
    v = check_real_array(var, "var").astype(np.float64)
    if np.any(v < 0):
        raise ValueError("var must be non-negative")
    c, v = np.broadcast_arrays(c, v)
    q = 1.0 - p
    return (c**2 + v) / q - c**2, v.copy()


def conv_variance_shift(
    x: torch.Tensor, weight: torch.Tensor, p: float, padding: int = 0
) -> np.ndarray:
    """Extra variance, per output channel, that element-wise dropout on `x`
    adds after a convolution.

    For y = w * dropout(x) (one output position is y = Σᵢ wᵢ aᵢ xᵢ / q + b),
    independent masks give Varₐ[y | x] = (p/q) Σᵢ wᵢ² xᵢ², and by the law of total
    variance, over samples, positions and masks:

        Var_train[y] − Var_test[y] = (p/q) · mean(w² * x²),

    where mean(w² * x²) is the mean over samples and positions of the convolution of
    x² with the squared kernel. This holds whatever the correlations between the
    entries of `x`. `x` has shape `(N, C_in, H, W)` and `weight`
    `(C_out, C_in, k, k)` (stride 1); returns shape `(C_out,)`.
    """
    p = check_probability(p, "p", below_one=True)
    x = check_tensor(x, "x")
    weight = check_tensor(weight, "weight")
    if x.ndim != 4 or weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            "x must be (N, C_in, H, W) and weight (C_out, C_in, k, k); got "
            f"{tuple(x.shape)} and {tuple(weight.shape)}"
        )
    with torch.no_grad():
        second = F.conv2d(x.double() ** 2, weight.double() ** 2, padding=padding)
    return (p / (1.0 - p)) * second.mean(dim=(0, 2, 3)).cpu().numpy()


class ConvVarianceTerms(NamedTuple):
    """Per output channel of a convolution (float64 arrays of shape `(C_out,)`).

    `total`: Var[y] = wᵀ Σ w; `own`: the per-input terms Σᵢ wᵢ² Σᵢᵢ; `cross`:
    the covariance terms Σ_(i ≠ j) wᵢ wⱼ Σᵢⱼ (so `total = own + cross`);
    `shift`: the extra training-time variance of element-wise dropout on the
    input, (p/q) Σᵢ wᵢ² E[xᵢ²].
    """

    total: np.ndarray
    own: np.ndarray
    cross: np.ndarray
    shift: np.ndarray


def conv_variance_terms(
    x: torch.Tensor, weight: torch.Tensor, p: float, padding: int = 0
) -> ConvVarianceTerms:
    """Split the inference-time variance of `y = conv(x, weight)` into own and
    cross terms.

    One output position is y = Σᵢ wᵢ xᵢ over the K = C_in k² inputs of its
    receptive field. With Σ the covariance matrix of those inputs over samples
    and positions (from `unfold`):

        Var[y] = own + cross,    own = Σᵢ wᵢ² Σᵢᵢ,    cross = Σ_(i ≠ j) wᵢ wⱼ Σᵢⱼ,

    while element-wise dropout (independent masks) adds only (p/q) Σᵢ wᵢ² E[xᵢ²]
    in training (see `conv_variance_shift`). The train/test variance ratio is
    1 + shift/(own + cross): positive covariances between inputs enlarge the
    denominator and so shrink the ratio; with uncorrelated inputs it would be
    1 + shift/own. `x` is `(N, C_in, H, W)`, `weight` `(C_out, C_in, k, k)`,
    stride 1; computed in float64.
    """
    p = check_probability(p, "p", below_one=True)
    x = check_tensor(x, "x", ndim=4)
    weight = check_tensor(weight, "weight", ndim=4)
    padding = check_int(padding, "padding", 0)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight has {weight.shape[1]} input channels, x has {x.shape[1]}"
        )
    k = (int(weight.shape[2]), int(weight.shape[3]))
    with torch.no_grad():
        cols = F.unfold(x.double(), k, padding=padding)  # (N, K, L)
        cols = cols.transpose(1, 2).reshape(-1, cols.shape[1])  # (N L, K)
        mean = cols.mean(dim=0)
        centred = cols - mean
        cov = centred.T @ centred / cols.shape[0]  # population covariance
        w = weight.detach().double().reshape(weight.shape[0], -1).to(cov.device)
        total = ((w @ cov) * w).sum(dim=1)
        own = (w * w * torch.diagonal(cov)).sum(dim=1)
        second = torch.diagonal(cov) + mean * mean
        shift = (p / (1.0 - p)) * (w * w * second).sum(dim=1)
    return ConvVarianceTerms(
        total.cpu().numpy(),
        own.cpu().numpy(),
        (total - own).cpu().numpy(),
        shift.cpu().numpy(),
    )


@torch.no_grad()
def layer_output(
    model: nn.Module, module: nn.Module, x: torch.Tensor, *, training: bool = False
) -> torch.Tensor:
    """The output of `module` (a sub-module of `model`) when `model(x)` runs.

    Runs in eval mode unless `training=True`; the model's mode is restored
    afterwards and nothing else about it changes (in training mode BN's running
    statistics would move, so that pass runs on a copy).
    """
    model = check_module(model)
    x = check_tensor(x)
    if not any(m is module for m in model.modules()):
        raise ValueError("module must be a sub-module of model")
    target = model
    if training:
        idx = [i for i, m in enumerate(model.modules()) if m is module][0]
        target = copy.deepcopy(model)
        module = list(target.modules())[idx]
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(
        lambda mod, inp, out: captured.append(out.detach().clone())
    )
    device = next(iter(target.parameters()), torch.empty(0)).device
    try:
        with preserve_modes(target):
            target.train(training)
            target(x.to(device))
    finally:
        handle.remove()
    return captured[0]


class BNVariance(NamedTuple):
    """Per-channel statistics of one BatchNorm layer's input (float64 arrays of
    shape `(C,)`).

    `train_var`: variance of the input with the network in training mode
    (dropout on); `eval_var`: the same in inference mode (dropout off);
    `running_var`: the estimate BN divides by at inference. `train_mean` and
    `eval_mean` are the matching means.
    """

    name: str
    train_mean: np.ndarray
    train_var: np.ndarray
    eval_mean: np.ndarray
    eval_var: np.ndarray
    running_var: np.ndarray


class _Moments:
    """Running per-channel sums for a mean and a (population) variance, in float64."""

    def __init__(self) -> None:
        self.n = 0
        self.s1: torch.Tensor | None = None
        self.s2: torch.Tensor | None = None

    def add(self, t: torch.Tensor) -> None:
        t = t.detach().double().transpose(0, 1).reshape(t.shape[1], -1)
        s1, s2 = t.sum(dim=1), (t * t).sum(dim=1)
        self.s1 = s1 if self.s1 is None else self.s1 + s1
        self.s2 = s2 if self.s2 is None else self.s2 + s2
        self.n += t.shape[1]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.s1 is None or self.s2 is None:
            raise ValueError("no batch was seen: x must hold at least one sample")
        mean = self.s1 / self.n
        var = (self.s2 / self.n - mean * mean).clamp_min(0)
        return mean.cpu().numpy(), var.cpu().numpy()


def _bn_layers(model: nn.Module) -> list[tuple[str, Any]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, _BN_TYPES)]


@torch.no_grad()
def _moments_of_bn_inputs(
    model: nn.Module, x: torch.Tensor, batch_size: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    layers = _bn_layers(model)
    acc = [_Moments() for _ in layers]
    handles = [
        m.register_forward_hook(lambda mod, inp, out, a=a: a.add(inp[0]))
        for (_, m), a in zip(layers, acc, strict=True)
    ]
    device = next(model.parameters()).device
    try:
        for i in range(0, len(x), batch_size):
            model(x[i : i + batch_size].to(device))
    finally:
        for h in handles:
            h.remove()
    return [a.result() for a in acc]


def bn_input_variance(
    model: nn.Module, x: torch.Tensor, batch_size: int = 256
) -> list[BNVariance]:
    """Mean and variance of every BatchNorm layer's input, in training and in
    inference mode.

    The statistics are taken per channel over samples and positions of `x`, fed
    in batches of `batch_size`. In training mode dropout draws masks from
    torch's global generator and BN normalises with batch statistics, exactly as
    during training. The passes run on a deep copy, so `model` (its mode and its
    running statistics) is left as it was. Li et al. (2019) call the gap between
    `train_var` (which `running_var` has tracked) and `eval_var` the variance
    shift.
    """
    model = check_module(model)
    x = check_tensor(x)
    batch_size = _check_batch_size(batch_size)
    layers = _bn_layers(model)
    if not layers:
        raise ValueError("model has no BatchNorm layer")
    work = copy.deepcopy(model)
    work.train()
    train_stats = _moments_of_bn_inputs(work, x, batch_size)
    work = copy.deepcopy(model)
    work.eval()
    eval_stats = _moments_of_bn_inputs(work, x, batch_size)
    out = []
    for (name, bn), (tm, tv), (em, ev) in zip(
        layers, train_stats, eval_stats, strict=True
    ):
        running = (
            bn.running_var.detach().double().cpu().numpy().copy()
            if bn.running_var is not None
            else np.full_like(ev, np.nan)
        )
        out.append(BNVariance(name, tm, tv, em, ev, running))
    return out


def recalibrate_bn(
    model: nn.Module, x: torch.Tensor, batch_size: int = 256
) -> nn.Module:
    """A copy of `model` whose BatchNorm running statistics are re-estimated
    with dropout off.

    Every dropout layer stays in eval mode (the identity) while each BN layer,
    in training mode with `momentum=None`, re-accumulates the cumulative average
    of its batch means and (unbiased) batch variances over `x`. The result is in
    eval mode; its weights are those of `model`, which is not changed. This
    removes the variance shift of dropout placed before BN: the statistics now
    describe the inputs BN actually sees at inference.
    """
    model = check_module(model)
    x = check_tensor(x)
    batch_size = _check_batch_size(batch_size)
    new = copy.deepcopy(model)
    new.eval()
    layers = _bn_layers(new)
    if not layers:
        raise ValueError("model has no BatchNorm layer")
    momenta = []
    for _, bn in layers:
        if not bn.track_running_stats:
            raise ValueError("every BatchNorm layer must track running statistics")
        momenta.append(bn.momentum)
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    device = next(new.parameters()).device
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            if len(xb) < 2:
                break
            new(xb.to(device))
    for (_, bn), m in zip(layers, momenta, strict=True):
        bn.momentum = m
    new.eval()
    return new
