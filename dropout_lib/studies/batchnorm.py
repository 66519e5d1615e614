"""A CPU-sized study of regularisers in a small CNN: data preparation, one training run, summaries.

The chapter on BatchNorm and dropout trains many :class:`~dropout_lib.models.SmallCNN`
configurations over several seeds; :func:`run_cnn` is one such run and :func:`summarise`
turns a list of runs into mean and standard deviation per configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .models import SmallCNN
from .training import evaluate, train

__all__ = ["CNNRun", "downsample_images", "run_cnn", "summarise"]


def downsample_images(images: Any, factor: int = 2) -> torch.Tensor:
    """uint8 images ``(N, H, W)`` to float32 ``(N, 1, H/f, W/f)`` in [0, 1] by ``f x f`` average pooling.

    Each output pixel is :math:`\\frac{1}{255 f^2} \\sum` of an :math:`f \\times f` block, so a
    28x28 Fashion-MNIST image becomes 14x14 with ``factor=2`` (four times fewer pixels to convolve).
    The input is not modified.
    """
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, np.integer))
        or factor < 1
    ):
        raise ValueError(f"factor must be a positive integer; got factor={factor!r}")
    arr = np.asarray(images)
    if arr.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W); got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise TypeError(
            f"images must be uint8 pixels in [0, 255]; got dtype {arr.dtype}"
        )
    if arr.shape[1] % factor or arr.shape[2] % factor:
        raise ValueError(
            f"image sides {arr.shape[1:]} must be divisible by factor={factor}"
        )
    x = torch.as_tensor(arr.astype(np.float32) / 255.0).unsqueeze(1)
    return F.avg_pool2d(x, factor) if factor > 1 else x


@dataclass(frozen=True)
class CNNRun:
    """One trained network: its configuration, seed, accuracies (eval mode) and the model."""

    name: str
    seed: int
    train_acc: float
    test_acc: float
    model: nn.Module

    @property
    def gap(self) -> float:
        """Train-test gap :math:`\\text{acc}_{\\text{train}} - \\text{acc}_{\\text{test}}`, both in eval mode."""
        return self.train_acc - self.test_acc


def run_cnn(
    name: str,
    config: Mapping[str, Any],
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    *,
    seed: int,
    epochs: int,
    lr: float = 3e-3,
    batch_size: int = 64,
    channels: tuple[int, ...] = (8, 16, 16),
    pools: int = 1,
    device: torch.device | None = None,
) -> CNNRun:
    """Train a :class:`SmallCNN` built with ``config`` on ``data = (x_train, y_train, x_test, y_test)``.

    ``torch.manual_seed(seed)`` fixes the initial weights and the dropout masks, and ``seed``
    fixes the batch order, so a run is reproducible for a fixed thread count. Adam with
    learning rate ``lr``; cross-entropy loss. Both accuracies are measured after training in
    eval mode (dropout off, BN on its running statistics).
    """
    if not isinstance(config, Mapping):
        raise TypeError(
            f"config must be a mapping of SmallCNN keyword arguments; got {type(config).__name__}"
        )
    if len(data) != 4:
        raise ValueError("data must be (x_train, y_train, x_test, y_test)")
    x, y, xt, yt = data
    if x.ndim != 4:
        raise ValueError(f"x_train must have shape (N, 1, H, W); got {tuple(x.shape)}")
    torch.manual_seed(seed)
    model = SmallCNN(channels, image_size=int(x.shape[-1]), pools=pools, **dict(config))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    train(
        model,
        x,
        y,
        loss_fn=loss_fn,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        device=device,
    )
    _, train_acc = evaluate(model, x, y, loss_fn)
    _, test_acc = evaluate(model, xt, yt, loss_fn)
    return CNNRun(name, int(seed), float(train_acc), float(test_acc), model)


def summarise(runs: Iterable[CNNRun]) -> dict[str, dict[str, float]]:
    """Per configuration name: mean and sample standard deviation (ddof=1) over seeds.

    Keys of each entry: ``test_mean``, ``test_std``, ``gap_mean``, ``gap_std``, ``train_mean``,
    ``n``. Names keep the order in which they first appear. With a single run the standard
    deviations are NaN.
    """
    groups: dict[str, list[CNNRun]] = {}
    for r in runs:
        if not isinstance(r, CNNRun):
            raise TypeError(f"runs must contain CNNRun objects; got {type(r).__name__}")
        groups.setdefault(r.name, []).append(r)
    out = {}
    for name, rs in groups.items():
        test = np.array([r.test_acc for r in rs])
        gap = np.array([r.gap for r in rs])
        tr = np.array([r.train_acc for r in rs])
        sd = lambda a: float(a.std(ddof=1)) if len(a) > 1 else float("nan")
        out[name] = dict(
            test_mean=float(test.mean()),
            test_std=sd(test),
            gap_mean=float(gap.mean()),
            gap_std=sd(gap),
            train_mean=float(tr.mean()),
            n=len(rs),
        )
    return out
