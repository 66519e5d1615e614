"""Dropout whose backward regenerates the mask from a seed instead of storing it.

Forward draws m ~ Bernoulli(q) from a torch.Generator seeded with `seed` on
x's device and returns x·m/q. Backward re-seeds a fresh generator with the
same seed, draws the same m again and returns g·m/q. Only the seed (an int)
is saved for backward, not a mask of n bytes. On CPU torch's generator is
mt19937, so re-seeding replays the stream; on CUDA it is Philox, a
counter-based generator indexed by (seed, offset), which is why a GPU kernel
can regenerate any element's bits without replaying the ones before it.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["MaskedDropout", "SeededDropout", "saved_bytes", "seeded_mask"]


def seeded_mask(
    shape: torch.Size | tuple[int, ...], p: float, seed: int, device: torch.device
) -> torch.Tensor:
    """Bool keep mask, P(keep) = 1 − p, a pure function of (shape, p, seed, device)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return torch.rand(shape, generator=gen, device=device) >= p


def _scale(p: float) -> float:
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)


class SeededDropout(torch.autograd.Function):
    """y = x·m/q with m regenerated from the seed in backward; saves no tensor."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
        ctx.p, ctx.seed, ctx.shape, ctx.device = p, seed, x.shape, x.device
        mask = seeded_mask(x.shape, p, seed, x.device)
        return x * mask * _scale(p)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        mask = seeded_mask(ctx.shape, ctx.p, ctx.seed, ctx.device)
        return grad * mask * _scale(ctx.p), None, None


class MaskedDropout(torch.autograd.Function):
    """y = x·m/q for a given bool mask m; saves the mask (1 byte per element)."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, mask: torch.Tensor, p: float
    ) -> torch.Tensor:
        ctx.save_for_backward(mask)
        ctx.p = p
        return x * mask * _scale(p)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (mask,) = ctx.saved_tensors
        return grad * mask * _scale(ctx.p), None, None


def saved_bytes(fn: Any, *args: Any) -> int:
    """Bytes of the tensors autograd saves while running fn(*args).

    Counted with torch.autograd.graph.saved_tensors_hooks (each pack call adds
    numel · element_size).
    """
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*args)
    return total
