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
expectation argument); `mc_curve` measures the gap as k grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn

from .nn import dropout_active, eval_mode
from .validation import check_int, check_module, check_seed, check_tensor

__all__ = [
    "McCurve",
    "mc_curve",
    "mc_predict",
    "mc_samples",
    "next_layer_inputs",
    "weight_scaled_predict",
]

Output = Literal["probs", "logits"]


def _check_output(output: str) -> None:
    if output not in ("probs", "logits"):
        raise ValueError(f"output must be 'probs' or 'logits'; got output={output!r}")


def _finish(out: torch.Tensor, output: Output) -> torch.Tensor:
    return torch.softmax(out, dim=-1) if output == "probs" else out


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


@torch.no_grad()
def mc_samples(
    model: nn.Module,
    x: torch.Tensor,
    k: int,
    *,
    seed: int | None = None,
    output: Output = "probs",
) -> torch.Tensor:
    """`k` stochastic passes with dropout on, shape `[k, *model(x).shape]`.

    With `seed` given, the passes draw from PyTorch's global generator inside
    `torch.random.fork_rng` seeded with `seed`, so the result is
    reproducible and the caller's random state is left untouched. (Dropout layers
    constructed with their own `generator` draw from it instead.)
    """
    check_module(model)
    check_tensor(x)
    _check_output(output)
    k = check_int(k, "k", 1)
    if seed is not None:
        seed = check_seed(seed)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(int(seed))
        with dropout_active(model, others="eval"):
            return torch.stack([_finish(model(x), output) for _ in range(k)])


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
    for `seed`.
    """
    return mc_samples(model, x, k, seed=seed, output=output).mean(dim=0)


@torch.no_grad()
def next_layer_inputs(
    model: nn.Module, x: torch.Tensor, *, training: bool
) -> list[torch.Tensor]:
    """The input of every `nn.Linear` but the first: what each later layer sees.

    In an `dropout_lib.models.MLP` these are the hidden activations after
    dropout when `training=True` (one sampled mask) and without dropout when
    `training=False`. Only the dropout layers are switched on in training mode
    (see `dropout_active`); the model's modes are restored afterwards.
    """
    check_module(model)
    check_tensor(x)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool; got {type(training).__name__}")
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
        mode = dropout_active(model, others="eval") if training else eval_mode(model)
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
            dists[r, i] = 0.5 * (avg - ws.double()).abs().sum(dim=1).mean().item()
    return McCurve(
        np.array(kk),
        errors.mean(axis=0),
        errors.std(axis=0),
        dists.mean(axis=0),
        ws_error,
    )
