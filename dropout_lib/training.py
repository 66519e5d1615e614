"""A small, explicit training loop that records a per-epoch history.

Training metrics (``train_loss``, ``train_acc``) are averaged over the epoch's
mini-batches with dropout ON, as Keras's ``fit`` logs them. Every entry of
``eval_sets`` is measured after the epoch in eval mode (dropout OFF). Passing
the training set itself under another name (e.g. ``"train_eval"``) measures
the full network on it, which is what a train-test gap should compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .reproducibility import get_device

__all__ = [
    "History", "SeedSummary", "accuracy", "evaluate", "stack_metric", "summarize_seeds", "train",
    "train_over_seeds", "to_tensors",
]

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics: ``metrics[name][e]`` is the value after epoch ``e + 1``."""

    metrics: dict[str, list[float]] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for k, v in values.items():
            self.metrics.setdefault(k, []).append(float(v))

    def __getitem__(self, name: str) -> list[float]:
        return self.metrics[name]

    def final(self, name: str) -> float:
        """The value of ``name`` after the last epoch."""
        return self.metrics[name][-1]

    @property
    def epochs(self) -> int:
        return max((len(v) for v in self.metrics.values()), default=0)


def to_tensors(x, y, *, float_images: bool = True) -> Batch:
    """Arrays to tensors: inputs as float32 (uint8 images scaled to [0, 1]), labels as int64 or float32."""
    xt = torch.as_tensor(np.asarray(x))
    if xt.dtype == torch.uint8 and float_images:
        xt = xt.float() / 255.0
    else:
        xt = xt.float()
    yt = torch.as_tensor(np.asarray(y))
    yt = yt.float() if yt.is_floating_point() else yt.long()
    return xt, yt


def _prepare(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Match a binary model's logits ``[N]`` with float targets; multiclass keeps int64 labels."""
    if out.ndim == 1:
        return out, y.to(out.dtype)
    return out, y.long()


def accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction correct: argmax for ``[N, C]`` logits, ``logit > 0`` for binary ``[N]`` logits."""
    pred = (out > 0).long() if out.ndim == 1 else out.argmax(dim=1)
    return (pred == y.long()).float().mean().item()


def _is_dropout(module: nn.Module) -> bool:
    """True for the layers :func:`evaluate` switches on when ``dropout_on=True``."""
    from .nn import ClassicDropout, Dropout

    return isinstance(module, (Dropout, ClassicDropout, nn.modules.dropout._DropoutNd))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable,
    batch_size: int = 2048,
    *,
    dropout_on: bool = False,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` in eval mode; the model's mode is restored after.

    With ``dropout_on=True`` every dropout layer (``dropout_lib.nn`` layers and
    ``torch.nn`` dropout classes) is switched to training mode while all other
    modules stay in eval mode: the metrics are then those of the *thinned*
    network, one fresh mask per example, as a training log sees it (but with the
    weights frozen). Other layers such as BatchNorm keep their eval behaviour and
    running statistics.
    """
    was_training = model.training
    model.eval()
    if dropout_on:
        for module in model.modules():
            if _is_dropout(module):
                module.train()
    device = next(model.parameters()).device
    total_loss, correct, n = 0.0, 0.0, len(x)
    try:
        for i in range(0, n, batch_size):
            xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
            out, yb_ = _prepare(model(xb), yb)
            total_loss += loss_fn(out, yb_).item() * len(xb)
            correct += accuracy(out, yb) * len(xb)
    finally:
        model.train(was_training)
    return total_loss / n, correct / n


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    eval_sets: Mapping[str, Batch] | None = None,
    seed: int = 0,
    device: torch.device | None = None,
    on_epoch_end: Callable[[int, nn.Module, History], None] | None = None,
) -> History:
    """Mini-batch training for ``epochs`` passes over ``(x, y)``, shuffled each epoch.

    The shuffling uses its own ``torch.Generator`` seeded with ``seed``, so two
    runs with the same seed and initial weights visit the same batches.
    Returns the :class:`History`; ``on_epoch_end(epoch, model, history)`` is
    called after each epoch's metrics are recorded.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got epochs={epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got batch_size={batch_size!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    device = device or get_device()
    model.to(device)
    x, y = x.to(device), y.to(device)
    eval_sets = {k: (a.to(device), b.to(device)) for k, (a, b) in (eval_sets or {}).items()}
    gen = torch.Generator().manual_seed(seed)
    history = History()
    n = len(x)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        total_loss, correct = 0.0, 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            out, yb_ = _prepare(model(xb), yb)
            loss = loss_fn(out, yb_)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(idx)
            correct += accuracy(out.detach(), yb) * len(idx)
        record = {"train_loss": total_loss / n, "train_acc": correct / n}
        for name, (xe, ye) in eval_sets.items():
            record[f"{name}_loss"], record[f"{name}_acc"] = evaluate(model, xe, ye, loss_fn)
        if not math.isfinite(record["train_loss"]):
            record["train_loss"] = float("nan")
        history.append(**record)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, history)
    model.eval()
    return history


# --------------------------------------------------------------------------
# Several seeds: run, stack, summarise
# --------------------------------------------------------------------------


class SeedSummary(NamedTuple):
    """Mean and sample standard deviation of one number measured over several seeds.

    ``std`` uses the unbiased variance, :math:`s^2 = \\frac{1}{n-1}\\sum_i (v_i - \\bar v)^2`
    (0 for a single value). ``str()`` gives ``"mean ± std"`` with three decimals.
    """

    mean: float
    std: float
    n: int
    values: tuple[float, ...]

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.std:.3f}"

    def format(self, digits: int = 3) -> str:
        """``"mean ± std"`` rounded to ``digits`` decimals."""
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def summarize_seeds(values: Sequence[float]) -> SeedSummary:
    """Summarise per-seed results ``v_1..v_n`` as :math:`\\bar v \\pm s` (see :class:`SeedSummary`).

    Raises ``ValueError`` for an empty sequence or non-finite values and
    ``TypeError`` for values that are not real numbers. The input is not modified.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"values must be a sequence of real numbers; got {values!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"values must be finite; got {arr.tolist()}")
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return SeedSummary(float(arr.mean()), std, int(arr.size), tuple(float(v) for v in arr))


def stack_metric(histories: Sequence[History], name: str) -> np.ndarray:
    """The metric ``name`` of several runs as an array ``[n_runs, n_epochs]``.

    Raises ``KeyError`` if a run lacks the metric and ``ValueError`` if the runs
    have different lengths.
    """
    if isinstance(histories, History):
        histories = [histories]
    if len(histories) == 0:
        raise ValueError("histories must contain at least one History")
    rows = []
    for i, h in enumerate(histories):
        if not isinstance(h, History):
            raise TypeError(f"histories[{i}] must be a History; got {type(h).__name__}")
        if name not in h.metrics:
            raise KeyError(f"run {i} has no metric {name!r}; it has {sorted(h.metrics)}")
        rows.append(h.metrics[name])
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"runs have different numbers of epochs for {name!r}: {sorted(lengths)}")
    return np.array(rows, dtype=np.float64)


def train_over_seeds(
    build: Callable[[int], tuple[nn.Module, torch.optim.Optimizer]],
    seeds: Sequence[int],
    x: torch.Tensor,
    y: torch.Tensor,
    **train_kwargs,
) -> list[tuple[nn.Module, History]]:
    """Train one fresh model per seed and return ``[(model, history), ...]`` in seed order.

    For each ``seed``: ``torch.manual_seed(seed)``, then ``model, optimizer =
    build(seed)`` (so the initial weights and every dropout mask drawn from
    torch's global generator depend only on the seed), then
    :func:`train` with ``seed=seed`` (the batch order) and ``train_kwargs``.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be non-negative integers; got {s!r}")
    if "optimizer" in train_kwargs or "seed" in train_kwargs:
        raise TypeError("train_over_seeds sets optimizer and seed itself; build() returns the optimizer")
    runs = []
    for s in seeds:
        torch.manual_seed(int(s))
        model, optimizer = build(int(s))
        history = train(model, x, y, optimizer=optimizer, seed=int(s), **train_kwargs)
        runs.append((model, history))
    return runs
