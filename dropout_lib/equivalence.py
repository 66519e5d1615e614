"""Classic and inverted dropout trained side by side: when are they the same algorithm?

Two one-hidden-layer networks share the first layer (U, b) and the output
bias c, and differ only in the dropped layer's scaling and in the weights
that read it:

* classic:  training z = V (m ⊙ a) + c, test z = q V a + c;
* inverted: training z = W (m ⊙ a) / q + c, test z = W a + c;

with a = ReLU(U x + b), mask mᵢ ~ Bernoulli(q)
and q = 1 − p. With W = q V both compute the same function (in
training, for the same mask, and at test), and ∂L/∂V =
q ∂L/∂W while U, b, c get identical gradients. Hence
the trajectories coincide when the classic net's `V` uses the learning rate
η_V = η_W / q² (SGD, SGD with momentum) or η_W / q
(Adam, RMSProp and Adagrad with ε → 0; exactly with
ε_V = q ε_W), with an L2 coefficient
λ_V = q² λ_W added to the loss, or a decoupled (AdamW)
decay λ_V = q λ_W (PyTorch's AdamW couples the
shrink to the learning rate, V ← V − η_V λ_V V, which is where the factor q
comes from).

Three further conditions, each measurable with `side_by_side`:

* a max-norm constraint ‖row‖ ≤ c on the reader's rows needs the
  radius c_V = c_W / q (`max_norm`, `max_norm_scale`), because V = W / q;
* Adagrad's initial accumulator (`adagrad_init`) must be q² times as large
  for V, because V's squared gradients are q² times W's (`adagrad_init_scale`);
* clipping the global gradient norm (`clip_norm`) breaks the equivalence
  whenever it is active: the classic net's norm mixes V's gradient, smaller
  by q, with the shared layers' gradients, so the two nets are clipped by
  different factors and no learning-rate choice repairs it.

`side_by_side` trains both nets on the same batches with the same masks and
records how far apart they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .validation import check_int, check_probability, check_seed

__all__ = [
    "ADAPTIVE",
    "OPTIMIZERS",
    "EquivalenceRun",
    "next_layer_decay_scale",
    "next_layer_lr_scale",
    "side_by_side",
]

Optimizer = Literal["sgd", "momentum", "adam", "rmsprop", "adagrad"]
Decay = Literal["coupled", "decoupled"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "rmsprop", "adagrad")
#: The optimizers whose step divides by a running gradient scale.
ADAPTIVE: tuple[str, ...] = ("adam", "rmsprop", "adagrad")


def _check_optimizer(optimizer: str) -> None:
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {OPTIMIZERS}; got optimizer={optimizer!r}"
        )


def next_layer_lr_scale(p: float, optimizer: Optimizer) -> float:
    """The factor η_V / η_W that makes classic training track inverted
    training.

    1/q² for `"sgd"` and `"momentum"` (the update is linear in the
    gradient, which shrinks by q, and the weights themselves differ by
    q); 1/q for `"adam"`, `"rmsprop"` and `"adagrad"` (their
    steps are invariant to the gradient's scale as ε → 0, so only
    the weights' factor q remains).
    Raises `ValueError` for p = 1, where nothing is kept and no factor exists.
    """
    p = check_probability(p, "p", below_one=True)
    _check_optimizer(optimizer)
    q = 1.0 - p
    return 1.0 / q**2 if optimizer in ("sgd", "momentum") else 1.0 / q


def next_layer_decay_scale(p: float, decay: Decay = "coupled") -> float:
    """The factor λ_V / λ_W for the weight decay of the classic
    net's `V`.

    `"coupled"` (an L2 term (λ/2) ‖·‖² in the
    loss, any optimizer): q², because (λ_V/2) ‖V‖²
    = (λ_V/(2 q²)) ‖W‖² must be the same penalty.
    `"decoupled"` (AdamW, V ← V − η_V λ_V V beside the
    Adam step, with η_V = η_W / q): q, because the shrink
    factors 1 − ηλ of the two nets must agree.
    """
    p = check_probability(p, "p", below_one=True)
    if decay not in ("coupled", "decoupled"):
        raise ValueError(f"decay must be 'coupled' or 'decoupled'; got decay={decay!r}")
    q = 1.0 - p
    return q**2 if decay == "coupled" else q


@dataclass(frozen=True)
class EquivalenceRun:
    """What `side_by_side` measured.

    `max_param_diff[t]` is, after `t` steps, the largest absolute difference
    between the inverted net's parameters and the classic net's parameters mapped
    to the inverted parametrisation (U, b, c unchanged, V ↦ qV).
    `max_train_output_diff[t]` compares the two nets' training-mode outputs on
    step `t`'s batch and mask (before the update); `max_test_output_diff`
    compares the test-mode outputs on the whole data set after the last step.
    `loss_inverted[t]` is the inverted net's training loss on step `t`.
    """

    max_param_diff: np.ndarray
    max_train_output_diff: np.ndarray
    max_test_output_diff: float
    loss_inverted: np.ndarray
    lr_scale: float


def _toy_data(
    n: int, d_in: int, n_classes: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A small, learnable classification problem: labels from a linear teacher."""
    x = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    teacher = torch.randn(d_in, n_classes, generator=gen, dtype=torch.float64)
    return x, (x @ teacher).argmax(dim=1)


def side_by_side(
    p: float,
    optimizer: Optimizer = "sgd",
    lr: float = 0.05,
    steps: int = 100,
    *,
    lr_scale: float | None = None,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    decay: Decay = "coupled",
    decay_scale: float | None = None,
    adam_eps: float = 1e-8,
    scale_eps: bool = True,
    clip_norm: float | None = None,
    max_norm: float | None = None,
    max_norm_scale: float | None = None,
    adagrad_init: float = 0.0,
    adagrad_init_scale: float | None = None,
    hidden: int = 32,
    d_in: int = 10,
    n_classes: int = 3,
    n_samples: int = 256,
    batch_size: int = 32,
    seed: int = 0,
) -> EquivalenceRun:
    """Train a classic-dropout net and an inverted-dropout net in lock step (float64).

    Both start from the same draw, mapped so that W₀ = q V₀; each step
    uses the same mini-batch and the same dropout mask in both. The inverted net's
    parameters all use learning rate `lr`, as do the classic net's U, b, c;
    the classic net's V uses `lr * lr_scale` (default: the theorem's
    `next_layer_lr_scale`; pass `lr_scale=1.0` for equal rates). L2
    `weight_decay` λ is added to the gradients (`torch.optim`'s
    coupled form, `decay="coupled"`) of every weight, or, with
    `decay="decoupled"` and `optimizer="adam"`, applied as AdamW's decoupled
    shrink; the classic V gets `decay_scale` times λ
    (default `next_layer_decay_scale`: q² coupled, q
    decoupled). For the adaptive optimizers (`ADAPTIVE`), `scale_eps=True`
    gives the classic V the ε value q ε,
    which makes the correspondence exact; with `scale_eps=False` it holds only
    up to terms of order ε.

    `clip_norm` clips each net's global gradient norm (all its parameters, as
    `torch.nn.utils.clip_grad_norm_`) before every step. `max_norm` c
    renormalises, after every step, each row of U and of the inverted reader W
    to norm at most c, and each row of the classic V to at most
    c · `max_norm_scale` (default 1/q). `adagrad_init` is Adagrad's
    initial accumulator for the inverted net; the classic V starts with
    `adagrad_init_scale` times it (default q²).

    Returns an `EquivalenceRun` with one entry per step (`steps + 1`
    parameter differences, counting the start).
    """
    p = check_probability(p, "p", below_one=True)
    _check_optimizer(optimizer)
    steps = check_int(steps, "steps", 1)
    hidden = check_int(hidden, "hidden", 1)
    d_in = check_int(d_in, "d_in", 1)
    n_samples = check_int(n_samples, "n_samples", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    n_classes = check_int(n_classes, "n_classes", 2)
    seed = check_seed(seed)
    if decay not in ("coupled", "decoupled"):
        raise ValueError(f"decay must be 'coupled' or 'decoupled'; got decay={decay!r}")
    if decay == "decoupled" and optimizer != "adam":
        raise ValueError("decay='decoupled' (AdamW) needs optimizer='adam'")
    for name, value in (
        ("lr", lr),
        ("momentum", momentum),
        ("weight_decay", weight_decay),
        ("adam_eps", adam_eps),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not np.isfinite(value)
            or value < 0
        ):
            raise ValueError(
                f"{name} must be a finite number >= 0; got {name}={value!r}"
            )
    if lr == 0:
        raise ValueError("lr must be > 0")
    for opt_name, opt_value in (
        ("clip_norm", clip_norm),
        ("max_norm", max_norm),
        ("max_norm_scale", max_norm_scale),
        ("adagrad_init_scale", adagrad_init_scale),
        ("adagrad_init", adagrad_init),
    ):
        if opt_value is not None and (
            isinstance(opt_value, bool)
            or not isinstance(opt_value, (int, float))
            or not np.isfinite(opt_value)
            or opt_value < 0
            or (opt_value == 0 and opt_name != "adagrad_init")
        ):
            raise ValueError(
                f"{opt_name} must be a finite number > 0 (adagrad_init >= 0) or None; "
                f"got {opt_name}={opt_value!r}"
            )
    if adagrad_init and optimizer != "adagrad":
        raise ValueError("adagrad_init needs optimizer='adagrad'")
    q = 1.0 - p
    norm_scale = 1.0 / q if max_norm_scale is None else float(max_norm_scale)
    init_scale = q**2 if adagrad_init_scale is None else float(adagrad_init_scale)
    scale = next_layer_lr_scale(p, optimizer) if lr_scale is None else float(lr_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"lr_scale must be a finite number > 0; got lr_scale={lr_scale!r}"
        )
    wd_scale = (
        next_layer_decay_scale(p, decay) if decay_scale is None else float(decay_scale)
    )
    if not np.isfinite(wd_scale) or wd_scale < 0:
        raise ValueError(
            f"decay_scale must be a finite number >= 0; got decay_scale={decay_scale!r}"
        )

    gen = torch.Generator().manual_seed(int(seed))
    x, y = _toy_data(int(n_samples), int(d_in), int(n_classes), gen)
    f64 = torch.float64
    U0 = torch.randn(hidden, d_in, generator=gen, dtype=f64) / np.sqrt(d_in)
    b0 = torch.zeros(hidden, dtype=f64)
    W0 = torch.randn(n_classes, hidden, generator=gen, dtype=f64) / np.sqrt(hidden)
    c0 = torch.zeros(n_classes, dtype=f64)

    inv = {
        k: t.clone().requires_grad_(True)
        for k, t in dict(U=U0, b=b0, W=W0, c=c0).items()
    }
    cla = {
        k: t.clone().requires_grad_(True)
        for k, t in dict(U=U0, b=b0, V=W0 / q, c=c0).items()
    }

    def groups(
        params: dict[str, torch.Tensor], next_name: str, next_lr: float, next_wd: float
    ) -> list[dict[str, Any]]:
        return [
            {"params": [params["U"]], "lr": lr, "weight_decay": weight_decay},
            {"params": [params["b"], params["c"]], "lr": lr, "weight_decay": 0.0},
            {"params": [params[next_name]], "lr": next_lr, "weight_decay": next_wd},
        ]

    g_inv = groups(inv, "W", lr, weight_decay)
    g_cla = groups(cla, "V", lr * scale, weight_decay * wd_scale)
    opt_inv: torch.optim.Optimizer
    opt_cla: torch.optim.Optimizer
    if optimizer in ADAPTIVE:
        cls = {
            "adam": torch.optim.AdamW if decay == "decoupled" else torch.optim.Adam,
            "rmsprop": torch.optim.RMSprop,
            "adagrad": torch.optim.Adagrad,
        }[optimizer]
        if optimizer == "adagrad":
            opt_inv = torch.optim.Adagrad(
                g_inv, lr=lr, eps=adam_eps, initial_accumulator_value=adagrad_init
            )
            opt_cla = torch.optim.Adagrad(
                g_cla, lr=lr, eps=adam_eps, initial_accumulator_value=adagrad_init
            )
            opt_cla.state[cla["V"]]["sum"].fill_(adagrad_init * init_scale)
        else:
            opt_inv = cls(g_inv, lr=lr, eps=adam_eps)
            opt_cla = cls(g_cla, lr=lr, eps=adam_eps)
        if scale_eps:
            opt_cla.param_groups[2]["eps"] = adam_eps * q
    else:
        mom = momentum if optimizer == "momentum" else 0.0
        opt_inv = torch.optim.SGD(g_inv, lr=lr, momentum=mom)
        opt_cla = torch.optim.SGD(g_cla, lr=lr, momentum=mom)

    loss_fn = torch.nn.CrossEntropyLoss()

    def hidden_act(params: dict[str, torch.Tensor], xb: torch.Tensor) -> torch.Tensor:
        return torch.relu(xb @ params["U"].T + params["b"])

    def param_diff() -> float:
        with torch.no_grad():
            diffs = [(inv[k] - cla[k]).abs().max().item() for k in ("U", "b", "c")]
            diffs.append((inv["W"] - q * cla["V"]).abs().max().item())
        return float(max(diffs))

    mask_gen = torch.Generator().manual_seed(int(seed) + 1)
    order_gen = torch.Generator().manual_seed(int(seed) + 2)
    param_diffs = [param_diff()]
    out_diffs, losses = [], []
    order = torch.randperm(int(n_samples), generator=order_gen)
    pos = 0
    for _ in range(int(steps)):
        if pos + batch_size > n_samples:
            order, pos = torch.randperm(int(n_samples), generator=order_gen), 0
        idx = order[pos : pos + batch_size]
        pos += batch_size
        xb, yb = x[idx], y[idx]
        mask = (torch.rand(len(idx), hidden, generator=mask_gen, dtype=f64) < q).to(
            torch.float64
        )
        z_inv = (hidden_act(inv, xb) * mask / q) @ inv["W"].T + inv["c"]
        z_cla = (hidden_act(cla, xb) * mask) @ cla["V"].T + cla["c"]
        out_diffs.append((z_inv - z_cla).abs().max().item())
        for opt, z in ((opt_inv, z_inv), (opt_cla, z_cla)):
            loss = loss_fn(z, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(
                    [t for group in opt.param_groups for t in group["params"]],
                    clip_norm,
                )
            opt.step()
            if opt is opt_inv:
                losses.append(loss.item())
        if max_norm is not None:
            with torch.no_grad():
                for tensor, radius in (
                    (inv["U"], max_norm),
                    (cla["U"], max_norm),
                    (inv["W"], max_norm),
                    (cla["V"], max_norm * norm_scale),
                ):
                    norms = tensor.norm(dim=1, keepdim=True)
                    tensor.mul_(torch.clamp(radius / norms, max=1.0))
        param_diffs.append(param_diff())
    with torch.no_grad():
        test_inv = hidden_act(inv, x) @ inv["W"].T + inv["c"]
        test_cla = (q * hidden_act(cla, x)) @ cla["V"].T + cla["c"]
        test_diff = (test_inv - test_cla).abs().max().item()
    return EquivalenceRun(
        max_param_diff=np.array(param_diffs),
        max_train_output_diff=np.array(out_diffs),
        max_test_output_diff=float(test_diff),
        loss_inverted=np.array(losses),
        lr_scale=scale,
    )
