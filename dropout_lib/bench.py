"""Dropout implementations timed as a ratio to the memory-bandwidth floor.

The floor is `np.multiply(x, c, out=out)` over the same float32 array: one
read and one write of n·4 bytes each, the least any out-of-place dropout must
move. After one warm-up call of each, the implementations are timed in
interleaved rounds (floor, then each implementation once, `repeats` rounds);
an implementation's ratio is the median over rounds of its time divided by the
floor's time in the same round, so a burst of load from other processes
slows the numerator and the denominator alike instead of one whole block.
The in-place implementation gets a fresh copy of x (untimed) before each timed
call, so it never works on its own earlier output.
Run `python -m dropout_lib.bench` for the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from dropout_lib.fast import dropout_float_mask, dropout_uint8, dropout_uint16

__all__ = ["median_time", "ratio_table"]


def median_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of fn() over `repeats` runs, after one warm-up run."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def ratio_table(n: int = 10**7, p: float = 0.5, repeats: int = 5) -> dict[str, float]:
    """Median over interleaved rounds of (implementation time / floor time).

    ratio_k = median over rounds r of t_k,r / t_floor,r, each time a single
    call after one warm-up call per implementation.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n, dtype=np.float32)
    out = np.empty_like(x)
    work = x.copy()
    xt = torch.from_numpy(x)
    impls: dict[str, Callable[[], object]] = {
        "floor x*c": lambda: np.multiply(x, np.float32(2.0), out=out),
        "random bytes only": lambda: rng.bytes(n),
        "float mask": lambda: dropout_float_mask(x, p, rng),
        "uint16 threshold": lambda: dropout_uint16(x, p, rng),
        "uint8 threshold": lambda: dropout_uint8(x, p, rng),
        "uint8 in-place": lambda: dropout_uint8(work, p, rng, inplace=True),
        "torch F.dropout": lambda: torch.nn.functional.dropout(xt, p, True),
    }
    for f in impls.values():
        f()  # warm-up
    ratios: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(repeats):
        times = {}
        for k, f in impls.items():
            if k == "uint8 in-place":
                np.copyto(work, x)  # untimed: every round drops the same values
            t0 = time.perf_counter()
            f()
            times[k] = time.perf_counter() - t0
        for k, t in times.items():
            ratios[k].append(t / times["floor x*c"])
    return {k: float(np.median(r)) for k, r in ratios.items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, r in ratio_table().items():
        print(f"{name:18s} {r:6.1f} x floor")
