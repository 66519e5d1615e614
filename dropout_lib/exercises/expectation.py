"""Checkers for the exercises of chapter 3 (expectation, variance, equivalence).

Each checker calls the learner's function on several inputs (through
`dropout_lib.exercises._checking.call_learner`, so a learner's exception
becomes a failed check) and compares it with the exact answer; it returns True or
raises `dropout_lib.exercises._checking.CheckFailed` with a message that
names the property that failed and gives a hint. The checks here are exact
(deterministic formulas and float64 trajectories), so no statistical tolerance
`dropout_lib.exercises._checking.Z` is needed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..equivalence import next_layer_decay_scale, next_layer_lr_scale, side_by_side
from ._checking import call_learner, fail, require, require_callable

__all__ = [
    "check_classic_variance",
    "check_decay_scale",
    "check_gaussian_sigma",
    "check_lr_scale",
]

_PS = (0.1, 0.25, 0.5, 0.8)
#: The optimizers the learning-rate exercise asks about.
_LR_OPTIMIZERS = ("sgd", "momentum", "adam")


def _as_float_array(value: object, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} must return real numbers; got {value!r}")


def _as_float(value: object, what: str) -> float:
    arr = _as_float_array(value, what)
    require(arr.size == 1, f"{what} must return one number; got {value!r}")
    return float(arr.reshape(()))


def _require_same_trajectory(max_param_diff: np.ndarray, setting: str) -> None:
    """The classic and inverted nets trained with the learner's factor agree to
    1e-9 in every parameter at every step."""
    worst = float(np.max(max_param_diff))
    require(
        worst <= 1e-9,
        f"with your factor the two nets drift apart {setting}: "
        f"max parameter difference {worst:.3g}",
    )


def check_classic_variance(fn: Callable[[np.ndarray, float], np.ndarray]) -> bool:
    """Check `fn(h, p)` returns Var[m h] = h² p (1 − p).

    Element-wise: `h` is a float array, `p` the drop probability; the mask is
    m ~ Bernoulli(1 − p) and there is no rescaling (classic
    dropout).
    """
    require_callable(fn, "fn", "(h, p) -> array")
    h = np.array([-2.0, -0.5, 0.0, 0.3, 1.0, 3.0])
    for p in _PS:
        h_in = h.copy()
        got = _as_float_array(
            call_learner(fn, h_in, p, what=f"fn(h, p={p})"), "fn(h, p)"
        )
        require(np.array_equal(h_in, h), "fn must not modify its input h")
        want = h**2 * p * (1 - p)
        require(
            got.shape == h.shape,
            f"fn(h, p) must return one variance per entry of h (shape {h.shape}); "
            f"got {got.shape}",
        )
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            if np.allclose(got, h**2 * p / (1 - p)):
                hint = (
                    "that is the inverted-dropout variance; classic dropout does "
                    "not divide by q"
                )
            elif np.allclose(got, h**2 * p):
                hint = "remember Var[m] = E[m^2] - E[m]^2 = q - q^2"
            fail(f"wrong variance at p={p}: got {got}, expected {want}", hint)
    return True


def check_gaussian_sigma(fn: Callable[[float], float]) -> bool:
    """Check `fn(p)` is the σ for which h · ξ,
    ξ ~ N(1, σ²), has the same mean and variance as inverted
    dropout with drop probability `p`: σ = √(p / (1 − p)).
    """
    require_callable(fn, "fn", "(p) -> float")
    for p in (0.0,) + _PS:
        got = _as_float(call_learner(fn, p, what=f"fn(p={p})"), "fn(p)")
        want = np.sqrt(p / (1 - p))
        if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            if np.isclose(got, p / (1 - p)) and p > 0:
                hint = "that is the variance sigma^2; return its square root"
            elif np.isclose(got, np.sqrt(p)) and p > 0:
                hint = "match Var[h'] = h^2 p/(1-p), not h^2 p"
            fail(f"wrong sigma at p={p}: got {got}, expected {want:.6g}", hint)
    return True


def check_lr_scale(fn: Callable[[float, str], float], *, simulate: bool = True) -> bool:
    """Check `fn(p, optimizer)` returns η_V / η_W for `optimizer` in
    `"sgd"`, `"momentum"`, `"adam"`: the factor by which the classic net's
    next-layer learning rate must exceed the inverted net's for the two
    trajectories to coincide.

    With `simulate=True` the learner's factor is also used to train the two nets
    side by side (`dropout_lib.equivalence.side_by_side`, 30 steps at
    p = 0.3), and the parameters must agree to 1e-9.
    """
    require_callable(fn, "fn", "(p, optimizer) -> float")
    for optimizer in _LR_OPTIMIZERS:
        for p in _PS:
            what = f"fn(p={p}, optimizer={optimizer!r})"
            got = _as_float(call_learner(fn, p, optimizer, what=what), what)
            want = next_layer_lr_scale(p, optimizer)  # type: ignore[arg-type]
            if not np.isclose(got, want, rtol=1e-9):
                q = 1 - p
                hint = ""
                if np.isclose(got, 1 / q) and optimizer != "adam":
                    hint = "the weights differ by q as well as the gradients: square it"
                elif np.isclose(got, 1 / q**2) and optimizer == "adam":
                    hint = "Adam's step does not depend on the gradient's scale"
                elif np.isclose(got, q) or np.isclose(got, q**2):
                    hint = (
                        "the classic net's V is larger than W = qV, so its rate "
                        "must be larger, not smaller"
                    )
                fail(f"wrong factor for {what}: got {got}, expected {want:.6g}", hint)
        if simulate:
            what = f"fn(0.3, {optimizer!r})"
            factor = _as_float(call_learner(fn, 0.3, optimizer, what=what), what)
            lr = 0.05 if optimizer != "adam" else 0.01
            run = side_by_side(0.3, optimizer, lr, 30, lr_scale=factor)  # type: ignore[arg-type]
            _require_same_trajectory(run.max_param_diff, f"under {optimizer!r}")
    return True


def check_decay_scale(
    fn: Callable[[float, str], float], *, simulate: bool = True
) -> bool:
    """Check `fn(p, decay)` returns λ_V / λ_W for `decay` in
    `"coupled"` (an L2 term in the loss: q²) and `"decoupled"` (AdamW
    with η_V = η_W / q: q).

    With `simulate=True` the learner's factor is used to train the two nets side
    by side with Adam/AdamW (`dropout_lib.equivalence.side_by_side`, 40
    steps at p = 0.4, λ_W = 0.05), and the parameters must
    agree to 1e-9.
    """
    require_callable(fn, "fn", "(p, decay) -> float")
    for decay in ("coupled", "decoupled"):
        for p in _PS:
            what = f"fn(p={p}, decay={decay!r})"
            got = _as_float(call_learner(fn, p, decay, what=what), what)
            want = next_layer_decay_scale(p, decay)
            if not np.isclose(got, want, rtol=1e-9):
                q = 1 - p
                hint = ""
                if decay == "decoupled" and np.isclose(got, q**2):
                    hint = (
                        "the decoupled shrink is eta * lambda * V, outside the "
                        "gradient: match eta_V lambda_V = eta_W lambda_W"
                    )
                elif decay == "coupled" and np.isclose(got, q):
                    hint = "the L2 term enters the gradient, which scales by q twice"
                fail(f"wrong factor for {what}: got {got}, expected {want:.6g}", hint)
        if simulate:
            what = f"fn(0.4, {decay!r})"
            factor = _as_float(call_learner(fn, 0.4, decay, what=what), what)
            run = side_by_side(
                0.4,
                "adam",
                0.01,
                40,
                weight_decay=0.05,
                decay=decay,
                decay_scale=factor,
            )
            _require_same_trajectory(run.max_param_diff, f"({decay} decay)")
    return True
