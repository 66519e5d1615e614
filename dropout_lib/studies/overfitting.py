"""Chapter 1 (overfitting): the tutorial's network over seeds, the puzzle in its
log, the small-data regime and the example-level uncertainty of every comparison.

What only chapter 1 needs: a builder for the chapter's MLPs (PyTorch's or Keras's
Glorot initialisation, optional weight decay), per-example scores of a trained
network, a nested bootstrap over seeds and evaluation examples, the slope of a
learning curve's last epochs (a noise baseline for "the validation loss has
turned up"), the epoch counts behind the puzzle in the Keras tutorial's log,
Keras-style validation splits, and the grid of a 2-D decision boundary.

Conventions: p is the DROP probability, q = 1 − p the keep probability.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models import MLP
from ..stats import mean_sd
from ..training import (
    Batch,
    History,
    Run,
    evaluate,
    final_values,
    run_seeds,
    to_tensors,
)
from ..validation import check_int, check_probability

__all__ = [
    "BootstrapInterval",
    "builder",
    "decision_grid",
    "epochs_val_above",
    "epochs_val_loss_below",
    "glorot_init_",
    "keras_style_split",
    "linear_layers",
    "lowest",
    "nested_bootstrap",
    "per_example",
    "run_regime",
    "scores",
    "split_study",
    "table",
    "tail_slope",
    "thinned_excess",
    "weight_bounds",
]


def linear_layers(net: nn.Module) -> list[nn.Linear]:
    """The `nn.Linear` layers of `net`, in the order `net.modules()` visits them."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def glorot_init_(net: nn.Module) -> nn.Module:
    """Keras's `Dense` initialisation, in place: every `Linear` weight drawn from
    U(−c, c) with c = √(6/(n_in + n_out)) (Glorot-uniform), biases zero.

    Returns `net`. Draws from torch's global generator.
    """
    for layer in linear_layers(net):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    return net


def weight_bounds(net: nn.Module, init: str) -> list[float]:
    """The bound c of the uniform initialisation U(−c, c) of each `Linear` weight.

    "torch": c = 1/√n_in (PyTorch's default, kaiming-uniform with a = √5);
    "glorot": c = √(6/(n_in + n_out)). Raises `ValueError` for another `init`.
    """
    layers = linear_layers(net)
    if init == "torch":
        return [layer.in_features**-0.5 for layer in layers]
    if init == "glorot":
        return [(6 / (m.in_features + m.out_features)) ** 0.5 for m in layers]
    raise ValueError(f"init must be 'torch' or 'glorot'; got init={init!r}")


def builder(
    p: float,
    hidden: Sequence[int],
    init: str = "torch",
    *,
    in_features: int = 20,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
) -> Callable[[int], tuple[nn.Module, torch.optim.Optimizer]]:
    """seed -> (model, optimizer) for `run_seeds`: `MLP(in_features, hidden, 1,
    dropout=p)` and Adam(lr), or AdamW(lr, weight_decay) when weight_decay > 0.

    `init="glorot"` re-initialises as Keras does (`glorot_init_`).
    """
    check_probability(p, "p")
    if init not in ("torch", "glorot"):
        raise ValueError(f"init must be 'torch' or 'glorot'; got init={init!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a number >= 0; got {weight_decay!r}")

    def build(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        net = MLP(in_features, list(hidden), 1, dropout=p)
        if init == "glorot":
            glorot_init_(net)
        if weight_decay > 0:
            return net, torch.optim.AdamW(
                net.parameters(), lr=lr, weight_decay=weight_decay
            )
        return net, torch.optim.Adam(net.parameters(), lr=lr)

    return build


def run_regime(
    p: float,
    hidden: Sequence[int],
    seeds: Sequence[int],
    train_set: Batch,
    eval_sets: dict[str, Batch],
    *,
    epochs: int,
    init: str = "torch",
    weight_decay: float = 0.0,
    device: torch.device | None = None,
) -> list[Run]:
    """One run per seed of the chapter's binary MLP: batches of 32, Adam at 10⁻³,
    `BCEWithLogitsLoss`, `eval_sets` measured after every epoch."""
    return run_seeds(
        builder(p, hidden, init, weight_decay=weight_decay),
        seeds,
        *train_set,
        config=p,
        loss_fn=nn.BCEWithLogitsLoss(),
        epochs=epochs,
        batch_size=32,
        eval_sets=eval_sets,
        device=device,
    )


def lowest(runs: Sequence[Run], name: str = "val_loss") -> np.ndarray:
    """The smallest value of `name` over each run's epochs: one value per run."""
    return np.array([min(r.history[name]) for r in runs])


def per_example(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example binary cross-entropy ℓᵢ = log(1 + e^{zᵢ}) − yᵢ zᵢ and
    correctness [1(zᵢ > 0) = yᵢ] of `model` in eval mode (mode restored after)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            z = model(x.to(device)).reshape(-1).double().cpu()
    finally:
        model.train(was_training)
    yf = y.reshape(-1).double().cpu()
    loss = nn.functional.binary_cross_entropy_with_logits(z, yf, reduction="none")
    correct = ((z > 0).double() == yf).double()
    return loss.numpy(), correct.numpy()


def scores(
    runs: Sequence[Run], x: torch.Tensor, y: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """`per_example` for each run's final network: (losses, correct), each
    [n_runs, n_examples], row s from run s."""
    pairs = []
    for r in runs:
        if r.model is None:
            raise ValueError("every run must keep its model (keep_models=True)")
        pairs.append(per_example(r.model, x, y))
    return np.array([a for a, _ in pairs]), np.array([c for _, c in pairs])


@dataclass(frozen=True)
class BootstrapInterval:
    """Mean difference and percentile interval of a nested bootstrap."""

    mean: float
    lo: float
    hi: float
    level: float
    n_seeds: int
    n_examples: int

    def format(self, digits: int = 3) -> str:
        """`"+0.012 [-0.004, +0.028]"`."""
        return f"{self.mean:+.{digits}f} [{self.lo:+.{digits}f}, {self.hi:+.{digits}f}]"

    def __str__(self) -> str:
        return (
            f"{self.format(3)} ({round(100 * self.level)} % bootstrap interval over "
            f"{self.n_seeds} seeds and {self.n_examples} examples)"
        )


def nested_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    *,
    n_boot: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Interval for the mean paired difference over seeds AND evaluation examples.

    `a[s, i]`, `b[s, i]`: a per-example score (loss, correctness) of the network
    trained with seed s under configurations A and B, on example i. With
    dᵢₛ = aₛᵢ − bₛᵢ, each replicate draws n_s seeds and n_e examples with
    replacement (counts cₛ and eᵢ) and computes

        d̄* = Σₛ Σᵢ cₛ eᵢ dₛᵢ / (n_s n_e),

    the "pigeonhole" bootstrap of a crossed design (Owen 2007). The interval is
    the (1 ± level)/2 percentiles of d̄*: it covers both a new draw of training
    seeds and a new evaluation set of the same size from the same distribution.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] < 2 or d.shape[1] < 2:
        raise ValueError(
            f"a and b must have the same shape [n_seeds >= 2, n_examples >= 2]; "
            f"got {np.shape(a)} and {np.shape(b)}"
        )
    if not np.all(np.isfinite(d)):
        raise ValueError("a and b must be finite")
    n_boot = check_int(n_boot, "n_boot", 100)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got level={level!r}")
    ns, ne = d.shape
    rng = np.random.default_rng(seed)
    cs = rng.multinomial(ns, np.full(ns, 1 / ns), size=n_boot).astype(np.float64)
    ce = rng.multinomial(ne, np.full(ne, 1 / ne), size=n_boot).astype(np.float64)
    stats = np.einsum("bs,se,be->b", cs, d, ce) / (ns * ne)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapInterval(float(d.mean()), float(lo), float(hi), level, ns, ne)


def tail_slope(values: Sequence[float], k: int) -> float:
    """Least-squares slope per epoch of the last `k` values of a learning curve.

    With t = 0, …, k−1 and t̄ = (k−1)/2: slope = Σ (t − t̄) vₜ / Σ (t − t̄)².
    Under pure noise around a flat curve its mean is 0, so unlike "final minus
    lowest" (which is ≥ 0 by construction) it can serve as evidence that a
    curve has turned up.
    """
    k = check_int(k, "k", 2)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < k:
        raise ValueError(f"values must be 1-D with at least k={k} entries")
    t = np.arange(k, dtype=np.float64) - (k - 1) / 2
    return float(t @ v[-k:] / (t @ t))


def epochs_val_above(history: History, train_key: str = "train_acc") -> int:
    """Epochs in which `val_acc` is strictly above `history[train_key]`."""
    return sum(
        v > t for v, t in zip(history["val_acc"], history[train_key], strict=True)
    )


def epochs_val_loss_below(history: History) -> int:
    """Epochs in which `val_loss` is strictly below the logged `train_loss`."""
    return sum(
        v < t for v, t in zip(history["val_loss"], history["train_loss"], strict=True)
    )


def keras_style_split(
    x: np.ndarray, y: np.ndarray, random_state: int
) -> tuple[Batch, Batch]:
    """(train, validation) as the Keras tutorial makes them: an unstratified
    `train_test_split(x, y, test_size=0.2, random_state=...)`, then Keras's
    `validation_split=0.2`, the LAST 20 % of the remaining rows."""
    from sklearn.model_selection import train_test_split

    x_rest, _, y_rest, _ = train_test_split(
        x, y, test_size=0.2, random_state=random_state
    )
    x_rest = np.asarray(x_rest, dtype=np.float32)
    cut = len(x_rest) - round(0.2 * len(x_rest))
    return to_tensors(x_rest[:cut], y_rest[:cut]), to_tensors(
        x_rest[cut:], y_rest[cut:]
    )


def thinned_excess(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    passes: int = 10,
) -> tuple[float, float]:
    """(loss, accuracy) of the thinned networks minus those of the full network,
    same weights, on (x, y); each example is scored with `passes` fresh masks."""
    passes = check_int(passes, "passes", 1)
    bce = nn.BCEWithLogitsLoss()
    x_rep, y_rep = x.repeat(passes, 1), y.repeat(passes)
    thin = evaluate(model, x_rep, y_rep, bce, dropout_on=True)
    full = evaluate(model, x, y, bce)
    return thin[0] - full[0], thin[1] - full[1]


def decision_grid(
    model: nn.Module, lim: float, n: int = 101
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, P) on an n × n grid over [−lim, lim]²: P = σ(model(x)) in eval mode
    for a model taking 2-D inputs and returning one logit per row."""
    n = check_int(n, "n", 2)
    axis = np.linspace(-lim, lim, n)
    xx, yy = np.meshgrid(axis, axis)
    grid = torch.tensor(np.c_[xx.ravel(), yy.ravel()], dtype=torch.float32)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            prob = torch.sigmoid(model(grid.to(device)).reshape(-1)).cpu().numpy()
    finally:
        model.train(was_training)
    return xx, yy, prob.reshape(n, n)


def table(
    runs: dict[float, Sequence[Run]],
    rows: Sequence[str],
    extra: dict[str, dict[float, np.ndarray]] | None = None,
) -> str:
    """A text table: one column per rate p, one row per metric, each cell the
    mean ± sd over seeds of the metric after the last epoch (or of
    `extra[row][p]`, one value per seed)."""
    lines = [
        f"{'after the last epoch':<24}" + "".join(f"{f'p = {p}':>16}" for p in runs)
    ]
    for name in rows:
        cells = []
        for p, rs in runs.items():
            values = extra[name][p] if extra and name in extra else None
            if values is None:
                values = final_values(list(rs), name)
            cells.append(mean_sd(values).format(3))
        lines.append(f"{name:<24}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def split_study(
    x: np.ndarray,
    y: np.ndarray,
    random_states: Sequence[int],
    init: str,
    *,
    p: float = 0.5,
    passes: int = 10,
    device: torch.device | None = None,
) -> dict[str, np.ndarray]:
    """The tutorial's p = 0.5 network trained once on each Keras-style split
    (`keras_style_split` with that random_state, seed = random_state), 20 epochs.

    Returns one value per split: `acc_above` (epochs with validation accuracy
    above the logged training accuracy), `loss_below` (epochs with validation
    loss below the logged training loss), `e1_train`/`e1_val` (the two accuracies
    after epoch 1) and `thin_excess` (thinned minus full training loss of the
    final weights, `thinned_excess`).
    """
    out: dict[str, list[float]] = {
        k: [] for k in ("acc_above", "loss_below", "e1_train", "e1_val", "thin_excess")
    }
    for r in random_states:
        tr, va = keras_style_split(x, y, r)
        (run,) = run_regime(
            p, [64, 64], [r], tr, {"val": va}, epochs=20, init=init, device=device
        )
        h = run.history
        out["acc_above"].append(epochs_val_above(h))
        out["loss_below"].append(epochs_val_loss_below(h))
        out["e1_train"].append(h["train_acc"][0])
        out["e1_val"].append(h["val_acc"][0])
        if run.model is None:  # run_regime keeps models; guard for mypy and -O
            raise RuntimeError("run_regime returned a run without its model")
        out["thin_excess"].append(thinned_excess(run.model, *tr, passes=passes)[0])
    return {k: np.array(v) for k, v in out.items()}
