"""Checkers for the exercises of the d2l chapter (`chapters/05_d2l`).

* `check_dropout_layer` checks a learner's PyTorch `dropout_layer(X, p)`
  for the pitfalls the chapter shows (device, `assert` validation, mutation,
  a `randn` mask) and for the statistics of inverted dropout.
* `check_constant_loss` checks a learner's formula for the smallest mean
  cross-entropy a network can reach when every hidden unit is dropped
  (`p = 1`): the entropy of the class frequencies.

Both follow the contract of `dropout_lib.exercises._checking`: they return
`True` or raise `dropout_lib.exercises._checking.CheckFailed` (also under
`python -O`), and an exception of the learner's function is reported as a
failed property. Statistical tolerance of `check_dropout_layer`: with
N entries, drop probability p and q = 1 − p, the dropped
fraction has standard deviation √(pq/N); the check allows
`dropout_lib.exercises._checking.Z` = 5.5 of them (the course's one
tolerance), so a correct function fails with probability
2Φ(−5.5) ≈ 4 × 10⁻⁸ per value of `p` (the draws are
seeded, so in practice the check is deterministic).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ._checking import Z, call_learner, fail, require, require_callable, within_z

__all__ = ["N", "Z", "check_constant_loss", "check_dropout_layer"]

#: entries in the test tensor of the statistical checks
N = 200_000

DropoutLayerFn = Callable[[torch.Tensor, float], torch.Tensor]


def _as_tensor(value: object, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(
            f"{what}: your function returned {type(value).__name__}, not a tensor",
            "return a torch.Tensor shaped like X",
        )
    return value


def check_dropout_layer(fn: DropoutLayerFn) -> bool:
    """Check `fn(X, p)`, PyTorch inverted dropout with `p` the DROP probability.

    Properties checked, in order: a wrong `p` (-0.1, 1.5, NaN) raises
    `ValueError` (an `AssertionError` from a bare `assert` fails this
    check, since `python -O` would remove it); `p = 0` returns `X`'s values
    and `p = 1` zeros; the output keeps `X`'s shape, dtype and device (tried
    on a `meta` tensor, which exists on every machine); `X` is not modified;
    every output entry is 0 or x/(1−p); and the dropped fraction is
    within `Z` standard deviations √(p(1−p)/N) of `p` for
    `p` in {0.2, 0.5, 0.9}. The global torch generator is restored afterwards.

    Returns True, or raises `CheckFailed` naming the first failed property.
    """
    require_callable(fn, "fn", "fn(X, p)")
    x = torch.linspace(0.5, 2.0, 60).reshape(3, 4, 5)
    for bad in (-0.1, 1.5, float("nan")):
        try:
            fn(x.clone(), bad)
        except ValueError:
            continue
        except AssertionError as exc:
            fail(
                f"p={bad}: your function raised AssertionError ({exc})",
                "a bare `assert` disappears under `python -O`; raise ValueError",
            )
        except Exception as exc:
            fail(f"p={bad}: expected ValueError, got {type(exc).__name__}: {exc}")
        fail(f"p={bad}: no error was raised", "check 0 <= p <= 1, raise ValueError")

    hint = "fn(X, p) must accept a float tensor X and a float p"
    out0 = _as_tensor(call_learner(fn, x.clone(), 0.0, what="p=0", hint=hint), "p=0")
    require(
        out0.shape == x.shape and torch.equal(out0, x),
        "p=0: the output must equal the input",
        "nothing is dropped and 1/(1-0) = 1",
    )
    out1 = _as_tensor(call_learner(fn, x.clone(), 1.0, what="p=1", hint=hint), "p=1")
    require(
        out1.shape == x.shape and torch.equal(out1, torch.zeros_like(x)),
        "p=1: the output must be all zeros",
        "every unit is dropped; return torch.zeros_like(X)",
    )

    meta = torch.empty(2, 3, device="meta")
    out_meta = _as_tensor(
        call_learner(
            fn,
            meta,
            0.5,
            what="device: on a tensor on the 'meta' device",
            hint="make the mask with torch.rand(X.shape, device=X.device)",
        ),
        "device",
    )
    require(out_meta.device == meta.device, "device: the output must be on X's device")

    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(12345)
        x64 = torch.linspace(1.0, 3.0, N, dtype=torch.float64)
        original = x64.clone()
        for p in (0.2, 0.5, 0.9):
            out = _as_tensor(
                call_learner(fn, x64, p, what=f"p={p}", hint=hint), f"p={p}"
            )
            require(
                torch.equal(x64, original),
                f"p={p}: your function modified its input X",
                "avoid in-place operations (*=, /=) on X",
            )
            require(
                out.shape == x64.shape and out.dtype == x64.dtype,
                f"p={p}: output shape/dtype {tuple(out.shape)}/{out.dtype} differ "
                f"from the input's {tuple(x64.shape)}/{x64.dtype}",
            )
            kept = out != 0
            scaled = x64 / (1.0 - p)
            require(
                torch.allclose(out[kept], scaled[kept], rtol=1e-12, atol=0.0),
                f"p={p}: a kept entry must equal x / (1 - p)",
                "inverted dropout divides by the KEEP probability",
            )
            dropped = 1.0 - kept.double().mean().item()
            within_z(
                dropped,
                p,
                math.sqrt(p * (1.0 - p) / N),
                f"p={p}: fraction of entries dropped",
                "p is the DROP probability; keep an entry when u > p with "
                "u = torch.rand(...) uniform on [0, 1) (not torch.randn)",
            )
    finally:
        torch.random.set_rng_state(gen_state)
    return True


def _entropy(labels: np.ndarray, n_classes: int) -> float:
    freq = np.bincount(labels, minlength=n_classes) / len(labels)
    nz = freq[freq > 0]
    return float(-(nz * np.log(nz)).sum())


def check_constant_loss(fn: Callable[[np.ndarray, int], float]) -> bool:
    """Check `fn(labels, n_classes)`: the least mean cross-entropy of a constant net.

    A network whose every hidden unit is dropped outputs the same logits
    b for every input. The mean cross-entropy
    L(b) = −Σₖ π̂ₖ log softmax(b)ₖ is
    minimised at softmax(b) = π̂ (the class
    frequencies), where it equals the entropy
    H(π̂) = −Σₖ π̂ₖ log π̂ₖ (with
    0 log 0 = 0). The checker compares `fn` with H(π̂)
    to 1e-9 on balanced, unbalanced and single-class label vectors (an exact
    formula, so no statistical tolerance).
    """
    require_callable(fn, "fn", "fn(labels, n_classes)")
    rng = np.random.default_rng(0)
    cases = {
        "balanced, 10 classes": (np.repeat(np.arange(10), 600), 10),
        "unbalanced, 3 classes": (rng.choice(3, size=5000, p=[0.7, 0.2, 0.1]), 3),
        "one class present out of 4": (np.full(100, 2), 4),
        "two classes, one absent from the labels": (np.array([0, 0, 0, 2]), 3),
    }
    for what, (labels, k) in cases.items():
        want = _entropy(labels, k)
        got = call_learner(
            fn, labels.copy(), k, what=what, hint="fn(labels, n_classes) -> float"
        )
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(f"{what}: your function must return a number; got {got!r}")
        require(
            math.isfinite(value) and abs(value - want) <= 1e-9,
            f"{what}: expected {want:.6f}, got {value:.6f}",
            "the best constant prediction is the vector of class frequencies; a "
            "class that never occurs contributes 0 (0 log 0 = 0)",
        )
    return True
