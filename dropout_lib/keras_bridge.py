"""Keras 3 next to PyTorch: importing Keras on a known backend, and moving weights.

What any chapter that sets Keras beside PyTorch needs, in one place:

* `import_keras` imports Keras 3 on the torch backend (no TensorFlow needed).
  Keras reads its backend once, at its first import, from the environment
  variable `KERAS_BACKEND`; this sets the variable if it is unset and refuses
  to continue if Keras was already imported with another backend.
* `mlp_from_keras` copies a Keras `Dense` stack's weights into a
  `dropout_lib.models.MLP` (Keras → torch). Keras stores a `Dense` kernel as
  `(in, out)` and computes xW + b; `torch.nn.Linear` stores `(out, in)` and
  computes xWᵀ + b, so each kernel is transposed.
* `keras_from_torch` goes the other way for a torch `nn.Sequential` of
  `Linear`, `BatchNorm1d`, `ReLU`, `Dropout` and `Flatten` layers (torch →
  Keras), with BatchNorm's running statistics and epsilon.

Keras is imported lazily, inside the functions, so `import dropout_lib` never
requires Keras. `dropout_lib.studies.keras` re-exports both names (chapter 4
imports them from there).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

__all__ = ["import_keras", "keras_from_torch", "mlp_from_keras"]


def import_keras(backend: str = "torch") -> Any:
    """Import Keras 3 on `backend` (default `"torch"`) and return the module.

    Keras chooses its backend when it is first imported, from the environment
    variable `KERAS_BACKEND`. This sets the variable if it is unset and checks
    that an already imported Keras uses `backend`; otherwise it raises
    `RuntimeError` (restart the kernel and set the variable before importing).
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string; got backend={backend!r}")
    requested = os.environ.setdefault("KERAS_BACKEND", backend)
    if requested != backend and "keras" not in sys.modules:
        raise RuntimeError(
            f"KERAS_BACKEND is set to {requested!r} but backend={backend!r} was "
            "requested; unset the variable or ask for the same backend"
        )
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"keras was already imported with backend {keras.backend.backend()!r}; "
            f"set KERAS_BACKEND={backend} before the first `import keras` "
            "(restart the kernel)"
        )
    return keras


def mlp_from_keras(keras_model: Any, rate: float | None = None) -> Any:
    """A `dropout_lib.models.MLP` holding a copy of a Keras `Dense`
    stack's weights.

    Keras stores a `Dense` kernel as `(in, out)` and computes xW + b;
    `torch.nn.Linear` stores `(out, in)` and computes xWᵀ + b,
    so each kernel is transposed. The Keras model must be a chain of `Dense`
    layers (ReLU hidden, one output unit) with optional `Dropout` layers;
    `rate` defaults to the first `Dropout` layer's rate (0 if none). The
    returned MLP outputs logits: apply a sigmoid to compare with Keras's
    probabilities. The Keras model is not modified.
    """
    import torch

    from .models import MLP

    keras = import_keras()
    dense = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dense)
    ]
    drops = [
        layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dropout)
    ]
    if len(dense) < 2:
        raise ValueError(
            "keras_model must have at least two Dense layers (hidden and output)"
        )
    if rate is None:
        rate = float(drops[0].rate) if drops else 0.0
    kernels = [np.asarray(keras.ops.convert_to_numpy(d.kernel)) for d in dense]
    biases = [np.asarray(keras.ops.convert_to_numpy(d.bias)) for d in dense]
    hidden = [int(k.shape[1]) for k in kernels[:-1]]
    mlp = MLP(int(kernels[0].shape[0]), hidden, int(kernels[-1].shape[1]), rate)
    linears = [m for m in mlp if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for lin, k, b in zip(linears, kernels, biases, strict=True):
            lin.weight.copy_(torch.from_numpy(k.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
    return mlp.eval()


def keras_from_torch(
    model: Any, dropout_cls: Any, input_shape: tuple[int, ...] = (28, 28)
) -> Any:
    """A Keras 3 model that computes what the torch `nn.Sequential` `model` does.

    Dense kernels are the transposed torch weights (Keras computes xW + b with
    W of shape (in, out), torch xWᵀ + b with W of shape (out, in));
    BatchNormalization gets torch's `weight`, `bias`, `running_mean`,
    `running_var` and `eps` (Keras's default epsilon is 1e-3, torch's 1e-5);
    each `nn.Dropout(p)` becomes `dropout_cls(p)` (`keras.layers.Dropout` or an
    always-on subclass). The Keras model starts with `Input(input_shape)` and a
    `Flatten`. Uses Keras as already imported, or imports it with
    `import_keras` (the torch backend).
    """
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"model must be a torch.nn.Sequential; got {type(model).__name__}"
        )
    keras = sys.modules.get("keras") or import_keras()
    layers: list[Any] = [keras.Input(input_shape), keras.layers.Flatten()]
    copies: list[tuple[Any, Any]] = []
    for m in model:
        if isinstance(m, nn.Linear):
            layer = keras.layers.Dense(m.out_features)
            copies.append((layer, m))
        elif isinstance(m, nn.BatchNorm1d):
            layer = keras.layers.BatchNormalization(epsilon=m.eps)
            copies.append((layer, m))
        elif isinstance(m, nn.ReLU):
            layer = keras.layers.ReLU()
        elif isinstance(m, nn.Dropout):
            layer = dropout_cls(m.p)
        elif isinstance(m, nn.Flatten):
            continue
        else:
            raise TypeError(f"keras_from_torch cannot translate {type(m).__name__}")
        layers.append(layer)
    twin = keras.Sequential(layers)
    for layer, m in copies:
        tensors = (
            (m.weight.T, m.bias)
            if isinstance(m, nn.Linear)
            else (m.weight, m.bias, m.running_mean, m.running_var)
        )
        layer.set_weights([t.detach().cpu().numpy() for t in tensors])
    return twin
