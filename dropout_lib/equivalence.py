"""Classic and inverted dropout trained side by side: when are they the same algorithm?

Two one-hidden-layer networks share the first layer :math:`(U, b)` and the output
bias :math:`c`, and differ only in the dropped layer's scaling and in the weights
that read it:

* classic:  training :math:`z = V (m \\odot a) + c`, test :math:`z = q V a + c`;
* inverted: training :math:`z = W (m \\odot a) / q + c`, test :math:`z = W a + c`;

with :math:`a = \\mathrm{ReLU}(U x + b)`, mask :math:`m_i \\sim \\mathrm{Bernoulli}(q)`
and :math:`q = 1 - p`. With :math:`W = q V` both compute the same function (in
training, for the same mask, and at test), and :math:`\\partial L / \\partial V =
q\\, \\partial L / \\partial W` while :math:`U, b, c` get identical gradients. Hence
the trajectories coincide when the classic net's ``V`` uses the learning rate
:math:`\\eta_V = \\eta_W / q^2` (SGD, SGD with momentum) or :math:`\\eta_W / q`
(Adam with :math:`\\epsilon \\to 0`; exactly with :math:`\\epsilon_V = q\\,\\epsilon_W`),
and an L2 coefficient :math:`\\lambda_V = q^2 \\lambda_W`.
:func:`side_by_side` trains both nets on the same batches with the same masks and
records how far apart they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .validation import check_probability

__all__ = ["OPTIMIZERS", "EquivalenceRun", "next_layer_lr_scale", "side_by_side"]

Optimizer = Literal["sgd", "momentum", "adam"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam")


def _check_optimizer(optimizer: str) -> None:
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {OPTIMIZERS}; got optimizer={optimizer!r}"
        )


def next_layer_lr_scale(p: float, optimizer: Optimizer) -> float:
    """The factor :math:`\\eta_V / \\eta_W` that makes classic training track inverted training.

    :math:`1/q^2` for ``"sgd"`` and ``"momentum"`` (the update is linear in the
    gradient, which shrinks by :math:`q`, and the weights themselves differ by
    :math:`q`); :math:`1/q` for ``"adam"`` (its step is invariant to the gradient's
    scale as :math:`\\epsilon \\to 0`, so only the weights' factor :math:`q` remains).
    Raises ``ValueError`` for :math:`p = 1`, where nothing is kept and no factor exists.
    """
    p = check_probability(p, "p")
    _check_optimizer(optimizer)
    if p == 1.0:
        raise ValueError(
            "p must be < 1: with p = 1 every unit is dropped and the networks do not learn"
        )
    q = 1.0 - p
    return 1.0 / q**2 if optimizer in ("sgd", "momentum") else 1.0 / q


@dataclass(frozen=True)
class EquivalenceRun:
    """What :func:`side_by_side` measured.

    ``max_param_diff[t]`` is, after ``t`` steps, the largest absolute difference
    between the inverted net's parameters and the classic net's parameters mapped
    to the inverted parametrisation (:math:`U, b, c` unchanged, :math:`V \\mapsto qV`).
    ``max_train_output_diff[t]`` compares the two nets' training-mode outputs on
    step ``t``'s batch and mask (before the update); ``max_test_output_diff`` compares the
    test-mode outputs on the whole data set after the last step. ``loss_inverted[t]``
    is the inverted net's training loss on step ``t``.
    """

    max_param_diff: np.ndarray
    max_train_output_diff: np.ndarray
    max_test_output_diff: float
    loss_inverted: np.ndarray
    lr_scale: float


def _toy_data(
    n: int, d_in: int, n_classes: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A small, learnable classification problem: labels from a random linear teacher."""
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
    adam_eps: float = 1e-8,
    scale_eps: bool = True,
    hidden: int = 32,
    d_in: int = 10,
    n_classes: int = 3,
    n_samples: int = 256,
    batch_size: int = 32,
    seed: int = 0,
) -> EquivalenceRun:
    """Train a classic-dropout net and an inverted-dropout net in lock step (float64).

    Both start from the same draw, mapped so that :math:`W_0 = q V_0`; each step
    uses the same mini-batch and the same dropout mask in both. The inverted net's
    parameters all use learning rate ``lr``, as do the classic net's :math:`U, b, c`;
    the classic net's :math:`V` uses ``lr * lr_scale`` (default: the theorem's
    :func:`next_layer_lr_scale`; pass ``lr_scale=1.0`` for equal rates). L2
    ``weight_decay`` :math:`\\lambda` is added to the gradients (``torch.optim``'s
    coupled form) of every weight; the classic :math:`V` gets :math:`q^2 \\lambda`.
    For Adam, ``scale_eps=True`` gives the classic :math:`V` the :math:`\\epsilon`
    value :math:`q \\epsilon`, which makes the correspondence exact; with
    ``scale_eps=False`` it holds only up to terms of order :math:`\\epsilon`.

    Returns an :class:`EquivalenceRun` with one entry per step (``steps + 1``
    parameter differences, counting the start).
    """
    p = check_probability(p, "p")
    _check_optimizer(optimizer)
    if p == 1.0:
        raise ValueError(
            "p must be < 1: with p = 1 every unit is dropped and the networks do not learn"
        )
    for name, val in (
        ("steps", steps),
        ("hidden", hidden),
        ("d_in", d_in),
        ("n_classes", n_classes),
        ("n_samples", n_samples),
        ("batch_size", batch_size),
    ):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer; got {name}={val!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got n_classes={n_classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got seed={seed!r}")
    for name, val in (
        ("lr", lr),
        ("momentum", momentum),
        ("weight_decay", weight_decay),
        ("adam_eps", adam_eps),
    ):
        if (
            isinstance(val, bool)
            or not isinstance(val, (int, float))
            or not np.isfinite(val)
            or val < 0
        ):
            raise ValueError(f"{name} must be a finite number >= 0; got {name}={val!r}")
    if lr == 0:
        raise ValueError("lr must be > 0")
    q = 1.0 - p
    scale = next_layer_lr_scale(p, optimizer) if lr_scale is None else float(lr_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"lr_scale must be a finite number > 0; got lr_scale={lr_scale!r}"
        )

    gen = torch.Generator().manual_seed(int(seed))
    x, y = _toy_data(int(n_samples), int(d_in), int(n_classes), gen)
    f64 = dict(dtype=torch.float64)
    U0 = torch.randn(hidden, d_in, generator=gen, **f64) / np.sqrt(d_in)
    b0 = torch.zeros(hidden, **f64)
    W0 = torch.randn(n_classes, hidden, generator=gen, **f64) / np.sqrt(hidden)
    c0 = torch.zeros(n_classes, **f64)

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
    ) -> list[dict]:
        return [
            {"params": [params["U"]], "lr": lr, "weight_decay": weight_decay},
            {"params": [params["b"], params["c"]], "lr": lr, "weight_decay": 0.0},
            {"params": [params[next_name]], "lr": next_lr, "weight_decay": next_wd},
        ]

    g_inv = groups(inv, "W", lr, weight_decay)
    g_cla = groups(cla, "V", lr * scale, weight_decay * q**2)
    if optimizer == "adam":
        opt_inv = torch.optim.Adam(g_inv, lr=lr, eps=adam_eps)
        opt_cla = torch.optim.Adam(g_cla, lr=lr, eps=adam_eps)
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
        return max(diffs)

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
        mask = (torch.rand(len(idx), hidden, generator=mask_gen, **f64) < q).to(
            torch.float64
        )
        z_inv = (hidden_act(inv, xb) * mask / q) @ inv["W"].T + inv["c"]
        z_cla = (hidden_act(cla, xb) * mask) @ cla["V"].T + cla["c"]
        out_diffs.append((z_inv - z_cla).abs().max().item())
        for opt, z in ((opt_inv, z_inv), (opt_cla, z_cla)):
            loss = loss_fn(z, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if opt is opt_inv:
                losses.append(loss.item())
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
