"""Checkers for the exercises of chapter 3 (expectation, variance and the equivalence theorem).

Each checker calls the learner's function on several inputs and compares it with
the exact answer; it returns True or raises ``AssertionError`` with a message that
names the property that failed and gives a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..equivalence import OPTIMIZERS, next_layer_lr_scale, side_by_side

__all__ = ["check_classic_variance", "check_gaussian_sigma", "check_lr_scale"]

_PS = (0.1, 0.25, 0.5, 0.8)


def _require_callable(fn, name: str = "fn") -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be a callable; got {type(fn).__name__}")


def _as_float_array(value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} must return real numbers; got {value!r}") from exc
    return arr


def check_classic_variance(fn: Callable[[np.ndarray, float], np.ndarray]) -> bool:
    """Check ``fn(h, p)`` returns :math:`\\operatorname{Var}[m h] = h^2 p (1 - p)`, element-wise.

    ``h`` is a float array, ``p`` the drop probability; the mask is
    :math:`m \\sim \\mathrm{Bernoulli}(1 - p)` and there is no rescaling (classic dropout).
    """
    _require_callable(fn)
    h = np.array([-2.0, -0.5, 0.0, 0.3, 1.0, 3.0])
    for p in _PS:
        h_in = h.copy()
        got = _as_float_array(fn(h_in, p), "fn(h, p)")
        if not np.array_equal(h_in, h):
            raise AssertionError("fn must not modify its input h")
        want = h**2 * p * (1 - p)
        if got.shape != h.shape:
            raise AssertionError(
                f"fn(h, p) must return one variance per entry of h (shape {h.shape}); got {got.shape}"
            )
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            if np.allclose(got, h**2 * p / (1 - p)):
                hint = " That is the inverted-dropout variance; classic dropout does not divide by q."
            elif np.allclose(got, h**2 * p):
                hint = " Remember Var[m] = E[m^2] - E[m]^2 = q - q^2."
            raise AssertionError(
                f"wrong variance at p={p}: got {got}, expected {want}.{hint}"
            )
    return True


def check_gaussian_sigma(fn: Callable[[float], float]) -> bool:
    """Check ``fn(p)`` is the :math:`\\sigma` for which :math:`h \\cdot \\xi`, :math:`\\xi \\sim N(1, \\sigma^2)`,
    has the same mean and variance as inverted dropout with drop probability ``p``:
    :math:`\\sigma = \\sqrt{p / (1 - p)}`.
    """
    _require_callable(fn)
    for p in (0.0,) + _PS:
        got = float(_as_float_array(fn(p), "fn(p)"))
        want = np.sqrt(p / (1 - p))
        if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
            hint = ""
            if np.isclose(got, p / (1 - p)) and p > 0:
                hint = " That is the variance sigma^2; return its square root."
            elif np.isclose(got, np.sqrt(p)) and p > 0:
                hint = " Match Var[h'] = h^2 p/(1-p), not h^2 p."
            raise AssertionError(
                f"wrong sigma at p={p}: got {got}, expected {want:.6g}.{hint}"
            )
    return True


def check_lr_scale(fn: Callable[[float, str], float], *, simulate: bool = True) -> bool:
    """Check ``fn(p, optimizer)`` returns :math:`\\eta_V / \\eta_W` for ``optimizer`` in ``"sgd"``,
    ``"momentum"``, ``"adam"``: the factor by which the classic net's next-layer learning
    rate must exceed the inverted net's for the two trajectories to coincide.

    With ``simulate=True`` the learner's factor is also used to train the two nets
    side by side (:func:`dropout_lib.equivalence.side_by_side`, 30 steps at
    :math:`p = 0.3`), and the parameters must agree to 1e-9.
    """
    _require_callable(fn)
    for optimizer in OPTIMIZERS:
        for p in _PS:
            got = float(_as_float_array(fn(p, optimizer), "fn(p, optimizer)"))
            want = next_layer_lr_scale(p, optimizer)
            if not np.isclose(got, want, rtol=1e-9):
                q = 1 - p
                hint = ""
                if np.isclose(got, 1 / q) and optimizer != "adam":
                    hint = " The weights differ by q as well as the gradients: the factor is squared."
                elif np.isclose(got, 1 / q**2) and optimizer == "adam":
                    hint = " Adam's step does not depend on the gradient's scale."
                elif np.isclose(got, q) or np.isclose(got, q**2):
                    hint = " The classic net's V is larger than W = qV, so its rate must be larger, not smaller."
                raise AssertionError(
                    f"wrong factor for optimizer={optimizer!r}, p={p}: got {got}, expected {want:.6g}.{hint}"
                )
        if simulate:
            run = side_by_side(
                0.3,
                optimizer,
                0.05 if optimizer != "adam" else 0.01,
                30,
                lr_scale=float(fn(0.3, optimizer)),
            )
            if run.max_param_diff.max() > 1e-9:
                raise AssertionError(
                    f"with your factor the two nets drift apart under {optimizer!r}: "
                    f"max parameter difference {run.max_param_diff.max():.3g}"
                )
    return True
