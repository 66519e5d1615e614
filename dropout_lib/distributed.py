"""Dropout across processes with torch.distributed: seeds, masks and ranks.

Every process (rank) of a distributed job runs the same code, so where its
dropout mask comes from is a design decision:

- Data parallel: each rank sees different examples. With the same seed on every
  rank, the ranks draw the same mask, so the dropout noise of one global batch
  repeats world-size times. `rank_seed(base, r)` derives a seed per rank from
  NumPy's SeedSequence (spawn key r), a hash of (base, r): the masks become
  independent, and two base seeds never share a rank seed by construction
  (unlike base + r, where base 0, rank 1 equals base 1, rank 0).
- Tensor parallel (Megatron-LM's model-parallel RNG tracker): a sharded
  activation (each rank holds different columns) must get a different mask per
  rank, drawn from a "model-parallel" generator seeded seed + 2718 + tp_rank;
  a replicated activation (every rank holds the same tensor) must get the same
  mask on every rank, drawn from the default generator seeded with the same
  seed on all tensor-parallel ranks. `RNGStatesTracker.fork(name)` swaps the
  named state into the device's default generator, so plain F.dropout draws
  from it. Per-rank seeds on a replicated activation make replicated weights
  drift apart.
- World-size invariance: `counter_mask(seed, start, count, p)` draws the keep
  bit of global element i from the counter-based Philox generator (NumPy's
  Philox4x64, key = seed, counter = i // 4, lane i mod 4), so a rank that
  owns elements [start, start + count) draws exactly the bits the single
  process would have drawn for them, for any number of ranks.

`run_distributed_checks()` starts `world_size` processes with
torch.multiprocessing (gloo backend on CPU, file:// rendezvous in a fresh
temporary directory, no network port), runs all three demonstrations in one
start-up, and returns the measurements of rank 0 as a dict.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.multiprocessing.spawn import start_processes

from dropout_lib.seeded import seeded_mask

__all__ = [
    "MODEL_PARALLEL_SEED_OFFSET",
    "RNGStatesTracker",
    "correlation_tolerance",
    "counter_mask",
    "mask_correlation",
    "rank_seed",
    "run_distributed_checks",
    "shard_range",
    "tp_mlp_train",
]

#: Megatron-LM's offset of the tensor-model-parallel seed: seed + 2718 + tp_rank.
MODEL_PARALLEL_SEED_OFFSET = 2718


def rank_seed(base_seed: int, rank: int) -> int:
    """A 32-bit seed for `rank`, hashed from (base_seed, rank) by SeedSequence.

    Equal to SeedSequence(base_seed).spawn(world)[rank].generate_state(1)[0]
    for any world > rank: distinct ranks get unrelated seeds, and the same
    (base_seed, rank) always gives the same seed.
    """
    if int(base_seed) < 0 or int(rank) < 0:
        raise ValueError(f"base_seed and rank must be >= 0; got {base_seed}, {rank}")
    seq = np.random.SeedSequence(int(base_seed), spawn_key=(int(rank),))
    return int(seq.generate_state(1)[0])


def mask_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two masks of equal size, as float64.

    r = Σ (a_i − ā)(b_i − b̄) / sqrt(Σ (a_i − ā)² · Σ (b_i − b̄)²). Raises
    ValueError for a constant mask (r undefined).
    """
    x = a.reshape(-1).to(torch.float64)
    y = b.reshape(-1).to(torch.float64)
    if x.numel() != y.numel():
        raise ValueError(f"masks differ in size: {x.numel()} and {y.numel()}")
    x, y = x - x.mean(), y - y.mean()
    den = float(torch.sqrt((x * x).sum() * (y * y).sum()))
    if den == 0.0:
        raise ValueError("a constant mask has no correlation")
    return float((x * y).sum()) / den


def correlation_tolerance(n: int, z: float = 5.5) -> float:
    """z / sqrt(n): the band around 0 for the correlation of independent masks.

    For two independent masks of n elements, sqrt(n) · r tends to a standard
    normal, so |r| exceeds z / sqrt(n) with probability about 2Φ(−z)
    (3.8e-8 at z = 5.5).
    """
    if n < 2:
        raise ValueError(f"n must be >= 2; got {n}")
    return z / math.sqrt(n)


def shard_range(numel: int, rank: int, world_size: int) -> tuple[int, int]:
    """[start, stop) of the contiguous equal shard that `rank` owns."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size; got {rank}, {world_size}")
    if numel % world_size:
        raise ValueError(f"numel {numel} is not divisible by world_size {world_size}")
    size = numel // world_size
    return rank * size, (rank + 1) * size


def counter_mask(
    seed: int, start: int, count: int, p: float, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Keep mask of global elements start … start + count − 1, counter-based.

    Element i keeps when the top 32 bits of output i of Philox4x64 (key =
    seed, counter = i // 4, lane i mod 4) are at least t = round(p · 2^32), so
    P(keep) = 1 − t/2^32. The bits depend on (seed, i) only, never on which
    process draws them or how many draw.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    if start < 0 or count < 0:
        raise ValueError(f"start and count must be >= 0; got {start}, {count}")
    lane = start % 4
    gen = np.random.Philox(key=int(seed), counter=start // 4)
    raw = gen.random_raw(lane + count)[lane:]
    t = np.uint64(round(p * 2**32))
    keep = (raw >> np.uint64(32)) >= t
    return torch.from_numpy(keep).to(device)


def _generator(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return torch.cuda.default_generators[idx]
    return torch.default_generator


class RNGStatesTracker:
    """Named generator states for one device, swapped into its default generator.

    add(name, seed) records the state a generator seeded with `seed` starts
    from; inside `with tracker.fork(name):` the device's default generator
    runs from that state (so F.dropout draws from it), and on exit the
    advanced state is stored back under `name` and the default generator's own
    state restored. This is the pattern of Megatron-LM's CudaRNGStatesTracker.
    """

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.states: dict[str, torch.Tensor] = {}

    def add(self, name: str, seed: int) -> None:
        """Track a new state `name` that starts from `seed`."""
        if name in self.states:
            raise ValueError(f"state {name!r} already exists")
        gen = _generator(self.device)
        orig = gen.get_state()
        gen.manual_seed(int(seed))
        self.states[name] = gen.get_state()
        gen.set_state(orig)

    @contextlib.contextmanager
    def fork(self, name: str) -> Iterator[None]:
        """Run the block with the default generator in state `name`."""
        if name not in self.states:
            raise KeyError(f"state {name!r} was not added")
        gen = _generator(self.device)
        orig = gen.get_state()
        gen.set_state(self.states[name])
        try:
            yield
        finally:
            self.states[name] = gen.get_state()
            gen.set_state(orig)


class _ReduceFromTP(torch.autograd.Function):
    """Sum over tensor-parallel ranks in forward; identity in backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        torch.distributed.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


def tp_mlp_train(
    rank: int,
    world_size: int,
    *,
    per_rank_replicated_seed: bool,
    steps: int = 5,
    p: float = 0.5,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train a 2-layer tensor-parallel MLP and a replicated head for `steps` SGD steps.

    h = relu(x W1_r) is sharded (rank r holds columns r of W1) and dropped with
    the model-parallel generator (seed + 2718 + r); y = Σ_r drop(h_r) W2_r is
    summed over ranks (all-reduce), so it is replicated, and dropped with the
    default generator; the replicated head w3 gives the loss mean((drop(y) w3
    − t)²). The default generator is seeded `seed` on every rank (right) or
    rank_seed(seed, r) (wrong, per_rank_replicated_seed=True). Returns w3
    after training and the keep mask of the last replicated dropout. Must run
    inside an initialised process group.
    """
    dev = torch.device(device)
    d, hidden, batch = 16, 32, 64
    if hidden % world_size:
        raise ValueError(f"hidden {hidden} is not divisible by world_size")
    lo, hi = shard_range(hidden, rank, world_size)
    init = torch.Generator().manual_seed(seed)  # identical weights and data on ranks
    w1 = (torch.randn(d, hidden, generator=init) / d**0.5)[:, lo:hi].to(dev)
    w2 = (torch.randn(hidden, d, generator=init) / hidden**0.5)[lo:hi].to(dev)
    w3 = (torch.randn(d, 1, generator=init) / d**0.5).to(dev)
    x = torch.randn(batch, d, generator=init).to(dev)
    t = torch.randn(batch, 1, generator=init).to(dev)
    params = [w.requires_grad_() for w in (w1, w2, w3)]
    default_seed = rank_seed(seed, rank) if per_rank_replicated_seed else seed
    _generator(dev).manual_seed(default_seed)
    tracker = RNGStatesTracker(dev)
    tracker.add("model-parallel", seed + MODEL_PARALLEL_SEED_OFFSET + rank)
    y_drop = torch.empty(0)
    for _ in range(steps):
        h = torch.relu(x @ w1)
        with tracker.fork("model-parallel"):
            h_drop = F.dropout(h, p, training=True)
        y: torch.Tensor = _ReduceFromTP.apply(h_drop @ w2)  # type: ignore[no-untyped-call]
        y_drop = F.dropout(y, p, training=True)
        loss = ((y_drop @ w3 - t) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g in zip(params, grads, strict=True):
                w -= 0.1 * g
    return w3.detach(), (y_drop != 0).detach()


def _gather(x: torch.Tensor, world_size: int) -> list[torch.Tensor]:
    out = [torch.empty_like(x) for _ in range(world_size)]
    torch.distributed.all_gather(out, x.contiguous())
    return out


def _checks(rank: int, world_size: int, dev: torch.device) -> dict[str, Any]:
    base, p, n = 1234, 0.5, 1 << 16
    res: dict[str, Any] = {"world_size": world_size, "n": n, "p": p}
    # (a) data parallel: one seed for all ranks, then a seed per rank
    same = _gather(seeded_mask((n,), p, base, dev), world_size)
    res["dp_same_equal"] = all(torch.equal(m, same[0]) for m in same)
    res["dp_same_corr"] = mask_correlation(same[0], same[1])
    own = _gather(seeded_mask((n,), p, rank_seed(base, rank), dev), world_size)
    res["dp_rank_corr"] = mask_correlation(own[0], own[1])
    res["dp_tol"] = correlation_tolerance(n)
    # (b) tensor parallel: plain F.dropout inside and outside tracker.fork
    _generator(dev).manual_seed(base)  # the same default seed on every TP rank
    tracker = RNGStatesTracker(dev)
    tracker.add("model-parallel", base + MODEL_PARALLEL_SEED_OFFSET + rank)
    ones = torch.ones(n, device=dev)
    with tracker.fork("model-parallel"):
        shard = _gather(F.dropout(ones, p, training=True) != 0, world_size)
    repl = _gather(F.dropout(ones, p, training=True) != 0, world_size)
    res["tp_shard_corr"] = mask_correlation(shard[0], shard[1])
    res["tp_repl_equal"] = all(torch.equal(m, repl[0]) for m in repl)
    # a few SGD steps: the tracker pattern (right) and per-rank seeds (wrong)
    steps = 5
    for tag, wrong in (("right", False), ("wrong", True)):
        w3, keep_y = tp_mlp_train(
            rank,
            world_size,
            per_rank_replicated_seed=wrong,
            steps=steps,
            seed=base,
            device=dev,
        )
        ws, ys = _gather(w3, world_size), _gather(keep_y, world_size)
        res[f"tp_{tag}_w3_equal"] = all(torch.equal(w, ws[0]) for w in ws)
        res[f"tp_{tag}_w3_maxdiff"] = float((ws[0] - ws[1]).abs().max())
        res[f"tp_{tag}_repl_equal"] = all(torch.equal(y, ys[0]) for y in ys)
    res["tp_steps"] = steps
    # (c) world-size invariance of a globally indexed mask
    lo, hi = shard_range(n, rank, world_size)
    parts = _gather(counter_mask(base, lo, hi - lo, p, dev), world_size)
    one = counter_mask(base, 0, n, p, dev)  # what a single process draws
    res["counter_invariant"] = torch.equal(torch.cat(parts), one)
    streams = _gather(
        seeded_mask((hi - lo,), p, rank_seed(base, rank), dev), world_size
    )
    one_stream = seeded_mask((n,), p, rank_seed(base, 0), dev)
    res["stream_invariant"] = torch.equal(torch.cat(streams), one_stream)
    return res


def _worker(rank: int, world_size: int, init: str, out: str, device: str) -> None:
    torch.set_num_threads(1)
    backend = "nccl" if device == "cuda" else "gloo"
    torch.distributed.init_process_group(
        backend, init_method=init, rank=rank, world_size=world_size
    )
    try:
        dev = torch.device(f"cuda:{rank}" if device == "cuda" else "cpu")
        res = _checks(rank, world_size, dev)
        res["device"] = dev.type
        if rank == 0:
            with open(out, "w", encoding="utf-8") as f:
                json.dump(res, f)
    finally:
        torch.distributed.destroy_process_group()


def run_distributed_checks(
    world_size: int = 2, timeout_s: float = 120.0, device: str = "cpu"
) -> dict[str, Any]:
    """Start `world_size` processes, run the three checks, return rank 0's results.

    Processes are started with torch.multiprocessing (spawn) and meet through a
    file:// store in a fresh temporary directory; the backend is gloo on CPU
    (nccl for device="cuda", one GPU per rank). Raises TimeoutError when the
    processes have not finished within timeout_s seconds (they are killed).
    """
    if world_size < 2:
        raise ValueError(f"world_size must be >= 2; got {world_size}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    if device == "cuda" and torch.cuda.device_count() < world_size:
        raise ValueError(f"device='cuda' needs {world_size} GPUs")
    if not torch.distributed.is_available():
        raise RuntimeError("this torch build has no torch.distributed")
    with tempfile.TemporaryDirectory() as tmp:
        init = "file://" + os.path.join(tmp, "store")
        out = os.path.join(tmp, "result.json")
        ctx = start_processes(  # type: ignore[no-untyped-call]
            _worker,
            args=(world_size, init, out, device),
            nprocs=world_size,
            join=False,
            start_method="spawn",
        )
        deadline = time.monotonic() + timeout_s
        while not ctx.join(timeout=max(0.1, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                for proc in ctx.processes:
                    proc.kill()
                raise TimeoutError(f"distributed checks exceeded {timeout_s} s")
        with open(out, encoding="utf-8") as f:
            result: dict[str, Any] = json.load(f)
    return result
