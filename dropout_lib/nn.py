"""Dropout layers for PyTorch, written from the definition (not wrappers of ``torch.nn.Dropout``).

Both layers honour ``module.train()`` / ``module.eval()`` through ``self.training``,
build their mask on the input's device, and keep the input's dtype.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_probability

__all__ = ["Dropout", "ClassicDropout", "keep_mask"]


def keep_mask(x: torch.Tensor, keep_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A bool tensor shaped like ``x``, on ``x.device``, with :math:`P(\\text{True}) = q` (``keep_prob``).

    Drawn as :math:`[u < q]`, :math:`u \\sim U[0, 1)`, so :math:`q = 0` and
    :math:`q = 1` are exact.
    """
    return torch.rand(x.shape, device=x.device, generator=generator) < keep_prob


class Dropout(nn.Module):
    """Inverted dropout: in training :math:`h' = m \\odot h / (1 - p)`, in eval the identity.

    Gradient: :math:`\\partial h'_i / \\partial h_i = m_i / (1 - p)`, which autograd
    derives from the ``torch.where`` below. ``p == 1`` outputs exact zeros
    (and zero gradients), even for infinite inputs.
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = keep_mask(x, keep, self.generator)
        scale = 1.0 / keep if keep > 0 else 0.0
        return torch.where(mask, x * scale, torch.zeros((), dtype=x.dtype, device=x.device))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ClassicDropout(nn.Module):
    """Classic dropout: training :math:`h' = m \\odot h`; eval :math:`h' = (1 - p) h`.

    The eval-mode scaling is the "weight scaling inference rule" of Hinton et
    al. (2012), applied to the activations instead of the next layer's weights.
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = check_probability(p, "p")
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = 1.0 - self.p
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        if not self.training:
            return x * keep if keep > 0 else torch.where(torch.zeros_like(x, dtype=torch.bool), x, zero)
        if self.p == 0.0:
            return x
        return torch.where(keep_mask(x, keep, self.generator), x, zero)

    def extra_repr(self) -> str:
        return f"p={self.p}"
