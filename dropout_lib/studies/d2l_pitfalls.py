"""Exhibits for chapter 5: plausible mistakes in dropout code, kept for teaching.

Each exhibit is a deliberately flawed variant of `dropout_lib.studies.d2l`
(the same chapter's study, imported through its public names) or a demonstration
of a surprising library behaviour; the chapter shows each failure next to its
fix. Do not use the flawed functions in models.

* `cpu_mask_dropout` draws its mask with `torch.rand(X.shape)`, which
  always lives on the CPU, so it fails (or silently copies) for inputs on any
  other device.
* `FlaggedNet` decides whether to drop from its own `is_training`
  attribute, which `model.eval()` does not know about.
* (d2l's `assert`-guarded argument check is not here: library code never
  decides with `assert`. Chapter 5 defines that exhibit inside the snippet
  it runs under `python` and `python -O`, using `run_python` below.)
* `FunctionalDropoutMLP` calls `F.dropout` in `forward`; without
  `training=self.training` it keeps dropping after `model.eval()`
  (PyTorch issue 26338).
* `randn_mask_dropout` draws its mask from `torch.randn` (a normal)
  instead of `torch.rand` (a uniform), so it keeps 1 − Φ(p) of the
  units instead of 1 − p.
* `fixed_key_dropout` seeds a fresh generator with the same key on every
  call, so every training step drops the same units (the bug d2l fixed in its
  JAX code, d2l-en pull request 2405).
* `dropout2d_on_unbatched` and `lstm_dropout_one_layer` show what
  `nn.Dropout2d` does with a 3-D input and what `nn.LSTM(dropout=...)` does
  with one layer, as measured on the installed torch (PyTorch issues 69801 and
  5985).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..validation import check_int, check_probability, check_seed
from .d2l import D2LNet, check_float_tensor

__all__ = [
    "FlaggedNet",
    "FunctionalDropoutMLP",
    "LayerBehaviour",
    "cpu_mask_dropout",
    "dropout2d_on_unbatched",
    "fixed_key_dropout",
    "lstm_dropout_one_layer",
    "randn_keep_probability",
    "randn_mask_dropout",
    "run_python",
]


def cpu_mask_dropout(X: torch.Tensor, p: float) -> torch.Tensor:
    """PITFALL: inverted dropout whose mask is made on the CPU, whatever X's device.

    Computes [u > p] ⊙ X / (1 − p) with `u = torch.rand(X.shape)`.
    `torch.rand` without `device=` allocates on the CPU, so for a GPU (or
    `meta`) tensor the product mixes devices and PyTorch raises a
    `RuntimeError`. The fix is `dropout_lib.studies.d2l.dropout_layer`,
    which passes `device=X.device`.
    """
    p = check_probability(p, "p")
    X = check_float_tensor(X, "X")
    if p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > p).float()  # the bug: no device=X.device
    return mask * X / (1.0 - p)


def randn_mask_dropout(X: torch.Tensor, p: float) -> torch.Tensor:
    """PITFALL: d2l's expression with `torch.randn` where `torch.rand` belongs.

    Computes [z > p] ⊙ X / (1 − p) with z ~ N(0, 1). An
    entry is kept with probability P(z > p) = 1 − Φ(p)
    (`randn_keep_probability`), not 1 − p: at p = 0 half
    the units are dropped, and the mean is
    E[h'] = h (1 − Φ(p))/(1 − p) ≠ h. Nothing raises.
    """
    p = check_probability(p, "p")
    X = check_float_tensor(X, "X")
    if p == 1.0:
        return torch.zeros_like(X)
    z = torch.randn(X.shape, device=X.device, dtype=X.dtype)  # the bug: randn
    return (z > p).to(X.dtype) * X / (1.0 - p)


def randn_keep_probability(p: float) -> float:
    """P(z > p) = 1 − Φ(p) = (1/2) erfc(p/√2),
    the keep rate of `randn_mask_dropout`."""
    p = check_probability(p, "p")
    return 0.5 * math.erfc(p / math.sqrt(2.0))


def fixed_key_dropout(X: torch.Tensor, p: float, key: int = 0) -> torch.Tensor:
    """PITFALL: inverted dropout that re-seeds its generator with `key` every call.

    This is the PyTorch form of a JAX mistake: passing the same PRNG key to every
    training step instead of splitting it. Every call with an input of the same
    shape draws the same mask, so the same units are dropped on every step and
    the network trains one fixed thinned subnetwork. The fix draws from a
    generator that advances (torch's global one, or a split key in JAX).
    """
    p = check_probability(p, "p")
    X = check_float_tensor(X, "X")
    key = check_seed(key, "key")
    if p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    gen = torch.Generator(device=X.device).manual_seed(key)  # the bug: same key
    u = torch.rand(X.shape, device=X.device, dtype=X.dtype, generator=gen)
    return (u > p).to(X.dtype) * X / (1.0 - p)


class FlaggedNet(D2LNet):
    """PITFALL: `dropout_lib.studies.d2l.D2LNet` with its own training flag.

    The forward pass drops when `self.is_training` is true. `model.eval()`
    only sets `nn.Module.training` (on this module and its children), so after
    `eval()` this network still drops units and rescales the survivors: its
    "evaluation" is a single random thinned network. The parameters and their
    names are those of `D2LNet`, so `load_state_dict` moves weights between
    the two. The fix is to ask `self.training` (what `D2LNet` does).
    """

    def __init__(
        self,
        dropout1: float = 0.2,
        dropout2: float = 0.5,
        *,
        is_training: bool = True,
        num_inputs: int = 784,
        num_hiddens: Sequence[int] = (256, 256),
        num_outputs: int = 10,
    ) -> None:
        super().__init__(
            dropout1,
            dropout2,
            num_inputs=num_inputs,
            num_hiddens=num_hiddens,
            num_outputs=num_outputs,
        )
        if not isinstance(is_training, bool):
            raise TypeError(
                f"is_training must be a bool; got {type(is_training).__name__}"
            )
        self.is_training = is_training

    def dropping(self) -> bool:
        """The bug: consult the private flag, not `self.training`."""
        return self.is_training

    def extra_repr(self) -> str:
        return super().extra_repr() + f", is_training={self.is_training}"


class FunctionalDropoutMLP(nn.Module):
    """A one-hidden-layer MLP that calls `F.dropout` in `forward`.

    `F.dropout(input, p, training=True)`: the functional form's `training`
    argument defaults to True and knows nothing of the module's mode. With
    `pass_training=False` (the PITFALL) `forward` calls
    `F.dropout(h, self.p)`, which drops after `model.eval()` too; with
    `pass_training=True` (the fix) it calls
    `F.dropout(h, self.p, training=self.training)`.
    """

    def __init__(
        self,
        p: float = 0.5,
        *,
        pass_training: bool,
        num_inputs: int = 784,
        num_hiddens: int = 64,
        num_outputs: int = 10,
    ) -> None:
        super().__init__()
        if not isinstance(pass_training, bool):
            raise TypeError(
                f"pass_training must be a bool; got {type(pass_training).__name__}"
            )
        self.p = check_probability(p, "p")
        self.pass_training = pass_training
        self.num_inputs = check_int(num_inputs, "num_inputs", 1)
        self.lin1 = nn.Linear(self.num_inputs, check_int(num_hiddens, "num_hiddens", 1))
        self.lin2 = nn.Linear(num_hiddens, check_int(num_outputs, "num_outputs", 1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.lin1(X.reshape(-1, self.num_inputs)))
        if self.pass_training:
            h = F.dropout(h, self.p, training=self.training)
        else:
            h = F.dropout(h, self.p)  # the bug: training defaults to True
        logits: torch.Tensor = self.lin2(h)
        return logits


@dataclass(frozen=True)
class LayerBehaviour:
    """What a layer did with one input: its output, the warnings it raised."""

    output: torch.Tensor
    warnings: tuple[str, ...]


def _call_recording(
    fn: Callable[..., object], *args: Any
) -> tuple[object, tuple[str, ...]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, tuple(str(w.message) for w in caught)


def dropout2d_on_unbatched(
    channels: int = 8, height: int = 8, width: int = 5, p: float = 0.5
) -> LayerBehaviour:
    """Apply a training-mode `nn.Dropout2d(p)` to one unbatched image of ones.

    `nn.Dropout2d` is meant to zero whole channels (feature maps). Given a 3-D
    tensor, torch 2.x reads it as `(N, C, L)`, batched 1-D data: it zeroes
    whole *rows* `[c, h, :]` of each channel, each with probability p,
    and warns that this interpretation will change. Returns the output and the
    warnings raised (the input, shaped `(C, H, W)`, is all ones, so kept entries equal
    1/(1−p)).
    """
    p = check_probability(p, "p")
    shape = tuple(
        check_int(v, n, 1)
        for v, n in ((channels, "channels"), (height, "height"), (width, "width"))
    )
    layer = nn.Dropout2d(p).train()
    out, caught = _call_recording(layer, torch.ones(shape))
    return LayerBehaviour(out, caught)  # type: ignore[arg-type]


def lstm_dropout_one_layer(
    p: float = 0.5, seed: int = 0
) -> tuple[LayerBehaviour, torch.Tensor, torch.Tensor]:
    """Build `nn.LSTM(4, 8, num_layers=1, dropout=p)`; run it in training mode twice.

    `nn.LSTM`'s `dropout` acts *between* stacked layers, on the outputs of
    every layer but the last; with one layer there is nothing to drop, and torch
    warns when the module is built. Returns the construction's warnings (with
    the first training-mode output), a second training-mode output and the
    eval-mode output for the same input; the three outputs are identical.
    """
    p = check_probability(p, "p")
    torch.manual_seed(check_seed(seed))
    lstm, caught = _call_recording(
        lambda: nn.LSTM(4, 8, num_layers=1, dropout=p, batch_first=True)
    )
    x = torch.randn(3, 6, 4)
    with torch.no_grad():
        lstm.train()  # type: ignore[attr-defined]
        out1 = lstm(x)[0]  # type: ignore[operator]
        out2 = lstm(x)[0]  # type: ignore[operator]
        lstm.eval()  # type: ignore[attr-defined]
        out_eval = lstm(x)[0]  # type: ignore[operator]
    return LayerBehaviour(out1, caught), out2, out_eval


def run_python(
    code: str, *, optimize: bool = False, timeout: float = 900.0
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, with `-O` if `optimize`.

    The interpreter is `sys.executable`. The course's checkout is put on
    `PYTHONPATH` so the snippet can import `dropout_lib`. Returns the
    completed process with text `stdout` and `stderr`; a non-zero exit status
    is not an error here (the caller inspects `returncode`).
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be a str; got {type(code).__name__}")
    if not isinstance(optimize, bool):
        raise TypeError(f"optimize must be a bool; got {type(optimize).__name__}")
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("PYTHONOPTIMIZE", None)
    cmd = [sys.executable] + (["-O"] if optimize else []) + ["-c", code]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
