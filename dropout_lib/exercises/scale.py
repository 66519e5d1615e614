"""Checkers for chapter 9's exercises (dropout at scale).

`check_pack_roundtrip(pack, unpack)`: pack(mask) -> uint8 array of ceil(n/8)
bytes and unpack(packed, shape) -> the same bool mask, for odd sizes too.
`check_rank_seeds(derive)`: derive(base_seed, rank) -> int gives distinct
seeds across ranks, depends on the base seed, and is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dropout_lib.exercises._checking import call_learner, require, require_callable

__all__ = ["check_pack_roundtrip", "check_rank_seeds"]


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


def check_rank_seeds(derive: Callable[[int, int], int]) -> bool:
    """Check per-rank seeds: distinct over ranks, vary with base, deterministic."""
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
    a = {int(call_learner(derive, 0, r, what="derive(0, rank)")) for r in range(8)}
    b = {int(call_learner(derive, 1, r, what="derive(1, rank)")) for r in range(8)}
    require(
        not (a & b),
        "base seeds 0 and 1 give overlapping rank seeds",
        "base + rank collides: base 0 rank 1 equals base 1 rank 0",
    )
    return True
