"""Chapter 5's study (`chapters/05_d2l`): dropout from scratch, the d2l way.

*Dive into Deep Learning* (d2l) builds dropout from one tensor expression: keep an
entry when a uniform draw u ~ U[0, 1) exceeds the drop probability
p, and divide the kept entries by the keep probability q = 1 − p.
Because P(u > p) = 1 − p = q for 0 ≤ p < 1, the output
h'ᵢ = [uᵢ > p] hᵢ / q has E[h'ᵢ] = hᵢ and
Var[h'ᵢ] = hᵢ² p / q.

This module holds the chapter's code:

* `dropout_layer` and `D2LNet`, d2l's function and network written
  our own way: the mask is made on the input's device, `p` is checked with a
  real `ValueError` (not an `assert`), and the network asks
  `nn.Module.training` whether to drop, so `model.eval()` switches it off;
* two variants for d2l's exercises: `DropConnectNet` (dropout applied to
  the weights, Wan et al. 2013) and `GaussianNoiseNet` (multiplicative
  Gaussian noise with dropout's mean and variance);
* `d2l_runs`, which trains one configuration over several seeds through
  the course's one harness (`dropout_lib.training.run_seeds`, one
  `dropout_lib.training.Run` per seed, the gap from `Run.gap`);
* small measurements the chapter reports: `activation_variances`,
  `largest_fall`, `class_balanced_subset`.

The flawed variants the chapter warns about live in
`dropout_lib.studies.d2l_pitfalls`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nn import eval_mode, preserve_modes
from ..training import Batch, History, Run, evaluate, run_seeds
from ..validation import check_int, check_probability, check_seed, check_tensor

__all__ = [
    "D2LNet",
    "DropConnectNet",
    "GaussianNoiseNet",
    "activation_variances",
    "check_float_tensor",
    "class_balanced_subset",
    "d2l_runs",
    "dropout_layer",
    "gaussian_noise_layer",
    "largest_fall",
]


def check_float_tensor(x: object, name: str = "X") -> torch.Tensor:
    """Check that `x` is a real floating-point `torch.Tensor` and return it.

    Dropout rescales by 1/(1−p), which has no meaning for integer, bool or
    complex tensors. Raises `TypeError` for anything else (the tensor check
    itself is `dropout_lib.validation.check_tensor`).
    """
    t: torch.Tensor = check_tensor(x, name)
    if not t.is_floating_point():  # False for integer, bool and complex tensors
        raise TypeError(
            f"{name} must be a real floating-point tensor (dropout rescales by "
            f"1/(1-p)); got dtype {t.dtype}"
        )
    return t


def dropout_layer(
    X: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout as in d2l: h' = [u > p] ⊙ h / (1 − p).

    Each entry is kept with probability P(u > p) = 1 − p,
    u ~ U[0, 1), and then divided by 1 − p, so
    E[h'] = h. The two ends are special cases, as in d2l:
    `p == 0` returns `X` unchanged and `p == 1` returns zeros (the formula
    would divide by zero).

    Parameters
    ----------
    X : torch.Tensor
        Real floating-point activations, on any device. Never modified.
    p : float
        DROP probability, 0 ≤ p ≤ 1.
    generator : torch.Generator, optional
        Source of the uniform draws; it must live on `X.device`.

    Returns
    -------
    torch.Tensor
        A tensor shaped like `X`, with its dtype and device. For `p == 0`
        this is `X` itself (no copy is needed since nothing writes to it).

    Raises
    ------
    TypeError
        If `X` is not a real floating-point tensor or `p` is not a real number.
    ValueError
        If `p` is outside [0, 1] (also under `python -O`, unlike an `assert`).
    """
    p = check_probability(p, "p")
    X = check_float_tensor(X, "X")
    if p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    u = torch.rand(X.shape, device=X.device, dtype=X.dtype, generator=generator)
    mask = (u > p).to(X.dtype)
    return mask * X / (1.0 - p)


def gaussian_noise_layer(
    X: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Multiplicative Gaussian noise with dropout's first two moments.

    h' = h (1 + σ ε), ε ~ N(0, 1),
    σ² = p / (1 − p), so E[h'] = h and
    Var[h'] = h² p / (1 − p), exactly the mean and
    variance of inverted dropout with drop probability p (Srivastava et
    al. 2014, section 10). `p == 0` returns `X`; `p == 1` has infinite
    variance and raises `ValueError`. `X` is never modified.
    """
    p = check_probability(p, "p", below_one=True)
    X = check_float_tensor(X, "X")
    if p == 0.0:
        return X
    eps = torch.randn(X.shape, device=X.device, dtype=X.dtype, generator=generator)
    return X * (1.0 + math.sqrt(p / (1.0 - p)) * eps)


class D2LNet(nn.Module):
    """d2l's from-scratch MLP: `784 -> 256 -> 256 -> 10`, ReLU, two dropout layers.

    In symbols:

        H₁ = ReLU(X W₁ + b₁),    H̃₁ = drop_p₁(H₁),
        H₂ = ReLU(H̃₁ W₂ + b₂),    H̃₂ = drop_p₂(H₂),
        O = H̃₂ W₃ + b₃,

    where drop_p is `noise` (`dropout_layer`) while
    `dropping` is true (in training mode) and the identity after
    `model.eval()`. The logits O go into `nn.CrossEntropyLoss`.
    Images of any shape `(N, ...)` with `num_inputs` values each are
    flattened first.
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
        self.num_inputs = check_int(num_inputs, "num_inputs", 1)
        h1 = check_int(widths[0], "num_hiddens[0]", 1)
        h2 = check_int(widths[1], "num_hiddens[1]", 1)
        num_outputs = check_int(num_outputs, "num_outputs", 1)
        self.lin1 = nn.Linear(self.num_inputs, h1)
        self.lin2 = nn.Linear(h1, h2)
        self.lin3 = nn.Linear(h2, num_outputs)
        self.relu = nn.ReLU()

    def dropping(self) -> bool:
        """Whether the forward pass applies dropout: here exactly `self.training`."""
        return self.training

    def noise(self, H: torch.Tensor, p: float) -> torch.Tensor:
        """The noise applied to a hidden layer in training: `dropout_layer`."""
        return dropout_layer(H, p)

    def hidden(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two hidden layers as the next layer sees them, (H̃₁,
        H̃₂) (after the noise when `dropping`)."""
        H1 = self.relu(self.lin1(X.reshape(-1, self.num_inputs)))
        if self.dropping():
            H1 = self.noise(H1, self.dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.dropping():
            H2 = self.noise(H2, self.dropout2)
        return H1, H2

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.lin3(self.hidden(X)[1])
        return logits

    def extra_repr(self) -> str:
        return f"dropout1={self.dropout1}, dropout2={self.dropout2}"


class GaussianNoiseNet(D2LNet):
    """`D2LNet` with multiplicative Gaussian noise instead of dropout.

    Each hidden layer is multiplied in training by 1 + σε
    with σ² = p/(1−p) (`gaussian_noise_layer`): the same
    mean and variance per unit as dropout with rate p, but no unit is
    ever switched off. Both rates must be below 1.
    """

    def __init__(
        self, dropout1: float = 0.2, dropout2: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(dropout1, dropout2, **kwargs)
        check_probability(self.dropout1, "dropout1", below_one=True)
        check_probability(self.dropout2, "dropout2", below_one=True)

    def noise(self, H: torch.Tensor, p: float) -> torch.Tensor:
        return gaussian_noise_layer(H, p)


class DropConnectNet(D2LNet):
    """`D2LNet` with dropout on the weights (DropConnect, Wan et al. 2013).

    In training the weights that read hidden layer k are dropped
    instead of its units:
    H₂ = ReLU(H₁ drop_p₁(W₂) + b₂),
    O = H₂ drop_p₂(W₃) + b₃, with inverted scaling,
    so E[drop_p(W)] = W and eval mode uses W.
    Dropping unit j is dropping the whole row j of the next
    weight matrix; DropConnect drops each weight on its own. One weight mask is
    drawn per mini-batch (Wan et al. draw one per example, which costs a weight
    matrix per example).
    """

    def hidden(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        H1 = self.relu(self.lin1(X.reshape(-1, self.num_inputs)))
        W2 = self.lin2.weight
        if self.dropping():
            W2 = dropout_layer(W2, self.dropout1)
        H2 = self.relu(F.linear(H1, W2, self.lin2.bias))
        return H1, H2

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        H2 = self.hidden(X)[1]
        W3 = self.lin3.weight
        if self.dropping():
            W3 = dropout_layer(W3, self.dropout2)
        return F.linear(H2, W3, self.lin3.bias)


@torch.no_grad()
def activation_variances(model: D2LNet, X: torch.Tensor) -> dict[str, float]:
    """Variance of each hidden layer's units over the examples `X`, dropout off/on.

    For layer k with activations hₙⱼ (example n, unit
    j), the value is the mean over units of the variance over examples,
    (1/J) Σⱼ Varₙ[hₙⱼ] (sample variance). It
    is measured twice: in eval mode (`var_h{k}_eval`, dropout off: what the
    trained weights produce) and in training mode (`var_h{k}_train`, after the
    noise: what the next layer sees during training; for dropout with rate
    p a unit's variance is E[h²]/(1−p) − E[h]²).
    Every module's mode is restored afterwards, and so is the state of torch's
    random generators: the training-mode masks drawn here do not shift the masks
    of the training run that calls this between epochs.
    """
    if not isinstance(model, D2LNet):
        raise TypeError(f"model must be a D2LNet; got {type(model).__name__}")
    X = check_float_tensor(X, "X").to(next(model.parameters()).device)
    out: dict[str, float] = {}
    cuda = [X.device] if X.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), eval_mode(model):
        for k, H in enumerate(model.hidden(X), start=1):
            out[f"var_h{k}_eval"] = H.var(dim=0).mean().item()
    with torch.random.fork_rng(devices=cuda), preserve_modes(model):
        model.train()
        for k, H in enumerate(model.hidden(X), start=1):
            out[f"var_h{k}_train"] = H.var(dim=0).mean().item()
    return out


def d2l_runs(
    dropout1: float,
    dropout2: float,
    train_data: Batch,
    test_data: Batch,
    *,
    seeds: Sequence[int],
    epochs: int,
    lr: float,
    batch_size: int = 256,
    weight_decay: float = 0.0,
    net: type[D2LNet] = D2LNet,
    eval_every: int = 1,
    probe: torch.Tensor | None = None,
    device: torch.device | None = None,
    keep_models: bool = True,
    eval_train: bool = True,
) -> list[Run]:
    """Train a fresh `net(dropout1, dropout2)` per seed the way d2l does.

    d2l's recipe: plain SGD (learning rate `lr`), mean cross-entropy,
    shuffled mini-batches of `batch_size`. `weight_decay` λ
    adds λθ to every parameter's gradient (biases included),
    i.e. minimises L + (λ/2) ‖θ‖².
    The runs go through `dropout_lib.training.run_seeds`: the seed fixes
    the initial weights, the batch order and the dropout masks, and two
    configurations trained with the same seeds are paired.

    Every `eval_every` epochs and after the last one, the whole training set
    (eval mode, dropout off) and the test set are evaluated and appended to the
    history as `train_eval_loss/acc` and `test_loss/acc`, with the epoch
    number under `eval_epoch`; with a `probe` batch, the
    `activation_variances` are appended at the same epochs. So
    `run.final("test_acc")` is the final test accuracy and `run.gap()` the
    final train-minus-test accuracy gap. With `eval_train=False` only the test
    set is evaluated (cheaper; `run.gap()` is then unavailable).
    `config` is `(dropout1, dropout2)`.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number; got lr={lr!r}")
    if (
        isinstance(weight_decay, bool)
        or not isinstance(weight_decay, (int, float))
        or not weight_decay >= 0
    ):
        raise ValueError(
            "weight_decay must be a non-negative number; "
            f"got weight_decay={weight_decay!r}"
        )
    if not isinstance(eval_train, bool):
        raise TypeError(f"eval_train must be a bool; got {eval_train!r}")
    if not (isinstance(net, type) and issubclass(net, D2LNet)):
        raise TypeError(f"net must be D2LNet or a subclass; got {net!r}")
    epochs = check_int(epochs, "epochs", 1)
    eval_every = check_int(eval_every, "eval_every", 1)
    p1 = check_probability(dropout1, "dropout1")
    p2 = check_probability(dropout2, "dropout2")
    loss_fn = nn.CrossEntropyLoss()

    def build(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = net(p1, p2)
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
        return model, opt

    def measure(epoch: int, model: nn.Module, history: History) -> None:
        if (epoch + 1) % eval_every and epoch + 1 != epochs:
            return
        record: dict[str, float] = {"eval_epoch": epoch + 1}
        sets = (("train_eval", train_data), ("test", test_data))
        for name, (x, y) in sets if eval_train else sets[1:]:
            record[f"{name}_loss"], record[f"{name}_acc"] = evaluate(
                model, x, y, loss_fn
            )
        if probe is not None:
            record.update(activation_variances(model, probe))  # type: ignore[arg-type]
        history.append(**record)

    return run_seeds(
        build,
        seeds,
        *train_data,
        config=(p1, p2),
        keep_models=keep_models,
        loss_fn=loss_fn,
        epochs=epochs,
        batch_size=batch_size,
        device=device,
        on_epoch_end=measure,
    )


def largest_fall(values: Sequence[float] | np.ndarray) -> float:
    """The largest drop between consecutive values, maxₜ (vₜ − vₜ₊₁).

    Applied to a run's test accuracy after each epoch it measures the worst
    single-epoch setback; 0 for a curve that never goes down. Needs at least two
    values.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be 1-D with at least 2 entries; got {v.shape}")
    return float(max(0.0, np.max(v[:-1] - v[1:])))


def class_balanced_subset(
    labels: torch.Tensor, per_class: int, seed: int = 0
) -> torch.Tensor:
    """Indices of `per_class` examples of every class, drawn without replacement.

    The classes are those present in the integer tensor `labels`; the draw
    uses `numpy.random.default_rng(seed)` and the indices are returned sorted
    (an int64 tensor of `per_class` times the number of classes entries).
    Raises `ValueError` when a class has fewer than `per_class` examples.
    """
    labels = check_tensor(labels, "labels", ndim=1)
    per_class = check_int(per_class, "per_class", 1)
    rng = np.random.default_rng(check_seed(seed))
    y = labels.cpu().numpy()
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < per_class:
            raise ValueError(
                f"class {c} has {idx.size} examples, fewer than per_class={per_class}"
            )
        picked.append(rng.choice(idx, size=per_class, replace=False))
    return torch.as_tensor(np.sort(np.concatenate(picked)), dtype=torch.int64)
