"""Checkers for chapter 7 (dropout at test time): mutual information and ECE.

Each checker calls the learner's function on inputs where the right answer is
known (computed by `dropout_lib.uncertainty`), returns `True` or raises
`dropout_lib.exercises._checking.CheckFailed` naming the property that
failed. No `assert` statements: the checks hold under `python -O` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..uncertainty import expected_calibration_error, mutual_information
from ._checking import (
    call_learner,
    fail,
    require,
    require_callable,
    require_same_shape,
    require_unmodified,
)

__all__ = ["check_ece", "check_mutual_information"]


def _as_array(value: Any, what: str, hint: str) -> np.ndarray:
    """The learner's result as a float64 NumPy array (tensors are moved to the CPU)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what}: your function returned {type(value).__name__}", hint)
    return arr


def _dirichlet_samples(
    rng: np.random.Generator, t: int, n: int, c: int, conc: float
) -> torch.Tensor:
    return torch.from_numpy(rng.dirichlet(np.full(c, conc), size=(t, n)))


def check_mutual_information(fn: Callable[[torch.Tensor], Any]) -> bool:
    """Check `fn(samples) -> [N]`: the mutual information (BALD score) in nats.

    `samples` is a float64 tensor `[T, N, C]` of class probabilities
    (pass `t`, example `n`). The result must match
    H[(1/T) Σₜ pₜ] − (1/T) Σₜ H[pₜ] to 1e-6, be 0 when all
    passes agree, and leave `samples` unchanged.
    """
    require_callable(fn, "fn", "fn(samples) -> tensor [N]")
    hint = (
        "I = H[mean over passes of p] - mean over passes of H[p], natural log, "
        "one value per example (average over axis 0, classes on the last axis)"
    )
    rng = np.random.default_rng(7)
    cases = [
        ("two classes, two passes", _dirichlet_samples(rng, 2, 6, 2, 1.0)),
        ("ten classes, 20 passes", _dirichlet_samples(rng, 20, 30, 10, 0.5)),
        ("three classes, 5 confident passes", _dirichlet_samples(rng, 5, 12, 3, 0.1)),
    ]
    agree = _dirichlet_samples(rng, 1, 8, 4, 1.0).expand(6, 8, 4).clone()
    cases.append(("all passes agree", agree))
    for what, s in cases:
        before = s.clone()
        got = _as_array(call_learner(fn, s, what=what, hint=hint), what, hint)
        expected = mutual_information(before).numpy()
        require_unmodified(s, before, what, "work on copies; never write into samples")
        require_same_shape(
            got.shape, expected.shape, f"{what} (one value per example)", hint
        )
        if not np.allclose(got, expected, atol=1e-6, rtol=1e-6):
            worst = int(np.argmax(np.abs(got - expected)))
            fail(
                f"{what}: example {worst} gives {got.flat[worst]:.6f}, expected "
                f"{expected.flat[worst]:.6f}",
                hint,
            )
    return True


def check_ece(fn: Callable[[torch.Tensor, torch.Tensor, int], Any]) -> bool:
    """Check `fn(probs, y, n_bins) -> float`: the expected calibration error.

    Equal-width bins of the confidence max_c p_nc over [0, 1];
    ECE = Σ_b (|B_b|/N) |acc(B_b) −
    conf(B_b)|. Checked to 1e-9 against the library on random
    predictors (overconfident, underconfident, calibrated), and on a
    calibrated predictor (labels drawn from the predicted probabilities),
    whose ECE must be small.
    """
    require_callable(fn, "fn", "fn(probs, y, n_bins) -> float")
    hint = (
        "bin each example by its confidence max_c p[n, c] into n_bins equal-width "
        "bins; in each bin compare the fraction of correct argmax predictions with "
        "the mean confidence; weight each bin's absolute gap by its share of examples"
    )
    rng = np.random.default_rng(11)
    for what, n, c, conc, temp, n_bins in (
        ("overconfident predictor, 15 bins", 3000, 10, 0.3, 0.5, 15),
        ("underconfident predictor, 10 bins", 2000, 5, 1.0, 2.0, 10),
        ("two classes, 5 bins", 1500, 2, 0.8, 1.0, 5),
    ):
        probs = torch.from_numpy(rng.dirichlet(np.full(c, conc), size=n))
        # labels drawn from a tempered version of probs: miscalibrated on purpose
        tempered = probs ** (1.0 / temp)
        tempered = tempered / tempered.sum(1, keepdim=True)
        u = torch.from_numpy(rng.random(n))[:, None]
        y = (tempered.cumsum(1) < u).sum(1).clamp_max(c - 1)
        p0, y0 = probs.clone(), y.clone()
        got = _as_array(
            call_learner(fn, probs, y, n_bins, what=what, hint=hint), what, hint
        )
        for arg, copy in ((probs, p0), (y, y0)):
            require_unmodified(
                arg, copy, what, "work on copies; never write into probs or y"
            )
        require(got.size == 1, f"{what}: return one number, got shape {got.shape}")
        expected = expected_calibration_error(p0, y0, n_bins)
        if not abs(float(got.ravel()[0]) - expected) <= 1e-9 + 1e-9 * expected:
            fail(
                f"{what}: got ECE {float(got.ravel()[0]):.6f}, expected {expected:.6f}",
                hint,
            )
    # a perfectly calibrated predictor: labels sampled from the probabilities
    probs = torch.from_numpy(rng.dirichlet(np.full(4, 0.5), size=20000))
    u = torch.from_numpy(rng.random(20000))[:, None]
    y = (probs.cumsum(1) < u).sum(1).clamp_max(3)
    got_calibrated = float(
        _as_array(
            call_learner(fn, probs, y, 15, what="calibrated predictor", hint=hint),
            "calibrated predictor",
            hint,
        ).ravel()[0]
    )
    require(
        got_calibrated < 0.03,
        f"calibrated predictor: ECE {got_calibrated:.4f}; "
        "a calibrated predictor has ECE near 0",
        hint,
    )
    return True
