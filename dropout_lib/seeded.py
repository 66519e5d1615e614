"""Dropout whose backward regenerates the mask from a seed instead of storing it.

Forward draws m ~ Bernoulli(q) from a torch.Generator seeded with `seed` on
x's device and returns x·m/q. Backward re-seeds a fresh generator with the
same seed, draws the same m again and returns g·m/q. Only the seed (an int)
is saved for backward, not a mask of n bytes. On CPU torch's generator is
mt19937, so re-seeding replays the stream; on CUDA it is Philox, a
counter-based generator indexed by (seed, offset), which is why a GPU kernel
can regenerate any element's bits without replaying the ones before it.

Between the two, `PackedDropout` saves the mask as bits: `pack_bits` packs a
bool tensor into uint8 with torch shifts and ors, element 8k + j going to bit
7 − j of byte k (most significant bit first, the order of numpy.packbits), so
n elements take ceil(n/8) bytes; `unpack_bits` inverts it exactly.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "MaskedDropout",
    "PackedDropout",
    "SeededDropout",
    "pack_bits",
    "saved_bytes",
    "seeded_mask",
    "unpack_bits",
]


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


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Pack a bool tensor into a flat uint8 tensor of ceil(n/8) bytes.

    With the mask flattened to m_0 … m_(n−1) and padded with zeros to a
    multiple of 8, byte k = OR over j = 0 … 7 of (m_(8k+j) << (7 − j)):
    most significant bit first, as numpy.packbits does. Only torch shifts and
    ors are used, on the mask's own device.
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool torch.Tensor")
    flat = mask.reshape(-1)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    bits = flat.view(-1, 8).to(torch.uint8)
    packed = torch.zeros(bits.shape[0], dtype=torch.uint8, device=mask.device)
    for j in range(8):
        packed |= bits[:, j] << (7 - j)
    return packed


def unpack_bits(
    packed: torch.Tensor, shape: torch.Size | tuple[int, ...]
) -> torch.Tensor:
    """Inverse of `pack_bits`: the bool tensor of the given shape.

    Bit j of byte k (counted from the most significant) is element 8k + j;
    the padding bits after element n − 1 are dropped.
    """
    n = 1
    for d in shape:
        n *= int(d)
    if (
        not isinstance(packed, torch.Tensor)
        or packed.dtype != torch.uint8
        or packed.dim() != 1
        or packed.numel() != (n + 7) // 8
    ):
        raise ValueError(
            f"packed must be a flat uint8 tensor of {(n + 7) // 8} bytes for shape "
            f"{tuple(shape)}"
        )
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=packed.device)
    bits = (packed.unsqueeze(1) >> shifts) & 1
    return bits.reshape(-1)[:n].to(torch.bool).reshape(shape)


class PackedDropout(torch.autograd.Function):
    """y = x·m/q for a given bool mask m; saves m packed to bits (n/8 bytes).

    Backward unpacks the mask and returns g·m/q with the same scale factor as
    the forward pass, so the gradient equals MaskedDropout's bit for bit.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, mask: torch.Tensor, p: float
    ) -> torch.Tensor:
        ctx.save_for_backward(pack_bits(mask))
        ctx.p, ctx.shape = p, mask.shape
        return x * mask * _scale(p)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (packed,) = ctx.saved_tensors
        mask = unpack_bits(packed, ctx.shape)
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
