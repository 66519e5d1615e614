"""DropPath (stochastic depth): drop a whole residual branch, one coin per sample.

A residual block computes y = x + f(x). Stochastic depth (Huang et al. 2016)
keeps the branch f with a survival probability s and drops it otherwise, so
the sample skips the block: y = x + b·f(x) with b ~ Bernoulli(s), one b per
*sample* (shared by every feature, position and channel of that sample).

Two ways to keep the expectation right, as for element dropout:

* inverted (timm's `drop_path` with `scale_by_keep=True`): train with
  y = x + (b/s)·f(x); then E_b[y] = x + f(x) and the network is used
  unchanged at test time;
* test-time scaling (Huang et al.'s formulation): train with y = x + b·f(x)
  and evaluate with y = x + s·f(x).

Rates along the depth: Huang et al. let the *survival* probability fall
linearly, s_l = 1 − (l/L)(1 − s_L) for blocks l = 1..L; timm's
`calculate_drop_path_rates` lets the *drop* probability rise linearly,
d_i = rate·i/(D − 1) for blocks i = 0..D−1 (torch.linspace(0, rate, D)). The
expected number of blocks a sample passes through is Σ s_l.

Conventions: `p` (or a rate) is a DROP probability, `s = 1 − p` the survival
(keep) probability.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_int, check_probability, check_tensor

__all__ = [
    "DropPath",
    "drop_path",
    "expected_depth",
    "huang_survival_probs",
    "linear_drop_rates",
    "sample_keep_mask",
]


def sample_keep_mask(
    x: torch.Tensor, keep: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One Bernoulli(keep) draw per sample, shaped to broadcast over `x`.

    The mask has shape (B, 1, ..., 1) for `x` of shape (B, ...), dtype and
    device of `x`: entry b is 1 with probability `keep` and 0 otherwise.
    """
    check_tensor(x, "x")
    keep = check_probability(keep, "keep")
    if x.ndim < 1:
        raise ValueError("x must have a batch axis (at least 1-D); got a 0-D tensor")
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    u = torch.rand(shape, generator=generator, device=x.device, dtype=torch.float32)
    return (u < keep).to(x.dtype)


def drop_path(
    x: torch.Tensor,
    p: float = 0.0,
    training: bool = False,
    scale_by_keep: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Drop whole samples of a residual branch's output `x` with probability `p`.

    With s = 1 − p and one b_n ~ Bernoulli(s) per sample n:

        out_n = b_n·x_n / s   (scale_by_keep=True, inverted: E[out] = x)
        out_n = b_n·x_n       (scale_by_keep=False: E[out] = s·x)

    Returns `x` itself when not training or when p = 0, and zeros (no NaN)
    when p = 1. `x` is never modified in place. `generator` must live on
    `x`'s device.
    """
    check_tensor(x, "x")
    p = check_probability(p, "p")
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    if keep == 0.0:
        return x * 0.0
    mask = sample_keep_mask(x, keep, generator)
    if scale_by_keep:
        mask = mask / keep
    return x * mask


class DropPath(nn.Module):
    """`drop_path` as a module: active in `train()` mode, the identity in `eval()`.

    `p` is the drop probability of the whole branch, per sample. With
    `scale_by_keep=False` the module implements Huang et al.'s test-time
    scaling instead: training multiplies by b ~ Bernoulli(1 − p), and eval
    mode multiplies by the survival probability 1 − p.
    """

    def __init__(self, p: float = 0.0, scale_by_keep: bool = True) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        self.scale_by_keep = bool(scale_by_keep)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return drop_path(x, self.p, True, self.scale_by_keep, self.generator)
        if self.scale_by_keep:
            return x
        return x * (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, scale_by_keep={self.scale_by_keep}"


def linear_drop_rates(rate: float, depth: int) -> list[float]:
    """timm's stochastic-depth decay rule: drop rates rising linearly with depth.

    d_i = rate·i/(D − 1) for blocks i = 0..D−1, i.e. torch.linspace(0, rate, D):
    the first block is never dropped, the last is dropped with probability
    `rate`. For D = 1 the single block gets d_0 = 0 (as linspace gives).
    """
    rate = check_probability(rate, "rate")
    depth = check_int(depth, "depth", 1)
    return [float(v) for v in torch.linspace(0.0, rate, depth, dtype=torch.float64)]


def huang_survival_probs(p_last: float, n_blocks: int) -> list[float]:
    """Huang et al.'s linear decay rule of SURVIVAL probabilities.

    s_l = 1 − (l/L)(1 − s_L) for blocks l = 1..L, where `p_last` = s_L is the
    survival probability of the last block (Huang et al. use 0.5); the input
    (l = 0) is always kept. Note the first block is dropped with probability
    (1 − s_L)/L > 0, unlike timm's rule.
    """
    p_last = check_probability(p_last, "p_last")
    n_blocks = check_int(n_blocks, "n_blocks", 1)
    return [1.0 - (ell / n_blocks) * (1.0 - p_last) for ell in range(1, n_blocks + 1)]


def expected_depth(survival: list[float] | tuple[float, ...]) -> float:
    """Expected number of residual branches a sample passes through: Σ_l s_l.

    Each branch l survives with probability s_l, so the count is a sum of
    Bernoulli(s_l) variables with mean Σ_l s_l. For Huang's rule this is
    L − (1 − s_L)(L + 1)/2, which is (3L − 1)/4 at s_L = 1/2; for timm's rule
    with drop rate r it is D(1 − r/2).
    """
    vals = [check_probability(s, "survival[i]") for s in survival]
    if not vals:
        raise ValueError("survival must hold at least one probability")
    return float(sum(vals))
