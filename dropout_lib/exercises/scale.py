"""Checkers for chapter 9's exercises (dropout at scale).

`check_pack_roundtrip(pack, unpack)`: pack(mask) -> uint8 array of ceil(n/8)
bytes and unpack(packed, shape) -> the same bool mask, for odd sizes too.
`check_rank_seeds(derive)`: derive(base_seed, rank) -> int gives distinct
seeds across ranks, no seed shared between two base seeds over 4096 ranks, and
is deterministic.
`check_torch_pack(pack, unpack)`: the same round trip for torch tensors with
torch bit operations: pack(mask) -> flat uint8 tensor of ceil(n/8) bytes in
numpy.packbits order (element 8k + j in bit 7 − j of byte k), unpack(packed,
shape) -> the same bool tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from dropout_lib.exercises._checking import call_learner, require, require_callable

__all__ = ["check_pack_roundtrip", "check_rank_seeds", "check_torch_pack"]


def check_pack_roundtrip(
    pack: Callable[[np.ndarray], np.ndarray],
    unpack: Callable[[np.ndarray, tuple[int, ...]], np.ndarray],
) -> bool:
    """Check that unpack(pack(m), m.shape) == m and pack uses ceil(n/8) bytes."""
    require_callable(pack, "pack", "(mask) -> packed")
    require_callable(unpack, "unpack", "(packed, shape) -> mask")
    rng = np.random.default_rng(123)
    for shape in [(1,), (7,), (8,), (13, 5), (3, 4, 9)]:
        mask = rng.random(shape) < 0.5
        packed = np.asarray(call_learner(pack, mask, what="pack(mask)"))
        n = mask.size
        require(
            packed.nbytes == (n + 7) // 8,
            f"pack used {packed.nbytes} bytes for {n} elements",
            "one bit per element: ceil(n/8) bytes (np.packbits)",
        )
        back = np.asarray(
            call_learner(unpack, packed, shape, what="unpack(packed, shape)")
        )
        require(
            back.shape == shape and back.dtype == np.bool_,
            f"unpack returned shape {back.shape}, dtype {back.dtype}",
            "reshape to the original shape and return bool",
        )
        require(
            bool(np.array_equal(back, mask)),
            f"round trip changed the mask of shape {shape}",
            "unpackbits pads to a multiple of 8: pass count=n",
        )
    return True


#: ranks over which two neighbouring base seeds must not share a rank seed
_OVERLAP_RANKS = 4096


def check_rank_seeds(derive: Callable[[int, int], int]) -> bool:
    """Check per-rank seeds: distinct over ranks, vary with base, deterministic.

    For bases 0, 1 and 1234 the seeds of ranks 0 … 63 must be distinct and the
    same on a second call; bases (0, 1) and (1234, 1235) must share no seed over
    ranks 0 … 4095, which rejects base + rank and base · K + rank for K ≤ 4096.
    """
    require_callable(derive, "derive", "(base_seed, rank) -> int")
    for base in (0, 1, 1234):
        seeds = [
            int(call_learner(derive, base, r, what="derive(base, rank)"))
            for r in range(64)
        ]
        require(
            len(set(seeds)) == 64,
            f"base seed {base}: ranks share a seed",
            "mix the rank into the seed (e.g. numpy SeedSequence(base).spawn)",
        )
        again = [
            int(call_learner(derive, base, r, what="derive(base, rank)"))
            for r in range(64)
        ]
        require(seeds == again, "derive is not deterministic", "no global RNG")
    for base_a, base_b in ((0, 1), (1234, 1235)):
        a = {
            int(call_learner(derive, base_a, r, what="derive(base, rank)"))
            for r in range(_OVERLAP_RANKS)
        }
        b = {
            int(call_learner(derive, base_b, r, what="derive(base, rank)"))
            for r in range(_OVERLAP_RANKS)
        }
        require(
            not (a & b),
            f"base seeds {base_a} and {base_b} give overlapping rank seeds "
            f"(ranks 0 to {_OVERLAP_RANKS - 1})",
            "base + rank collides (base 0 rank 1 equals base 1 rank 0), and so does "
            "base * K + rank once rank reaches K: hash the pair (SeedSequence)",
        )
    return True


def check_torch_pack(
    pack: Callable[[torch.Tensor], torch.Tensor],
    unpack: Callable[[torch.Tensor, tuple[int, ...]], torch.Tensor],
) -> bool:
    """Check a torch pack/unpack pair: layout of numpy.packbits, exact round trip.

    For masks of 1, 7, 8, 13·5 and 3·4·9 elements: pack returns a flat uint8
    tensor of ceil(n/8) bytes equal to numpy.packbits of the flattened mask
    (most significant bit first, zero padding), and unpack restores the mask's
    shape, dtype bool and every element.
    """
    require_callable(pack, "pack", "(mask) -> packed uint8 tensor")
    require_callable(unpack, "unpack", "(packed, shape) -> bool tensor")
    gen = torch.Generator().manual_seed(321)
    for shape in [(1,), (7,), (8,), (13, 5), (3, 4, 9)]:
        mask = torch.rand(shape, generator=gen) < 0.5
        n = mask.numel()
        packed = call_learner(pack, mask.clone(), what=f"pack(mask of shape {shape})")
        require(
            isinstance(packed, torch.Tensor) and packed.dtype == torch.uint8,
            f"pack returned {type(packed).__name__} "
            f"{getattr(packed, 'dtype', '')}, not a uint8 tensor",
            "build the bytes with .to(torch.uint8), shifts (<<) and ors (|)",
        )
        require(
            packed.numel() == (n + 7) // 8,
            f"pack used {packed.numel()} bytes for {n} elements",
            "pad the flattened mask with zeros to a multiple of 8 first "
            "(ceil(n/8) bytes: the last byte holds the tail bits)",
        )
        expected = np.packbits(mask.numpy().ravel())
        got = packed.detach().cpu().reshape(-1).numpy()
        require(
            bool(np.array_equal(got, expected)),
            f"pack's bytes differ from numpy.packbits for shape {shape}",
            "element 8k + j goes to bit 7 - j of byte k (most significant first); "
            "a reversed bit order still round-trips but no other tool reads it",
        )
        back = call_learner(unpack, packed, shape, what=f"unpack(packed, {shape})")
        require(
            isinstance(back, torch.Tensor)
            and tuple(back.shape) == shape
            and back.dtype == torch.bool,
            f"unpack returned shape {tuple(getattr(back, 'shape', ()))}, dtype "
            f"{getattr(back, 'dtype', type(back).__name__)}",
            "drop the padding bits ([:n]), reshape, and return .to(torch.bool)",
        )
        require(
            torch.equal(back.cpu(), mask),
            f"the round trip changed the mask of shape {shape}",
            "shift each byte right by 7, 6, ..., 0 and take & 1",
        )
    return True
