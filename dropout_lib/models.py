"""Small PyTorch models used across the chapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .nn import Dropout, Dropout2d
from .validation import check_probability

__all__ = ["MLP", "SmallCNN"]


def _rates(dropout: float | Sequence[float], n_hidden: int) -> list[float]:
    if isinstance(dropout, (int, float)) and not isinstance(dropout, bool):
        rates = [dropout] * n_hidden
    else:
        rates = list(dropout)
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout must be one rate or one per hidden layer ({n_hidden}); got {len(rates)} rates"
            )
    return [check_probability(r, "dropout") for r in rates]


class MLP(nn.Sequential):
    """A multilayer perceptron with dropout after each hidden activation.

    Layout: ``Flatten`` -> [``Dropout(input_dropout)``] -> for each hidden width
    ``Linear -> activation -> Dropout(rate)`` -> ``Linear(out_features)``.
    Rates of 0 add no dropout layer. ``dropout_layer`` is the class used
    (``dropout_lib.nn.Dropout`` by default; ``torch.nn.Dropout`` or
    ``ClassicDropout`` work too). A single output unit (binary tasks) is
    returned as a vector of logits, shape ``[N]``.
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
        hidden = list(hidden)
        if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden widths must be positive integers; got {hidden!r}")
        rates = _rates(dropout, len(hidden))
        layers: list[nn.Module] = [nn.Flatten()]
        if check_probability(input_dropout, "input_dropout") > 0:
            layers.append(dropout_layer(input_dropout))
        width = in_features
        for h, rate in zip(hidden, rates):
            layers += [nn.Linear(width, h), activation()]
            if rate > 0:
                layers.append(dropout_layer(rate))
            width = h
        layers.append(nn.Linear(width, out_features))
        if out_features == 1:
            layers.append(nn.Flatten(start_dim=0))
        super().__init__(*layers)
        self.rates = rates


_DROPOUT_KINDS = ("element", "channel")
_NORMS = ("none", "batch")


class SmallCNN(nn.Module):
    """A small configurable CNN for 28x28 single-channel images (Fashion-MNIST).

    Layout, for ``channels = (c_1, ..., c_L)``::

        block_l:  Conv2d(3x3, padding 1) -> [BatchNorm2d] -> ReLU -> [Dropout] -> [MaxPool2d(2)]
        head:     Flatten -> [Dropout(head_dropout)] -> Linear(n_classes)

    The first ``pools`` blocks end with a 2x2 max-pool (default: every block but
    the last), so the head sees :math:`c_L \\cdot (28 / 2^{\\text{pools}})^2`
    features. ``norm='batch'`` puts BatchNorm between convolution and activation
    (the conv then has no bias, which BN would cancel). ``dropout`` is the drop
    probability applied after the activation of every block but the last, i.e.
    *between* convolutions; ``dropout_kind`` chooses element-wise masks
    (:class:`dropout_lib.nn.Dropout`) or whole-channel masks
    (:class:`dropout_lib.nn.Dropout2d`). ``head_dropout`` drops features just
    before the classifier, after the last BatchNorm layer.

    Attributes ``features`` (the conv blocks, an ``nn.Sequential``) and
    ``head`` let callers take intermediate feature maps.
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
    ) -> None:
        super().__init__()
        channels = list(channels)
        if not channels or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels
        ):
            raise ValueError(
                f"channels must be a non-empty sequence of positive integers; got {channels!r}"
            )
        for name, value in (
            ("n_classes", n_classes),
            ("in_channels", in_channels),
            ("image_size", image_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} must be a positive integer; got {name}={value!r}"
                )
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}; got norm={norm!r}")
        if dropout_kind not in _DROPOUT_KINDS:
            raise ValueError(
                f"dropout_kind must be one of {_DROPOUT_KINDS}; got dropout_kind={dropout_kind!r}"
            )
        dropout = check_probability(dropout, "dropout")
        head_dropout = check_probability(head_dropout, "head_dropout")
        if pools is None:
            pools = len(channels) - 1
        if (
            isinstance(pools, bool)
            or not isinstance(pools, int)
            or not 0 <= pools <= len(channels)
        ):
            raise ValueError(
                f"pools must be an integer in [0, {len(channels)}]; got pools={pools!r}"
            )
        if image_size % (2**pools):
            raise ValueError(
                f"image_size={image_size} is not divisible by 2**pools={2**pools}"
            )
        drop_cls = Dropout if dropout_kind == "element" else Dropout2d
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
                layers.append(drop_cls(dropout))
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
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:  # (N, H, W) images: add the channel axis
            x = x.unsqueeze(1)
        return self.head(self.features(x))
