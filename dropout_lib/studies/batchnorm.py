"""Chapter 6 (BatchNorm and dropout in CNNs): data preparation and the comparison runs.

* `downsample_images` -- Fashion-MNIST images, average-pooled to a smaller side.
* `run_cnn_seeds` -- train one `dropout_lib.models.SmallCNN`
  configuration over several seeds with the course's one harness
  (`dropout_lib.training.run_seeds`) and measure both accuracies once,
  after training, in eval mode. The result is a list of
  `dropout_lib.training.Run`; summarise it with
  `dropout_lib.stats.mean_sd` and compare configurations with
  `dropout_lib.stats.paired_diff`.
* `neighbourhood_r2` -- how much of a dropped activation a linear readout of
  its 3x3 neighbourhood recovers, for an element mask and for a channel mask,
  with the same information for both (what the next 3x3 convolution sees).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models import SmallCNN
from ..training import Run, evaluate, run_seeds
from ..validation import check_int, check_tensor

__all__ = ["downsample_images", "neighbourhood_r2", "run_cnn_seeds"]


def downsample_images(images: Any, factor: int = 2) -> torch.Tensor:
    """uint8 images `(N, H, W)` to float32 `(N, 1, H/f, W/f)` in [0, 1].

    Each output pixel is the mean of an f × f block divided by 255,
    (1/(255 f²)) Σ_block x, so a 28x28 Fashion-MNIST
    image becomes 14x14 with `factor=2` (four times fewer pixels to convolve).
    The input is not modified.
    """
    factor = check_int(factor, "factor", 1)
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


def run_cnn_seeds(
    name: str,
    config: Mapping[str, Any],
    data: Sequence[torch.Tensor],
    *,
    seeds: Sequence[int],
    epochs: int,
    lr: float = 1e-2,
    batch_size: int = 100,
    channels: Sequence[int] = (8, 16, 16),
    pools: int = 1,
    val: Sequence[torch.Tensor] | None = None,
    device: torch.device | None = None,
) -> list[Run]:
    """Train `SmallCNN(channels, **config)` once per seed on `data = (x, y, x_test,
    y_test)`.

    Uses `dropout_lib.training.run_seeds`: `torch.manual_seed(seed)`
    fixes the initial weights and every dropout mask, `seed` the batch order.
    Adam with learning rate `lr`, cross-entropy loss, `epochs` passes in
    mini-batches of `batch_size`. After training, each run's history gets
    four single-value metrics measured in eval mode (dropout off, BN on its
    running statistics): `train_eval_loss`, `train_eval_acc`, `test_loss`,
    `test_acc`; so `run.gap()` is
    acc_train − acc_test of the same
    network. With `val = (x_val, y_val)`, a validation split disjoint from both
    sets, two more: `val_loss` and `val_acc` (choose a configuration on these,
    never on the test accuracy). `run.config` is `name`; `run.extra["config"]`
    the mapping.
    """
    if not isinstance(config, Mapping):
        raise TypeError(
            "config must be a mapping of SmallCNN keyword arguments; "
            f"got {type(config).__name__}"
        )
    if len(data) != 4:
        raise ValueError("data must be (x_train, y_train, x_test, y_test)")
    x, y, xt, yt = data
    check_tensor(x, "x_train", ndim=4)
    check_tensor(xt, "x_test", ndim=4)
    if val is not None:
        if len(val) != 2:
            raise ValueError("val must be (x_val, y_val) or None")
        check_tensor(val[0], "x_val", ndim=4)
    image_size = int(x.shape[-1])
    loss_fn = nn.CrossEntropyLoss()

    def build(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = SmallCNN(channels, image_size=image_size, pools=pools, **dict(config))
        return model, torch.optim.Adam(model.parameters(), lr=lr)

    runs = run_seeds(
        build,
        seeds,
        x,
        y,
        config=name,
        loss_fn=loss_fn,
        epochs=epochs,
        batch_size=batch_size,
        device=device,
    )
    for run in runs:
        model = run.model
        if model is None:  # pragma: no cover - run_seeds keeps the models
            raise RuntimeError("run_seeds dropped the model")
        train_loss, train_acc = evaluate(model, x, y, loss_fn)
        test_loss, test_acc = evaluate(model, xt, yt, loss_fn)
        run.history.append(
            train_eval_loss=train_loss,
            train_eval_acc=train_acc,
            test_loss=test_loss,
            test_acc=test_acc,
        )
        if val is not None:
            val_loss, val_acc = evaluate(model, val[0], val[1], loss_fn)
            run.history.append(val_loss=val_loss, val_acc=val_acc)
        run.extra["config"] = dict(config)
    return runs


def neighbourhood_r2(h: torch.Tensor, own: bool) -> np.ndarray:
    """Out-of-sample R² of a linear readout of each channel from its 3x3
    neighbourhood, per channel.

    For a feature map `h` of shape `(N, C, H, W)` and channel c, the target is
    h[n, c, i, j] and the features are the 3x3 neighbourhood (zero padded) of
    every *other* channel at (i, j), (C − 1)·9 values, plus a constant:
    what a 3x3 convolution still sees when channel c is dropped as a whole.
    With `own=True` the 8 neighbours of (i, j) in channel c itself are added,
    which is what it sees when only the one activation is dropped (with all
    other activations present, the limit p → 0). The least-squares weights
    are fitted on the first half of the images; on the second half

        R² = 1 − Σ (h − ĥ)² / Σ (h − h̄)²,

    the fraction of the dropped activation's variance the readout recovers.
    A channel that is constant on the second half gets NaN. The input is not
    modified.
    """
    check_tensor(h, "h", ndim=4)
    if not isinstance(own, bool):
        raise TypeError(f"own must be a bool; got {own!r}")
    n, c = int(h.shape[0]), int(h.shape[1])
    if n < 4 or c < 2:
        raise ValueError(
            f"h needs at least 4 images and 2 channels; got shape {tuple(h.shape)}"
        )
    x = h.detach().double().cpu()
    patches = F.unfold(x, kernel_size=3, padding=1)  # (N, C*9, H*W), tap 4 = centre
    rows = patches.transpose(1, 2).reshape(-1, c, 9)
    half = (n // 2) * int(h.shape[2]) * int(h.shape[3])
    out = np.full(c, np.nan)
    for ch in range(c):
        others = torch.cat([rows[:, :ch], rows[:, ch + 1 :]], 1).reshape(len(rows), -1)
        parts = [others, torch.ones(len(rows), 1, dtype=rows.dtype)]
        if own:
            parts.append(rows[:, ch, [0, 1, 2, 3, 5, 6, 7, 8]])
        design = torch.cat(parts, 1)
        target = rows[:, ch, 4:5]
        coef = torch.linalg.lstsq(design[:half], target[:half]).solution
        test = target[half:, 0]
        total = float(((test - test.mean()) ** 2).sum())
        if total > 0:
            resid = test - (design[half:] @ coef)[:, 0]
            out[ch] = 1.0 - float((resid**2).sum()) / total
    return out
