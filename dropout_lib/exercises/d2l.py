"""Checkers for the exercises of the d2l chapter (``chapters/05_d2l``).

* :func:`check_dropout_layer` checks a learner's PyTorch ``dropout_layer(X, p)``
  for the three pitfalls the chapter shows (device, ``assert`` validation,
  mutation) and for the statistics of inverted dropout.
* :func:`check_constant_loss` checks a learner's formula for the smallest mean
  cross-entropy a network can reach when every hidden unit is dropped
  (``p = 1``): the entropy of the class frequencies.

Statistical tolerance of :func:`check_dropout_layer`: with :math:`N` entries, drop
probability :math:`p` and :math:`q = 1 - p`, the dropped fraction has standard
deviation :math:`\\sqrt{pq/N}`; the check allows :data:`Z` = 5.5 of them, so a correct
function fails with probability :math:`2\\Phi(-5.5) \\approx 4 \\times 10^{-8}` per
value of ``p`` (the draws are seeded, so in practice the check is deterministic).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["check_constant_loss", "check_dropout_layer", "N", "Z"]

#: entries in the test tensor of the statistical checks
N = 200_000
#: allowed deviation, in standard deviations
Z = 5.5

DropoutLayerFn = Callable[[torch.Tensor, float], torch.Tensor]


def _call(fn: Callable, what: str, *args):
    try:
        return fn(*args)
    except Exception as exc:  # the learner's bug, reported as a failed property
        raise AssertionError(
            f"{what}: your function raised {type(exc).__name__}: {exc}"
        ) from exc


def check_dropout_layer(fn: DropoutLayerFn) -> bool:
    """Check ``fn(X, p)``, a PyTorch inverted-dropout function with ``p`` the DROP probability.

    Properties checked, in order: a wrong ``p`` (-0.1, 1.5, NaN) raises
    ``ValueError`` (an ``AssertionError`` from a bare ``assert`` fails this
    check, since ``python -O`` would remove it); ``p = 0`` returns ``X``'s values
    and ``p = 1`` zeros; the output keeps ``X``'s shape, dtype and device (tried
    on a ``meta`` tensor, which exists on every machine); ``X`` is not modified;
    every output entry is 0 or :math:`x/(1-p)`; and the dropped fraction is
    within :data:`Z` standard deviations of ``p`` for ``p`` in {0.2, 0.5, 0.9}.

    Returns True, or raises ``AssertionError`` naming the first failed property.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    x = torch.linspace(0.5, 2.0, 60).reshape(3, 4, 5)
    for bad in (-0.1, 1.5, float("nan")):
        try:
            fn(x.clone(), bad)
        except ValueError:
            continue
        except AssertionError as exc:
            raise AssertionError(
                f"p={bad}: your function raised AssertionError ({exc}). Hint: a bare `assert` "
                "disappears under `python -O`; raise ValueError instead."
            ) from exc
        except Exception as exc:
            raise AssertionError(
                f"p={bad}: expected ValueError, got {type(exc).__name__}: {exc}"
            ) from exc
        raise AssertionError(
            f"p={bad}: no error was raised. Hint: check 0 <= p <= 1 and raise ValueError."
        )

    out0 = torch.as_tensor(_call(fn, "p=0", x.clone(), 0.0))
    if out0.shape != x.shape or not torch.equal(out0, x):
        raise AssertionError(
            "p=0: the output must equal the input (nothing is dropped, 1/(1-0) = 1)."
        )
    out1 = torch.as_tensor(_call(fn, "p=1", x.clone(), 1.0))
    if out1.shape != x.shape or not torch.equal(out1, torch.zeros_like(x)):
        raise AssertionError(
            "p=1: the output must be all zeros (every unit is dropped)."
        )

    meta = torch.empty(2, 3, device="meta")
    try:
        out_meta = fn(meta, 0.5)
    except RuntimeError as exc:
        raise AssertionError(
            f"device: calling your function on a tensor on the 'meta' device raised: {exc}. "
            "Hint: make the mask with torch.rand(X.shape, device=X.device)."
        ) from exc
    if not isinstance(out_meta, torch.Tensor) or out_meta.device != meta.device:
        raise AssertionError("device: the output must be on the input's device.")

    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(12345)
        x64 = torch.linspace(1.0, 3.0, N, dtype=torch.float64)
        original = x64.clone()
        for p in (0.2, 0.5, 0.9):
            out = torch.as_tensor(_call(fn, f"p={p}", x64, p))
            if not torch.equal(x64, original):
                raise AssertionError(
                    f"p={p}: your function modified its input X. Hint: avoid in-place ops (*=, /=)."
                )
            if out.shape != x64.shape or out.dtype != x64.dtype:
                raise AssertionError(
                    f"p={p}: output shape/dtype {tuple(out.shape)}/{out.dtype} differ from the input's "
                    f"{tuple(x64.shape)}/{x64.dtype}."
                )
            kept = out != 0
            scaled = x64 / (1.0 - p)
            if not torch.allclose(out[kept], scaled[kept], rtol=1e-12, atol=0.0):
                raise AssertionError(
                    f"p={p}: a kept entry must equal x / (1 - p). Hint: inverted dropout divides by the KEEP probability."
                )
            dropped = 1.0 - kept.double().mean().item()
            sd = math.sqrt(p * (1.0 - p) / N)
            if abs(dropped - p) > Z * sd:
                raise AssertionError(
                    f"p={p}: {dropped:.4f} of the entries were dropped, expected {p} +- {Z * sd:.4f}. "
                    "Hint: p is the DROP probability; keep an entry when u > p."
                )
    finally:
        torch.random.set_rng_state(gen_state)
    return True


def _entropy(labels: np.ndarray, n_classes: int) -> float:
    freq = np.bincount(labels, minlength=n_classes) / len(labels)
    nz = freq[freq > 0]
    return float(-(nz * np.log(nz)).sum())


def check_constant_loss(fn: Callable[[np.ndarray, int], float]) -> bool:
    """Check ``fn(labels, n_classes)``: the least mean cross-entropy of a constant-logit classifier.

    A network whose every hidden unit is dropped outputs the same logits
    :math:`b` for every input. The mean cross-entropy
    :math:`L(b) = -\\sum_k \\hat\\pi_k \\log \\operatorname{softmax}(b)_k` is
    minimised at :math:`\\operatorname{softmax}(b) = \\hat\\pi` (the class
    frequencies), where it equals the entropy
    :math:`H(\\hat\\pi) = -\\sum_k \\hat\\pi_k \\log \\hat\\pi_k` (with
    :math:`0 \\log 0 = 0`). The checker compares ``fn`` with :math:`H(\\hat\\pi)`
    to 1e-9 on balanced, unbalanced and single-class label vectors.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    rng = np.random.default_rng(0)
    cases = {
        "balanced, 10 classes": (np.repeat(np.arange(10), 600), 10),
        "unbalanced, 3 classes": (rng.choice(3, size=5000, p=[0.7, 0.2, 0.1]), 3),
        "one class present out of 4": (np.full(100, 2), 4),
        "two classes, one absent from the labels": (np.array([0, 0, 0, 2]), 3),
    }
    for what, (labels, k) in cases.items():
        want = _entropy(labels, k)
        got = _call(fn, what, labels.copy(), k)
        try:
            got = float(got)
        except (TypeError, ValueError) as exc:
            raise AssertionError(
                f"{what}: your function must return a number; got {got!r}"
            ) from exc
        if not math.isfinite(got) or abs(got - want) > 1e-9:
            raise AssertionError(
                f"{what}: expected {want:.6f}, got {got:.6f}. Hint: the best constant prediction is "
                "the vector of class frequencies; a class that never occurs contributes 0 (0 log 0 = 0)."
            )
    return True
