"""Chapter 10 (Using dropout): the recipe's sourced defaults, a max-norm constraint,
the step-by-step worked example and the decision diagram.

* `SRIVASTAVA_DEFAULTS` -- the practical guide of Srivastava et al. (2014,
  Appendix A) as data: their p is the KEEP probability q, converted here to
  PyTorch's drop probability p = 1 − q.
* `max_norm_` and `MaxNorm` -- the max-norm constraint of that guide: after every
  step each hidden unit's incoming weight vector w is projected back onto the
  ball ‖w‖₂ ≤ c, i.e. w ← w · min(1, c / ‖w‖₂).
* `RecipeStep`, `build_recipe_model` and `run_recipe` -- one configuration of
  the worked example (a multilayer perceptron on a synthetic task), built and
  trained over several seeds with the course's harness
  (`dropout_lib.training.run_seeds`), with per-epoch validation metrics.
* `draw_decision_diagram` -- the "should I use dropout here?" flow chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from torch import nn

from ..models import MLP
from ..training import Run, run_seeds
from ..validation import check_int, check_probability

__all__ = [
    "SRIVASTAVA_DEFAULTS",
    "MaxNorm",
    "RecipeStep",
    "build_recipe_model",
    "draw_decision_diagram",
    "max_norm_",
    "run_recipe",
]

#: Srivastava et al. (2014), Appendix A, as stated there. Their p is the keep
#: probability q; PyTorch's `nn.Dropout(p)` takes the drop probability 1 − q.
SRIVASTAVA_DEFAULTS: dict[str, tuple[float, float] | float] = {
    "keep q, hidden units (range)": (0.5, 0.8),
    "keep q, real-valued inputs": 0.8,
    "max-norm c (range)": (3.0, 4.0),
    "momentum with dropout (range)": (0.95, 0.99),
    "momentum, standard nets": 0.9,
    "learning-rate multiplier (range)": (10.0, 100.0),
}


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive real number; got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def _constrained_layers(model: nn.Module) -> list[nn.Linear]:
    """Every `nn.Linear` of `model` but the last one (the output layer)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[:-1]


@torch.no_grad()
def max_norm_(model: nn.Module, c: float) -> int:
    """Project each hidden unit's incoming weights onto ‖w‖₂ ≤ c, in place.

    For every `nn.Linear` of `model` except the last (the output layer), each
    row w of the weight matrix (the weights INTO one unit) becomes
    w · min(1, c / ‖w‖₂); rows already inside the ball are unchanged. Biases
    are not constrained. Returns the number of rows that were shrunk.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    c = _check_positive(c, "c")
    clipped = 0
    for layer in _constrained_layers(model):
        norms = layer.weight.norm(dim=1, keepdim=True)
        over = norms > c
        clipped += int(over.sum())
        layer.weight.mul_(torch.where(over, c / norms.clamp_min(1e-12), 1.0))
    return clipped


class MaxNorm:
    """An optimizer wrapper that applies `max_norm_(model, c)` after each step.

    `step()` calls the wrapped optimizer's `step()` and then projects the
    hidden units' incoming weight vectors onto ‖w‖₂ ≤ c; `zero_grad` and
    `param_groups` are the wrapped optimizer's. `clipped` counts the rows
    shrunk so far.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, model: nn.Module, c: float):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer; got "
                f"{type(optimizer).__name__}"
            )
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module; got {type(model).__name__}"
            )
        self.optimizer = optimizer
        self.model = model
        self.c = _check_positive(c, "c")
        self.clipped = 0

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.optimizer.step()
        self.clipped += max_norm_(self.model, self.c)


@dataclass(frozen=True)
class RecipeStep:
    """One configuration of the worked example.

    `hidden_p` and `input_p` are drop probabilities (PyTorch's p); `width` the
    size of both hidden layers; `max_norm` the constraint c (None: none);
    `weight_decay` AdamW's decoupled decay λ (each step w ← w − η λ w before
    the Adam update); `lr` the learning rate.
    """

    name: str
    hidden_p: float = 0.0
    input_p: float = 0.0
    width: int = 128
    max_norm: float | None = None
    weight_decay: float = 0.0
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string; got {self.name!r}")
        check_probability(self.hidden_p, "hidden_p")
        check_probability(self.input_p, "input_p")
        if self.hidden_p >= 1 or self.input_p >= 1:
            raise ValueError("hidden_p and input_p must be below 1 (p = 1 drops all)")
        check_int(self.width, "width", 1)
        if self.max_norm is not None:
            _check_positive(self.max_norm, "max_norm")
        if isinstance(self.weight_decay, bool) or not isinstance(
            self.weight_decay, (int, float)
        ):
            raise TypeError(
                f"weight_decay must be a real number; got {self.weight_decay!r}"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay!r}")
        _check_positive(self.lr, "lr")


def build_recipe_model(
    step: RecipeStep, in_features: int, depth: int = 2
) -> tuple[MLP, torch.optim.Optimizer | MaxNorm]:
    """The network and optimizer of one `RecipeStep`.

    An `MLP(in_features, [width] * depth, 1)` with `torch.nn.Dropout(input_p)` on
    the inputs and `torch.nn.Dropout(hidden_p)` after every hidden ReLU, trained
    by AdamW with the step's learning rate and decoupled weight decay, wrapped
    in `MaxNorm` when the step sets a max-norm constraint.
    """
    if not isinstance(step, RecipeStep):
        raise TypeError(f"step must be a RecipeStep; got {type(step).__name__}")
    in_features = check_int(in_features, "in_features", 1)
    depth = check_int(depth, "depth", 1)
    model = MLP(
        in_features,
        [step.width] * depth,
        1,
        dropout=step.hidden_p,
        input_dropout=step.input_p,
        dropout_layer=nn.Dropout,
    )
    adamw = torch.optim.AdamW(
        model.parameters(), lr=step.lr, weight_decay=float(step.weight_decay)
    )
    if step.max_norm is not None:
        return model, MaxNorm(adamw, model, step.max_norm)
    return model, adamw


def run_recipe(
    step: RecipeStep,
    train_set: tuple[torch.Tensor, torch.Tensor],
    eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]],
    seeds: Sequence[int],
    *,
    epochs: int,
    batch_size: int = 32,
) -> list[Run]:
    """Train `step`'s network once per seed on `train_set` with binary
    cross-entropy on logits; every epoch record the loss and accuracy of the
    full network (eval mode) on each of `eval_sets` (names become metric
    prefixes: `val_loss`, `val_acc`, ...).

    Seeds are shared across steps, so two steps' results pair seed by seed
    (`dropout_lib.stats.paired_diff`). Returns one `dropout_lib.training.Run`
    per seed (models kept).
    """
    if not isinstance(step, RecipeStep):
        raise TypeError(f"step must be a RecipeStep; got {type(step).__name__}")
    x, y = train_set
    if x.ndim != 2:
        raise ValueError(
            f"train_set's inputs must be 2-D (N, features); got {tuple(x.shape)}"
        )
    epochs = check_int(epochs, "epochs", 1)

    def build(_seed: int) -> tuple[nn.Module, Any]:
        return build_recipe_model(step, x.shape[1])

    return run_seeds(
        build,
        seeds,
        x,
        y.float(),
        config=step.name,
        loss_fn=nn.BCEWithLogitsLoss(),
        epochs=epochs,
        batch_size=batch_size,
        eval_sets={k: (a, b.float()) for k, (a, b) in eval_sets.items()},
    )


# --------------------------------------------------------------------------
# The decision diagram
# --------------------------------------------------------------------------

#: (key, text, x, y, kind); kind "q" is a question, "yes"/"no" an answer box.
_NODES: list[tuple[str, str, float, float, str]] = [
    (
        "start",
        "Does the model overfit?\n(train metric in eval mode\n"
        "clearly above validation)",
        0.5,
        0.92,
        "q",
    ),
    ("under", "Underfitting: no dropout\n(it slows fitting further)", 0.13, 0.72, "no"),
    (
        "epochs",
        "Many epochs over the data?\n(not single-epoch pretraining)",
        0.6,
        0.72,
        "q",
    ),
    ("single", "One pass over huge data:\nstart at p = 0", 0.2, 0.52, "no"),
    ("kind", "Which layers?", 0.68, 0.52, "q"),
    ("fc", "Fully connected / head:\np = 0.2-0.5, inputs 0-0.2", 0.2, 0.3, "yes"),
    (
        "conv",
        "Convolutions with BatchNorm:\nBN first; dropout only\n"
        "after the last BN (head)",
        0.55,
        0.3,
        "yes",
    ),
    ("attn", "Transformer:\nresidual/attention p ~ 0.1", 0.87, 0.3, "yes"),
    (
        "eval",
        "Then: can you measure it?\npaired seeds, a validation set\n"
        "large enough to see the effect",
        0.5,
        0.08,
        "q",
    ),
]
_EDGES: list[tuple[str, str, str]] = [
    ("start", "under", "no"),
    ("start", "epochs", "yes"),
    ("epochs", "single", "no"),
    ("epochs", "kind", "yes"),
    ("kind", "fc", ""),
    ("kind", "conv", ""),
    ("kind", "attn", ""),
    ("fc", "eval", ""),
    ("conv", "eval", ""),
    ("attn", "eval", ""),
]
_COLOURS = {"q": "#dbe9f6", "yes": "#d9f0d3", "no": "#f6dbdb"}


def draw_decision_diagram(ax: Axes | None = None) -> Axes:
    """Draw the chapter's decision diagram (boxes and labelled arrows) on `ax`.

    Questions are blue, "use dropout like this" green, "do not use it" red.
    Returns the axes; the node texts are the axes' text artists.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 7))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    pos = {key: (x, y) for key, _, x, y, _ in _NODES}
    for a, b, label in _EDGES:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate(
            "",
            xy=(x1, y1 + 0.05),
            xytext=(x0, y0 - 0.05),
            arrowprops={"arrowstyle": "->", "color": "0.3"},
        )
        if label:
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                label,
                ha="center",
                fontsize=9,
                color="0.2",
                bbox={"fc": "white", "ec": "none", "pad": 1},
            )
    for _, text, x, y, kind in _NODES:
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.4", "fc": _COLOURS[kind], "ec": "0.4"},
        )
    return ax
