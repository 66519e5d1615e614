"""Dropout "from scratch" in the style of *Dive into Deep Learning* (d2l), written our own way.

d2l builds dropout from one tensor expression: keep an entry when a uniform draw
:math:`u \\sim U[0, 1)` exceeds the drop probability :math:`p`, and divide the kept
entries by the keep probability :math:`q = 1 - p`. Because
:math:`P(u > p) = 1 - p = q` for :math:`0 \\le p < 1`, the output
:math:`h'_i = [u_i > p]\\, h_i / q` has :math:`\\mathbb{E}[h'_i] = h_i` and
:math:`\\operatorname{Var}[h'_i] = h_i^2\\, p / q`.

This module differs from the book's listing in three ways the course teaches:
the mask is made on the input's device, the drop probability is checked with a
real ``ValueError`` (not an ``assert``), and :class:`D2LNet` asks
``nn.Module.training`` whether to drop, so ``model.eval()`` switches dropout off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .training import Batch, History, evaluate, train
from .validation import check_probability

__all__ = ["D2LNet", "D2LRun", "dropout_layer", "fit_d2l"]


def _check_tensor(x: object, name: str = "X") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if not x.is_floating_point():  # False for integer, bool and complex tensors
        raise TypeError(
            f"{name} must be a real floating-point tensor (dropout rescales by 1/(1-p)); got dtype {x.dtype}"
        )
    return x


def dropout_layer(
    X: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout as in d2l: :math:`h' = [u > p] \\odot h / (1 - p)`, :math:`u \\sim U[0, 1)`.

    Each entry is kept with probability :math:`P(u > p) = 1 - p` and then
    divided by :math:`1 - p`, so :math:`\\mathbb{E}[h'] = h`. The two ends are
    special cases, as in d2l: ``p == 0`` returns ``X`` unchanged and ``p == 1``
    returns zeros (the formula would divide by zero).

    Parameters
    ----------
    X : torch.Tensor
        Real floating-point activations, on any device. Never modified.
    p : float
        DROP probability, :math:`0 \\le p \\le 1`.
    generator : torch.Generator, optional
        Source of the uniform draws; it must live on ``X.device``.

    Returns
    -------
    torch.Tensor
        A tensor shaped like ``X``, with its dtype and device. For ``p == 0``
        this is ``X`` itself (no copy is needed since nothing writes to it).

    Raises
    ------
    TypeError
        If ``X`` is not a real floating-point tensor or ``p`` is not a real number.
    ValueError
        If ``p`` is outside [0, 1] (also under ``python -O``, unlike an ``assert``).
    """
    p = check_probability(p, "p")
    X = _check_tensor(X, "X")
    if p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    u = torch.rand(X.shape, device=X.device, dtype=X.dtype, generator=generator)
    mask = (u > p).to(X.dtype)
    return mask * X / (1.0 - p)


class D2LNet(nn.Module):
    """d2l's from-scratch MLP: ``784 -> 256 -> 256 -> 10`` with ReLU and two dropout layers.

    .. math::

        H_1 = \\mathrm{ReLU}(X W_1 + b_1), \\quad \\tilde H_1 = \\mathrm{drop}_{p_1}(H_1), \\\\
        H_2 = \\mathrm{ReLU}(\\tilde H_1 W_2 + b_2), \\quad \\tilde H_2 = \\mathrm{drop}_{p_2}(H_2), \\\\
        O = \\tilde H_2 W_3 + b_3,

    where :math:`\\mathrm{drop}_p` is :func:`dropout_layer` while the module is
    in training mode and the identity after ``model.eval()``. The returned
    logits :math:`O` go into ``nn.CrossEntropyLoss``. Images of any shape
    ``(N, ...)`` with ``num_inputs`` values each are flattened first.
    """

    def __init__(
        self,
        dropout1: float = 0.2,
        dropout2: float = 0.5,
        *,
        num_inputs: int = 784,
        num_hiddens: Sequence[int] = (256, 256),
        num_outputs: int = 10,
    ) -> None:
        super().__init__()
        self.dropout1 = check_probability(dropout1, "dropout1")
        self.dropout2 = check_probability(dropout2, "dropout2")
        widths = list(num_hiddens)
        if len(widths) != 2:
            raise ValueError(
                f"num_hiddens must give two widths; got num_hiddens={num_hiddens!r}"
            )
        for name, value in (
            ("num_inputs", num_inputs),
            ("num_outputs", num_outputs),
            ("num_hiddens[0]", widths[0]),
            ("num_hiddens[1]", widths[1]),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} must be a positive integer; got {name}={value!r}"
                )
        self.num_inputs = num_inputs
        self.lin1 = nn.Linear(num_inputs, widths[0])
        self.lin2 = nn.Linear(widths[0], widths[1])
        self.lin3 = nn.Linear(widths[1], num_outputs)
        self.relu = nn.ReLU()

    def dropping(self) -> bool:
        """Whether the forward pass applies dropout: here exactly ``self.training``."""
        return self.training

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        H1 = self.relu(self.lin1(X.reshape(-1, self.num_inputs)))
        if self.dropping():
            H1 = dropout_layer(H1, self.dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.dropping():
            H2 = dropout_layer(H2, self.dropout2)
        return self.lin3(H2)

    def extra_repr(self) -> str:
        return f"dropout1={self.dropout1}, dropout2={self.dropout2}"


@dataclass
class D2LRun:
    """One training run of :func:`fit_d2l`: the trained model, its history and final metrics.

    ``train_eval_*`` are measured on the whole training set in eval mode
    (dropout off), ``test_*`` on the test set; ``history`` holds the per-epoch
    ``train_loss`` / ``train_acc`` (dropout on, averaged over the epoch) and the
    per-epoch metrics of every evaluation set.
    """

    model: nn.Module
    history: History
    train_eval_loss: float
    train_eval_acc: float
    test_loss: float
    test_acc: float

    @property
    def gap(self) -> float:
        """Generalisation gap in accuracy: ``train_eval_acc - test_acc``."""
        return self.train_eval_acc - self.test_acc


def fit_d2l(
    dropout1: float,
    dropout2: float,
    train_data: Batch,
    test_data: Batch,
    *,
    epochs: int = 10,
    lr: float = 0.5,
    batch_size: int = 256,
    weight_decay: float = 0.0,
    seed: int = 0,
    eval_sets: dict[str, Batch] | None = None,
    device: torch.device | None = None,
) -> D2LRun:
    """Train a fresh :class:`D2LNet` the way d2l does: plain SGD, cross-entropy, mini-batches.

    The defaults are d2l's (``lr=0.5``, ``batch_size=256``, 10 epochs).
    ``weight_decay`` :math:`\\lambda` adds :math:`\\lambda \\theta` to every
    parameter's gradient (``torch.optim.SGD``'s L2 term, biases included), i.e.
    minimises :math:`L + \\tfrac{\\lambda}{2} \\lVert \\theta \\rVert^2`.
    ``seed`` fixes the initial weights, the shuffling and the dropout masks
    (through ``torch.manual_seed``). The test set is evaluated after every
    epoch (``history["test_acc"]``), and so is every entry of ``eval_sets``.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number; got lr={lr!r}")
    if (
        isinstance(weight_decay, bool)
        or not isinstance(weight_decay, (int, float))
        or not weight_decay >= 0
    ):
        raise ValueError(
            f"weight_decay must be a non-negative number; got weight_decay={weight_decay!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got seed={seed!r}")
    torch.manual_seed(seed)
    model = D2LNet(dropout1, dropout2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    sets = {"test": test_data, **(eval_sets or {})}
    history = train(
        model,
        *train_data,
        loss_fn=loss_fn,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        eval_sets=sets,
        seed=seed,
        device=device,
    )
    dev = next(model.parameters()).device
    tr_loss, tr_acc = evaluate(
        model, train_data[0].to(dev), train_data[1].to(dev), loss_fn
    )
    return D2LRun(
        model,
        history,
        tr_loss,
        tr_acc,
        history.final("test_loss"),
        history.final("test_acc"),
    )
