"""Checkers for chapter 10's exercises (using dropout).

`check_keep_to_drop(inputs_layer, hidden_layer, keep_inputs, keep_hidden)`: the
two layers a learner writes for a paper that states Srivastava et al.'s KEEP
probabilities q must drop with probability p = 1 − q each (measured as the
fraction of zeros on a large tensor of ones, in training mode) and scale the
survivors by 1/q (inverted dropout).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dropout_lib.exercises._checking import call_learner, require, within_z

__all__ = ["check_keep_to_drop"]

_N = 200_000  # elements per measurement: a binomial sd of at most 0.0012


def _check_keep(q: object, name: str) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float)):
        raise TypeError(f"{name} must be a number in (0, 1]; got {q!r}")
    if not (0.0 < float(q) <= 1.0):
        raise ValueError(f"{name} must be in (0, 1]; got {q!r}")
    return float(q)


def _measure(layer: nn.Module, what: str) -> tuple[float, float]:
    """Fraction of zeros and mean surviving value of layer(ones), train mode."""
    was_training = layer.training
    layer.train()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0)
            out = call_learner(layer, torch.ones(_N), what=what)
    finally:
        layer.train(was_training)
    require(
        isinstance(out, torch.Tensor) and out.shape == (_N,),
        f"{what} returned {type(out).__name__} of shape "
        f"{tuple(getattr(out, 'shape', ()))}, not a tensor of shape ({_N},)",
        "use torch.nn.Dropout(p=...)",
    )
    zeros = float((out == 0).float().mean())
    kept = out[out != 0]
    scale = float(kept.mean()) if kept.numel() else math.nan
    return zeros, scale


def check_keep_to_drop(
    inputs_layer: nn.Module,
    hidden_layer: nn.Module,
    keep_inputs: float = 0.9,
    keep_hidden: float = 0.6,
) -> bool:
    """Check two dropout layers written from keep probabilities q.

    Each layer, applied in training mode to n = 200 000 ones, must zero a
    fraction within 5.5 binomial standard deviations sqrt(p q / n) of
    p = 1 − q, and its surviving values must equal 1/q (to 1e-6 relative).
    """
    q_in = _check_keep(keep_inputs, "keep_inputs")
    q_hid = _check_keep(keep_hidden, "keep_hidden")
    for layer, q, name in (
        (inputs_layer, q_in, "inputs_layer"),
        (hidden_layer, q_hid, "hidden_layer"),
    ):
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module; got {type(layer)}")
        p = 1.0 - q
        zeros, scale = _measure(layer, f"{name}(ones)")
        sd = math.sqrt(max(p * q, 1.0 / _N) / _N)
        within_z(
            zeros,
            p,
            sd,
            f"{name}: fraction of zeros",
            f"the paper's p = {q} is the KEEP probability; PyTorch's p drops, "
            f"so write nn.Dropout(p=1 - {q})",
        )
        if p < 1.0:
            require(
                math.isfinite(scale) and abs(scale * q - 1.0) < 1e-6,
                f"{name}: survivors scaled to {scale:.6g}, not 1/q = {1 / q:.6g}",
                "inverted dropout divides the kept values by the keep probability q",
            )
    return True
