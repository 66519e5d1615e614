"""R-Drop: make two dropout passes of the same input agree.

R-Drop (Liang et al. 2021) runs each training example through the network
twice; the two passes draw different dropout masks and so give two output
distributions P₁ and P₂. The loss adds to both passes' cross-entropy the
symmetric Kullback-Leibler divergence between them:

    L = ½[CE(P₁, y) + CE(P₂, y)] + α·½[KL(P₁‖P₂) + KL(P₂‖P₁)],

with KL(P‖Q) = Σ_c P_c (log P_c − log Q_c), averaged over the batch. (The
paper sums the two cross-entropies; averaging them only rescales the learning
rate.) The KL term is 0 exactly when the two passes agree, and it pulls the
sub-networks that dropout samples towards one function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .validation import check_module, check_tensor

__all__ = ["rdrop_loss", "symmetric_kl"]


def symmetric_kl(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """½[KL(P_a‖P_b) + KL(P_b‖P_a)] averaged over rows, P = softmax(logits).

    `logits_a` and `logits_b` have the same shape (N, C) (or (..., C): all
    leading axes are averaged). Computed from log-softmax values, so it is
    finite for any finite logits; the result is a 0-d tensor ≥ 0.
    """
    check_tensor(logits_a, "logits_a")
    check_tensor(logits_b, "logits_b")
    if logits_a.shape != logits_b.shape:
        raise ValueError(
            "logits_a and logits_b must have the same shape; got "
            f"{tuple(logits_a.shape)} and {tuple(logits_b.shape)}"
        )
    la = F.log_softmax(logits_a, dim=-1)
    lb = F.log_softmax(logits_b, dim=-1)
    kl_ab = (la.exp() * (la - lb)).sum(-1)
    kl_ba = (lb.exp() * (lb - la)).sum(-1)
    return 0.5 * (kl_ab + kl_ba).mean()


def rdrop_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """The R-Drop loss of `model` on a batch: two passes, CE plus α·symmetric KL.

    L = ½[CE(f₁(x), y) + CE(f₂(x), y)] + α·symmetric_kl(f₁(x), f₂(x)), where
    f₁ and f₂ are two forward passes (two dropout masks when `model` is in
    training mode). `alpha` must be ≥ 0.
    """
    check_module(model)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool):
        raise TypeError(f"alpha must be a real number >= 0; got {alpha!r}")
    if not alpha >= 0.0:
        raise ValueError(f"alpha must be a real number >= 0; got alpha={alpha!r}")
    a, b = model(x), model(x)
    ce = 0.5 * (F.cross_entropy(a, y) + F.cross_entropy(b, y))
    return ce + alpha * symmetric_kl(a, b)
