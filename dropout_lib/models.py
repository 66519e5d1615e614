"""Small PyTorch models used across the chapters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from .nn import DropBlock, Dropout, Dropout2d
from .validation import check_int, check_probability

__all__ = ["MLP", "SmallCNN"]


def _rates(dropout: float | Sequence[float], n_hidden: int) -> list[float]:
    if isinstance(dropout, Iterable) and not isinstance(dropout, (str, bytes)):
        rates: list[Any] = list(dropout)
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout must be one rate or one per hidden layer ({n_hidden}); "
                f"got {len(rates)} rates"
            )
    else:
        rates = [dropout] * n_hidden
    return [check_probability(r, "dropout") for r in rates]


class MLP(nn.Sequential):
    """A multilayer perceptron with dropout after each hidden activation.

    Layout: `Flatten` -> [`Dropout(input_dropout)`] -> for each hidden width
    `Linear -> activation -> Dropout(rate)` -> `Linear(out_features)`. Rates of
    0 add no dropout layer. `dropout_layer` is the class used
    (`dropout_lib.nn.Dropout` by default; `torch.nn.Dropout` or
    `ClassicDropout` work too). A single output unit (binary tasks) is returned
    as a vector of logits, shape `[N]`.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        dropout: float | Sequence[float] = 0.0,
        *,
        input_dropout: float = 0.0,
        dropout_layer: Callable[[float], nn.Module] = Dropout,
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        hidden = [check_int(h, "hidden widths", 1) for h in hidden]
        rates = _rates(dropout, len(hidden))
        layers: list[nn.Module] = [nn.Flatten()]
        dropout_at: list[int] = []
        if check_probability(input_dropout, "input_dropout") > 0:
            dropout_at.append(len(layers))
            layers.append(dropout_layer(input_dropout))
        width = in_features
        for h, rate in zip(hidden, rates, strict=True):
            layers += [nn.Linear(width, h), activation()]
            if rate > 0:
                dropout_at.append(len(layers))
                layers.append(dropout_layer(rate))
            width = h
        layers.append(nn.Linear(width, out_features))
        if out_features == 1:
            layers.append(nn.Flatten(start_dim=0))
        super().__init__(*layers)
        self.rates = rates
        self._dropout_at = tuple(dropout_at)

    @property
    def dropout_layers(self) -> tuple[nn.Module, ...]:
        """The dropout modules in forward order (input dropout first, if any),
        so code can reach them by role instead of by position (`model[3]`)."""
        return tuple(self[i] for i in self._dropout_at)


_DROPOUT_KINDS = ("element", "channel", "block")
_NORMS = ("none", "batch")


class SmallCNN(nn.Module):
    """A small configurable CNN for 28x28 single-channel images (Fashion-MNIST).

    Layout, for `channels = (c_1, ..., c_L)`:

        block_l:  Conv2d(3x3, padding 1) -> [BatchNorm2d] -> ReLU -> [Dropout]
                  -> [MaxPool2d(2)]
        head:     Flatten -> [Dropout(head_dropout)] -> Linear(n_classes)

    The first `pools` blocks end with a 2x2 max-pool (default: every block but
    the last), so the head sees c_L · (28 / 2^pools)² features. `norm='batch'`
    puts BatchNorm between convolution and activation
    (the conv then has no bias, which BN would cancel). `dropout` is the drop
    probability applied after the activation of every block but the last, i.e.
    *between* convolutions; `dropout_kind` chooses element-wise masks
    (`"element"`, `dropout_lib.nn.Dropout`), whole-channel masks
    (`"channel"`, `dropout_lib.nn.Dropout2d`) or square blocks of side
    `block_size` (`"block"`, `dropout_lib.nn.DropBlock`). `head_dropout` drops
    features just before the classifier, after the last BatchNorm layer.

    Attributes `features` (the conv blocks, an `nn.Sequential`) and `head` let
    callers take intermediate feature maps.
    """

    def __init__(
        self,
        channels: Sequence[int] = (8, 16, 16),
        n_classes: int = 10,
        *,
        in_channels: int = 1,
        image_size: int = 28,
        norm: str = "none",
        dropout: float = 0.0,
        dropout_kind: str = "element",
        head_dropout: float = 0.0,
        pools: int | None = None,
        block_size: int = 3,
    ) -> None:
        super().__init__()
        channels = [check_int(c, "channels entries", 1) for c in channels]
        if not channels:
            raise ValueError(
                "channels must be a non-empty sequence of positive integers"
            )
        n_classes = check_int(n_classes, "n_classes", 1)
        in_channels = check_int(in_channels, "in_channels", 1)
        image_size = check_int(image_size, "image_size", 1)
        block_size = check_int(block_size, "block_size", 1)
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}; got norm={norm!r}")
        if dropout_kind not in _DROPOUT_KINDS:
            raise ValueError(
                f"dropout_kind must be one of {_DROPOUT_KINDS}; "
                f"got dropout_kind={dropout_kind!r}"
            )
        dropout = check_probability(dropout, "dropout")
        head_dropout = check_probability(head_dropout, "head_dropout")
        if pools is None:
            pools = len(channels) - 1
        pools = check_int(pools, "pools", 0)
        if pools > len(channels):
            raise ValueError(
                f"pools must be an integer in [0, {len(channels)}]; got pools={pools!r}"
            )
        if image_size % (2**pools):
            raise ValueError(
                f"image_size={image_size} is not divisible by 2**pools={2**pools}"
            )

        def make_dropout(rate: float) -> nn.Module:
            if dropout_kind == "channel":
                return Dropout2d(rate)
            if dropout_kind == "block":
                return DropBlock(rate, block_size=block_size)
            return Dropout(rate)

        layers: list[nn.Module] = []
        width = in_channels
        for i, c in enumerate(channels):
            layers.append(
                nn.Conv2d(width, c, kernel_size=3, padding=1, bias=(norm == "none"))
            )
            if norm == "batch":
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.ReLU())
            if dropout > 0 and i < len(channels) - 1:
                layers.append(make_dropout(dropout))
            if i < pools:
                layers.append(nn.MaxPool2d(2))
            width = c
        self.features = nn.Sequential(*layers)
        side = image_size // (2**pools)
        head: list[nn.Module] = [nn.Flatten()]
        if head_dropout > 0:
            head.append(Dropout(head_dropout))
        head.append(nn.Linear(width * side * side, n_classes))
        self.head = nn.Sequential(*head)
        self.config = dict(
            channels=tuple(channels),
            norm=norm,
            dropout=dropout,
            dropout_kind=dropout_kind,
            head_dropout=head_dropout,
            pools=pools,
            block_size=block_size,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits `(N, n_classes)` for images `(N, 1, H, W)` (or `(N, H, W)`)."""
        if x.ndim == 3:  # (N, H, W) images: add the channel axis
            x = x.unsqueeze(1)
        logits: torch.Tensor = self.head(self.features(x))
        return logits
