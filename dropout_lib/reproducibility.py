"""Seeds, thread counts and devices: what makes stored notebook outputs reproduce."""

from __future__ import annotations

import os
import random

import numpy as np

__all__ = ["seed_everything", "get_device"]


def seed_everything(seed: int, threads: int = 1) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and PyTorch, and fix torch's thread count.

    PyTorch's CPU results depend on the number of threads (floating-point sums
    are split differently), so stored outputs only reproduce with a fixed count.
    The default is one thread: the course's models are small, so a second thread
    buys little, and one thread per process keeps the results independent of the
    machine's core count and avoids oversubscription when tests run notebooks
    in parallel.
    Returns a fresh ``numpy.random.Generator`` seeded with ``seed`` for code that
    takes an explicit ``rng``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got seed={seed!r}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer; got threads={threads!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch
    except ImportError:  # NumPy-only use of the library
        pass
    else:
        torch.manual_seed(seed)
        torch.set_num_threads(int(threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def get_device(prefer_gpu: bool = True):
    """``torch.device('cuda')`` when a GPU is present (and wanted), else the CPU."""
    import torch

    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
