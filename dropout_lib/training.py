"""A small, explicit training loop that records a per-epoch history.

Training metrics (`train_loss`, `train_acc`) are averaged over the epoch's
mini-batches with dropout ON, as Keras's `fit` logs them. Every entry of
`eval_sets` is measured after the epoch in eval mode (dropout OFF). Passing the
training set itself under another name (e.g. `"train_eval"`) measures the full
network on it, which is what a train-test gap should compare.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .nn import dropout_active, eval_mode
from .reproducibility import get_device
from .validation import check_int, check_seed

__all__ = [
    "History",
    "Run",
    "accuracy",
    "evaluate",
    "final_values",
    "run_seeds",
    "stack_metric",
    "to_tensors",
    "train",
]

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics: `metrics[name][e]` is the value after epoch `e + 1`."""

    metrics: dict[str, list[float]] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for k, v in values.items():
            self.metrics.setdefault(k, []).append(float(v))

    def __getitem__(self, name: str) -> list[float]:
        return self.metrics[name]

    def final(self, name: str) -> float:
        """The value of `name` after the last epoch."""
        return self.metrics[name][-1]

    @property
    def epochs(self) -> int:
        return max((len(v) for v in self.metrics.values()), default=0)


def to_tensors(x: Any, y: Any, *, float_images: bool = True) -> Batch:
    """Arrays to tensors: inputs as float32 (uint8 images scaled to [0, 1]), labels as
    int64 or float32.
    """
    xt = torch.as_tensor(np.asarray(x))
    if xt.dtype == torch.uint8 and float_images:
        xt = xt.float() / 255.0
    else:
        xt = xt.float()
    yt = torch.as_tensor(np.asarray(y))
    yt = yt.float() if yt.is_floating_point() else yt.long()
    return xt, yt


def _prepare(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Match a binary model's logits `[N]` with float targets; multiclass keeps int64
    labels.
    """
    if out.ndim == 1:
        return out, y.to(out.dtype)
    return out, y.long()


def accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction correct: argmax for `[N, C]` logits, `logit > 0` for binary `[N]`
    logits.
    """
    pred = (out > 0).long() if out.ndim == 1 else out.argmax(dim=1)
    return (pred == y.long()).float().mean().item()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[..., torch.Tensor],
    batch_size: int = 2048,
    *,
    dropout_on: bool = False,
) -> tuple[float, float]:
    """Mean loss and accuracy of `model` in eval mode; the model's mode is restored
    after.

    With `dropout_on=True` every dropout layer (`dropout_lib.nn` layers and
    `torch.nn` dropout classes) is switched to training mode while all other
    modules stay in eval mode: the metrics are then those of the *thinned*
    network, one fresh mask per example, as a training log sees it (but with the
    weights frozen). Other layers such as BatchNorm keep their eval behaviour and
    running statistics.
    """
    device = next(model.parameters()).device
    total_loss, correct, n = 0.0, 0.0, len(x)
    mode = dropout_active(model, others="eval") if dropout_on else eval_mode(model)
    with mode:
        for i in range(0, n, batch_size):
            xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
            out, yb_ = _prepare(model(xb), yb)
            total_loss += loss_fn(out, yb_).item() * len(xb)
            correct += accuracy(out, yb) * len(xb)
    return total_loss / n, correct / n


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: Callable[..., torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    eval_sets: Mapping[str, Batch] | None = None,
    seed: int = 0,
    device: torch.device | None = None,
    on_epoch_end: Callable[[int, nn.Module, History], None] | None = None,
) -> History:
    """Mini-batch training for `epochs` passes over `(x, y)`, shuffled each epoch.

    The shuffling uses its own `torch.Generator` seeded with `seed`, so two
    runs with the same seed and initial weights visit the same batches. Returns
    the `History`; `on_epoch_end(epoch, model, history)` is called after each
    epoch's metrics are recorded.

    Side effects: `model` is trained in place, moved to `device` (default
    `get_device()`), and left in eval mode (`model.eval()`) on return, so
    dropout is off for whatever the caller does next; call `model.train()`
    before training it further by hand.
    """
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length; got {len(x)} and {len(y)}"
        )
    device = device or get_device()
    model.to(device)
    x, y = x.to(device), y.to(device)
    eval_sets = {
        k: (a.to(device), b.to(device)) for k, (a, b) in (eval_sets or {}).items()
    }
    gen = torch.Generator().manual_seed(seed)
    history = History()
    n = len(x)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        total_loss, correct = 0.0, 0.0
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            xb, yb = x[idx], y[idx]
            out, yb_ = _prepare(model(xb), yb)
            loss = loss_fn(out, yb_)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            optimizer.step()
            total_loss += loss.item() * len(idx)
            correct += accuracy(out.detach(), yb) * len(idx)
        record = {"train_loss": total_loss / n, "train_acc": correct / n}
        for name, (xe, ye) in eval_sets.items():
            record[f"{name}_loss"], record[f"{name}_acc"] = evaluate(
                model, xe, ye, loss_fn
            )
        if not math.isfinite(record["train_loss"]):
            record["train_loss"] = float("nan")
        history.append(**record)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, history)
    model.eval()
    return history


# --------------------------------------------------------------------------
# Several seeds: one run type, one harness
# --------------------------------------------------------------------------


@dataclass
class Run:
    """One seeded training run: what was trained, how, and what it measured.

    `config` names the configuration (`"p=0.5"`, a dict of settings, ...);
    `history` holds the per-epoch metrics; `model` the trained network
    (`None` when the caller dropped it to save memory); `extra` any further
    measurement a study attaches (timings, diagnostics).
    """

    config: object
    seed: int
    history: History
    model: nn.Module | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def final(self, name: str) -> float:
        """The metric `name` after the last epoch."""
        return self.history.final(name)

    def gap(self, train: str = "train_eval_acc", test: str = "test_acc") -> float:
        """Generalisation gap, train metric minus test metric after the last epoch.

        The default compares accuracies of the *full* network (eval mode) on the
        training set and on the test set; pass other metric names (for example
        `test="val_acc"`) to compare others.
        """
        return self.final(train) - self.final(test)


def stack_metric(runs: Sequence[Run | History], name: str) -> np.ndarray:
    """The metric `name` of several runs as an array `[n_runs, n_epochs]`.

    Accepts `Run` or `History` objects. Raises `KeyError` if a run lacks the
    metric and `ValueError` if the runs have different lengths.
    """
    if isinstance(runs, (History, Run)):
        runs = [runs]
    if len(runs) == 0:
        raise ValueError("runs must contain at least one Run or History")
    rows = []
    for i, r in enumerate(runs):
        h = r.history if isinstance(r, Run) else r
        if not isinstance(h, History):
            raise TypeError(
                f"runs[{i}] must be a Run or History; got {type(r).__name__}"
            )
        if name not in h.metrics:
            raise KeyError(
                f"run {i} has no metric {name!r}; it has {sorted(h.metrics)}"
            )
        rows.append(h.metrics[name])
    lengths = {len(row) for row in rows}
    if len(lengths) != 1:
        raise ValueError(
            f"runs have different numbers of epochs for {name!r}: {sorted(lengths)}"
        )
    return np.array(rows, dtype=np.float64)


def final_values(runs: Sequence[Run], name: str) -> np.ndarray:
    """`[run.final(name) for run in runs]` as a float array (one value per seed)."""
    return np.array([r.final(name) for r in runs], dtype=np.float64)


def run_seeds(
    build: Callable[[int], tuple[nn.Module, torch.optim.Optimizer]],
    seeds: Sequence[int],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    config: object = None,
    keep_models: bool = True,
    **train_kwargs: Any,
) -> list[Run]:
    """Train one fresh model per seed; return one `Run` per seed, in seed order.

    For each `seed`: `torch.manual_seed(seed)`, then `model, optimizer =
    build(seed)` (so the initial weights and every dropout mask drawn from
    torch's global generator depend only on the seed), then `train` with
    `seed=seed` (the batch order) and `train_kwargs`. Two configurations run
    with the same seeds share initial-weight draws and batch orders as far as
    their architectures allow, which is what makes paired differences
    (`dropout_lib.stats.paired_diff`) sharp.
    """
    seeds = [check_seed(s, "seeds entries") for s in seeds]
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    if "optimizer" in train_kwargs or "seed" in train_kwargs:
        raise TypeError(
            "run_seeds sets optimizer and seed itself; build() returns the optimizer"
        )
    runs = []
    for s in seeds:
        torch.manual_seed(s)
        model, optimizer = build(s)
        history = train(model, x, y, optimizer=optimizer, seed=s, **train_kwargs)
        runs.append(Run(config, s, history, model if keep_models else None))
    return runs
