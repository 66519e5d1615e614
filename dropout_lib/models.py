"""Small PyTorch models used across the chapters."""

from __future__ import annotations

from typing import Callable, Sequence

from torch import nn

from .nn import Dropout
from .validation import check_probability

__all__ = ["MLP"]


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
