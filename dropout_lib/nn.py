"""Dropout layers for PyTorch, written from the definition (not wrappers of ``torch.nn.Dropout``).

Both layers honour ``module.train()`` / ``module.eval()`` through ``self.training``,
build their mask on the input's device, and keep the input's dtype.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_probability

__all__ = ["Dropout", "ClassicDropout", "Dropout2d", "channel_keep_mask", "keep_mask"]


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
        mask = self._mask(x, keep)
        scale = 1.0 / keep if keep > 0 else 0.0
        return torch.where(mask, x * scale, torch.zeros((), dtype=x.dtype, device=x.device))

    def _mask(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """The keep mask, broadcastable to ``x``: one coin per element."""
        return keep_mask(x, keep, self.generator)

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


def channel_keep_mask(
    x: torch.Tensor, keep_prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A bool mask of shape ``(N, C, 1, ..., 1)`` for an input ``x`` of shape ``(N, C, *spatial)``.

    One draw :math:`[u_{nc} < q]`, :math:`u_{nc} \\sim U[0, 1)`, per sample and
    channel; broadcasting it over the spatial axes keeps or drops a whole feature
    map at once. This is Keras's ``noise_shape=(N, C, 1, 1)`` for channels-first
    data. Made on ``x.device``.
    """
    if x.ndim < 3:
        raise ValueError(
            f"x must have shape (N, C, *spatial) with at least one spatial axis; got shape {tuple(x.shape)}"
        )
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    return torch.rand(shape, device=x.device, generator=generator) < keep_prob


class Dropout2d(Dropout):
    """Channel-wise ("spatial") inverted dropout for feature maps (Tompson et al. 2015).

    For an input :math:`h` of shape ``(N, C, H, W)``, training mode computes
    :math:`h'_{nchw} = m_{nc}\\, h_{nchw} / q` with one mask entry
    :math:`m_{nc} \\sim \\mathrm{Bernoulli}(q)`, :math:`q = 1 - p`, per sample and
    channel, shared by all :math:`H W` positions of that feature map. Each entry
    keeps the moments of element-wise dropout, :math:`\\mathbb{E}[h'] = h` and
    :math:`\\operatorname{Var}[h'] = h^2 p / q`, but two positions of one map are
    now dropped together: :math:`\\operatorname{Cov}[h'_{nchw}, h'_{nch'w'}] = h_{nchw} h_{nch'w'} p/q`.
    Eval mode is the identity; ``p == 1`` gives exact zeros. Any input with at
    least one spatial axis is accepted (``(N, C, L)`` and ``(N, C, D, H, W)`` too).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 3:
            raise ValueError(
                f"Dropout2d expects x of shape (N, C, *spatial); got shape {tuple(x.shape)}"
            )
        return super().forward(x)

    def _mask(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """One coin per (sample, channel), broadcast over the spatial positions."""
        return channel_keep_mask(x, keep, self.generator)
