"""Inference with a dropout network: weight scaling versus Monte Carlo averaging.

A network trained with dropout defines an ensemble of 2ⁿ thinned networks.
Two ways to predict with it:

* **weight scaling** (Hinton et al. 2012): one deterministic pass with every unit
  kept and the outgoing weights scaled by q (with inverted dropout that is
  simply `model.eval()`);
* **Monte Carlo averaging** (Srivastava et al. 2014, sec. 7.5): keep dropout on,
  run k passes with independent masks and average the predicted
  probabilities,
  ŷₖ = (1/k) Σⱼ₌₁ᵏ softmax(f(x; m⁽ʲ⁾)).

The two agree exactly only when everything after the dropped layer is linear (the
expectation argument); `mc_curve` measures the gap as k grows. The passes
themselves are drawn by `dropout_lib.uncertainty.mc_samples` (re-exported here
as `mc_samples`) and its batched twin `mc_samples_batched`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .ensemble import tv_distance
from .nn import dropout_active, eval_mode

# The Monte Carlo passes live in `uncertainty` (looped and batched, one seeding
# rule); `inference.mc_samples` is the same function under its first home's name.
from .uncertainty import Output, _check_output, _finish, mc_samples
from .validation import check_int, check_module, check_seed, check_tensor

__all__ = [
    "McCurve",
    "mc_curve",
    "mc_predict",
    "mc_samples",
    "next_layer_inputs",
    "weight_scaled_predict",
]


@torch.no_grad()
def weight_scaled_predict(
    model: nn.Module, x: torch.Tensor, output: Output = "probs"
) -> torch.Tensor:
    """One deterministic pass in eval mode (the weight-scaling rule).

    The model's modes are restored afterwards.
    """
    check_module(model)
    check_tensor(x)
    _check_output(output)
    with eval_mode(model):
        return _finish(model(x), output)


def mc_predict(
    model: nn.Module,
    x: torch.Tensor,
    k: int,
    *,
    seed: int | None = None,
    output: Output = "probs",
) -> torch.Tensor:
    """Monte Carlo average of `k` dropout passes,
    (1/k) Σⱼ softmax(f(x; m⁽ʲ⁾)).

    `output="logits"` averages the raw outputs instead. See `mc_samples`
    (`dropout_lib.uncertainty.mc_samples`, also importable from here) for
    `seed`.
    """
    return mc_samples(model, x, k, seed=seed, output=output).mean(dim=0)


@torch.no_grad()
def next_layer_inputs(
    model: nn.Module,
    x: torch.Tensor,
    *,
    dropout_on: bool | None = None,
    training: bool | None = None,
) -> list[torch.Tensor]:
    """The input of every `nn.Linear` but the first: what each later layer sees.

    In an `dropout_lib.models.MLP` these are the hidden activations after
    dropout when `dropout_on=True` (one sampled mask) and without dropout when
    `dropout_on=False`. Only the dropout layers are switched on in training
    mode (see `dropout_active`), as `dropout_lib.training.evaluate(...,
    dropout_on=True)` does; the model's modes are restored afterwards.

    `training` is the deprecated earlier name of `dropout_on`, accepted for
    one release (it did not mean `model.train()`: BatchNorm stays in eval mode).
    """
    check_module(model)
    check_tensor(x)
    if training is not None:
        if dropout_on is not None:
            raise TypeError("pass dropout_on only; training is its deprecated name")
        dropout_on = training
    if not isinstance(dropout_on, bool):
        raise TypeError(f"dropout_on must be a bool; got {type(dropout_on).__name__}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError(
            f"model must contain at least two nn.Linear layers; found {len(linears)}"
        )
    seen: list[torch.Tensor] = []
    hooks = [
        lin.register_forward_pre_hook(
            lambda _m, args: seen.append(args[0].detach().clone())
        )
        for lin in linears[1:]
    ]
    try:
        mode = dropout_active(model, others="eval") if dropout_on else eval_mode(model)
        with mode:
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


class McCurve(NamedTuple):
    """Monte Carlo averaging measured against weight scaling, one entry per `k`.

    `error[i]`: mean test error of the kᵢ-pass average over `repeats`
    independent runs (`error_std[i]` their standard deviation);
    `distance[i]`: mean over examples of the total-variation distance
    (1/2) ‖ŷₖ − ŷ_ws‖₁, averaged
    over repeats;
    `ws_error`: test error of weight scaling.
    """

    ks: np.ndarray
    error: np.ndarray
    error_std: np.ndarray
    distance: np.ndarray
    ws_error: float


@torch.no_grad()
def mc_curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    ks: Sequence[int],
    *,
    repeats: int = 1,
    seed: int = 0,
) -> McCurve:
    """Test error and distance to weight scaling of the `k`-pass Monte Carlo
    average, for each `k`.

    One run draws `max(ks)` passes and reads every k off the running
    mean, so the curve of one run is nested (as in Srivastava et al.'s Figure 11);
    `repeats` independent runs (seeds `seed, seed + 1, ...`) are averaged.
    """
    check_module(model)
    check_tensor(x)
    check_tensor(y, "y")
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length; got {len(x)} and {len(y)}"
        )
    ks_arr = np.asarray(list(ks))
    if ks_arr.ndim != 1 or len(ks_arr) == 0:
        raise ValueError(
            f"ks must be a non-empty sequence of positive integers; got ks={ks!r}"
        )
    kk = [check_int(k, "ks entries", 1) for k in ks_arr.tolist()]
    repeats = check_int(repeats, "repeats", 1)
    seed = check_seed(seed)
    ws = weight_scaled_predict(model, x)
    ws_error = (ws.argmax(dim=1) != y).double().mean().item()
    errors = np.zeros((repeats, len(kk)))
    dists = np.zeros((repeats, len(kk)))
    for r in range(repeats):
        samples = mc_samples(model, x, max(kk), seed=int(seed) + r)
        running = samples.double().cumsum(dim=0)
        for i, k in enumerate(kk):
            avg = running[k - 1] / k
            errors[r, i] = (avg.argmax(dim=1) != y).double().mean().item()
            dists[r, i] = float(tv_distance(avg, ws).mean())
    return McCurve(
        np.array(kk),
        errors.mean(axis=0),
        errors.std(axis=0),
        dists.mean(axis=0),
        ws_error,
    )
