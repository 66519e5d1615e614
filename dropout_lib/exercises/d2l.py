"""Checkers for the exercises of the d2l chapter (`chapters/05_d2l`).

* `check_dropout_layer` checks a learner's PyTorch `dropout_layer(X, p)`
  for the pitfalls the chapter shows (a mask made on another device, even if
  moved with `.to(X.device)`; `assert` validation; mutation; a `randn` mask;
  the same mask on every call; one mask shared across the batch; a
  deterministic pattern) and for the statistics of inverted dropout.
* `check_constant_loss` checks a learner's formula for the smallest mean
  cross-entropy a network can reach when every hidden unit is dropped
  (`p = 1`): the entropy of the class frequencies.

Both follow the contract of `dropout_lib.exercises._checking`: they return
`True` or raise `dropout_lib.exercises._checking.CheckFailed` (also under
`python -O`), and an exception of the learner's function is reported as a
failed property. Statistical tolerance of `check_dropout_layer`: with
N entries, drop probability p and q = 1 − p, the dropped
fraction has standard deviation √(pq/N) (and the share of positions
where two independent masks agree, a = p² + q², has √(a(1 − a)/M) over M
positions); each check allows
`dropout_lib.exercises._checking.Z` = 5.5 of them (the course's one
tolerance), so a correct function fails with probability
2Φ(−5.5) ≈ 4 × 10⁻⁸ per value of `p` (the draws are
seeded, so in practice the check is deterministic).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from ._checking import (
    Z,
    call_learner,
    fail,
    require,
    require_callable,
    require_independent_masks,
    require_same_shape,
    require_unmodified,
    within_z,
)

__all__ = ["N", "ROWS", "Z", "check_constant_loss", "check_dropout_layer"]

#: entries in the test tensor of the statistical checks
N = 200_000

#: rows (batch examples) of that tensor; N / ROWS features each
ROWS = 400

DropoutLayerFn = Callable[[torch.Tensor, float], torch.Tensor]


def _as_tensor(value: object, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(
            f"{what}: your function returned {type(value).__name__}, not a tensor",
            "return a torch.Tensor shaped like X",
        )
    return value


class _DeviceRecorder(TorchFunctionMode):
    """Records every tensor of more than one entry that a torch function returns
    on a device other than `device` (the learner's code runs inside it)."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device = device
        self.elsewhere: list[str] = []

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        if (
            isinstance(out, torch.Tensor)
            and out.device != self.device
            and out.numel() > 1
        ):
            name = getattr(func, "__name__", str(func))
            self.elsewhere.append(f"{name} -> {out.device} {tuple(out.shape)}")
        return out


def check_dropout_layer(fn: DropoutLayerFn) -> bool:
    """Check `fn(X, p)`, PyTorch inverted dropout with `p` the DROP probability.

    Properties checked, in order: a wrong `p` (-0.1, 1.5, NaN) raises
    `ValueError` (an `AssertionError` from a bare `assert` fails this
    check, since `python -O` would remove it); `p = 0` returns `X`'s values
    and `p = 1` zeros; the output keeps `X`'s shape, dtype and device, and no
    tensor of more than one entry is made on another device along the way
    (tried on a `meta` tensor, which exists on every machine, with a
    `torch.overrides.TorchFunctionMode` that sees every tensor the function
    creates: a mask drawn on the CPU and moved with `.to(X.device)` fails);
    `X` is not modified; every output entry is 0 or x/(1−p); the dropped
    fraction is within `Z` standard deviations √(p(1−p)/N) of `p` for `p`
    in {0.2, 0.5, 0.9}; and, checked before those shares, the mask is random
    in the right way, on a 400 × 500 input at p = 0.5: two successive calls,
    adjacent rows (batch examples) and adjacent columns (features) each agree
    on a share a = k₁k₂ + (1−k₁)(1−k₂) of positions, as independent draws with
    the two masks' keep shares k₁, k₂ would, within `Z` standard deviations
    √(a(1−a)/M) for M compared positions. That rejects a generator re-seeded
    inside the function (the same mask on every call), a mask drawn at
    `X.shape[-1:]` and broadcast over the batch, and a deterministic "mask"
    such as `arange(n) >= p·n`. The global torch generator is restored
    afterwards.

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

    gen_state = torch.random.get_rng_state()
    try:
        _check_device(fn)
        torch.manual_seed(12345)
        _check_randomness(fn, hint)
        _check_statistics(fn, hint)
    finally:
        torch.random.set_rng_state(gen_state)
    return True


def _check_device(fn: DropoutLayerFn) -> None:
    """The output on X's device, and no full-size tensor made anywhere else."""
    meta = torch.empty(2, 3, device="meta")
    device_hint = "make the mask with torch.rand(X.shape, device=X.device)"
    recorder = _DeviceRecorder(meta.device)
    with recorder:
        out_meta = call_learner(
            fn,
            meta,
            0.5,
            what="device: on a tensor on the 'meta' device",
            hint=device_hint,
        )
    out_meta = _as_tensor(out_meta, "device")
    require(
        out_meta.device == meta.device,
        "device: the output must be on X's device",
        device_hint,
    )
    require(
        not recorder.elsewhere,
        "device: with X on the 'meta' device your function made tensors on another "
        f"device ({'; '.join(recorder.elsewhere[:3])}); on a GPU that is a mask "
        "drawn on the CPU and copied across at every step",
        device_hint + " (not torch.rand(X.shape).to(X.device))",
    )


def _check_statistics(fn: DropoutLayerFn, hint: str) -> None:
    """Input untouched, dtype and shape kept, kept entries x/(1-p), dropped share p."""
    x64 = torch.linspace(1.0, 3.0, N, dtype=torch.float64).reshape(ROWS, N // ROWS)
    original = x64.clone()
    for p in (0.2, 0.5, 0.9):
        out = _as_tensor(call_learner(fn, x64, p, what=f"p={p}", hint=hint), f"p={p}")
        require_unmodified(
            x64, original, f"p={p}", "avoid in-place operations (*=, /=) on X"
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


def _check_randomness(fn: DropoutLayerFn, hint: str) -> None:
    """Fresh, independent masks: across calls, across rows, across columns."""
    p = 0.5
    x = torch.linspace(1.0, 3.0, N, dtype=torch.float64).reshape(ROWS, N // ROWS)
    original = x.clone()
    first = _as_tensor(call_learner(fn, x, p, what=f"p={p}", hint=hint), "p") != 0
    require_unmodified(x, original, f"p={p}", "avoid in-place operations (*=, /=) on X")
    require_same_shape(first.shape, x.shape, f"p={p}", "return a tensor shaped like X")
    second = _as_tensor(call_learner(fn, x, p, what=f"p={p}", hint=hint), "p") != 0
    comparisons = (
        (
            "two successive calls",
            first,
            second,
            "draw a new mask on every call: do not re-seed (torch.manual_seed) "
            "inside the function, and do not use a fixed pattern",
        ),
        (
            "adjacent rows (examples of the batch)",
            first[1:],
            first[:-1],
            "draw one mask entry per entry of X, torch.rand(X.shape, ...), not "
            "one per feature (X.shape[-1:]) broadcast over the batch",
        ),
        (
            "adjacent columns (features)",
            first[:, 1:],
            first[:, :-1],
            "each entry is dropped independently: no arange/threshold pattern",
        ),
    )
    for compared, m1, m2, why in comparisons:
        # P(agree) for independent draws with the masks' own keep shares (the
        # shares themselves are checked separately)
        require_independent_masks(m1, m2, f"p={p}", compared, why)


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
