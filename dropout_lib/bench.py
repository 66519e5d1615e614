"""Dropout implementations timed as a ratio to the memory-bandwidth floor.

The floor is `np.multiply(x, c, out=out)` over the same float32 array: one
read and one write of n·4 bytes each, the least any out-of-place dropout must
move. Each implementation's time is the median of `repeats` runs after one
warm-up run, divided by the floor's median measured in the same run.
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
    """Median time of each dropout implementation divided by the floor's."""
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
    times = {k: median_time(f, repeats) for k, f in impls.items()}
    floor = times["floor x*c"]
    return {k: t / floor for k, t in times.items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, r in ratio_table().items():
        print(f"{name:18s} {r:6.1f} x floor")
