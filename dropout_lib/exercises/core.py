"""`check_dropout`: an automatic checker for a learner's inverted-dropout function.

The learner writes `fn(x, p, rng) -> array` (`p` the DROP probability, `rng`
a `numpy.random.Generator`). `check_dropout` returns True or raises
`dropout_lib.exercises._checking.CheckFailed` (an `AssertionError`)
naming the first property that failed, with a hint.

Statistical tolerances
----------------------
With N entries, drop probability p and keep probability
q = 1 − p, a correct function has

* dropped fraction f̂ with standard deviation √(pq/N);
* output mean ȳ with E[ȳ] = x̄ and standard
  deviation √((p/q) Σᵢ xᵢ²) / N.

Both checks allow `dropout_lib.exercises._checking.Z` = 5.5 standard
deviations, the course's one tolerance policy: by the normal approximation
(excellent at N = 10⁵) each fails a correct function with probability
2Φ(−5.5) ≈ 3.8 × 10⁻⁸. Wrong functions miss by
hundreds of standard deviations.

Independence and use of `rng`
-----------------------------
A mask can have the right keep rate and still be wrong: the same mask on every
call (a generator made inside the function, `default_rng(0)`), or neighbours
that share one coin. `require_uses_rng` demands different masks for different
seeds and for two consecutive calls with one generator, and that the call
advanced the generator's state. `require_independent` computes, along each
axis, the lag-1 correlation r of the 0/1 mask between neighbouring entries;
for independent entries √n·r is approximately N(0, 1) over n neighbour
pairs, so |√n·r| ≤ Z is allowed. Two neighbours sharing one coin give
r ≈ 0.5, i.e. hundreds of standard deviations at n = 10⁵.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._checking import (
    Z,
    call_learner,
    fail,
    require,
    require_callable,
    require_same_shape,
    within_z,
)

__all__ = [
    "N",
    "P_TEST",
    "check_dropout",
    "lag1_correlation",
    "require_independent",
    "require_uses_rng",
]

#: entries in the test array
N = 100_000
#: the drop probability of the statistical checks (asymmetric: p and 1 - p differ)
P_TEST = 0.3

DropoutFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]

_SIGNATURE_HINT = (
    "it must accept a float array x, a drop probability p and a numpy Generator rng"
)


def lag1_correlation(mask: np.ndarray, axis: int) -> tuple[float, int]:
    """The correlation r between neighbouring entries of `mask` along `axis`,
    and the number n of neighbour pairs.

    With x the entries that have a right neighbour and y those neighbours,
    r = mean((x − x̄)(y − ȳ)) / (sd(x) sd(y)); r = 0 when either
    side is constant. For independent entries √n·r → N(0, 1).
    """
    a = np.moveaxis(np.asarray(mask, dtype=np.float64), axis, 0)
    if a.shape[0] < 2:
        return 0.0, 0
    x, y = a[:-1].ravel(), a[1:].ravel()
    sx, sy = float(x.std()), float(y.std())
    if sx == 0.0 or sy == 0.0:
        return 0.0, int(x.size)
    r = float(np.mean((x - x.mean()) * (y - y.mean()))) / (sx * sy)
    return r, int(x.size)


def require_independent(dropped: np.ndarray, what: str, hint: str) -> None:
    """Fail if neighbouring entries of a 0/1 mask are correlated along any axis
    (|√n·r| > `Z`, see `lag1_correlation`)."""
    for axis in range(np.ndim(dropped)):
        r, n = lag1_correlation(dropped, axis)
        if n == 0:
            continue
        z = abs(r) * math.sqrt(n)
        require(
            z <= Z,
            f"dependence: {what}: neighbouring entries along axis {axis} are "
            f"correlated (lag-1 correlation {r:.3f}, {z:.0f} standard deviations; "
            f"{Z} allowed)",
            hint,
        )


def require_uses_rng(
    draw: Callable[[np.random.Generator], np.ndarray], what: str, hint: str
) -> None:
    """Fail unless `draw(rng)` (the learner's mask for a given generator)
    depends on `rng`: different seeds give different masks, the call advances the
    generator's state, and two consecutive calls with one generator give
    different masks."""
    a = np.asarray(draw(np.random.default_rng(11)))
    b = np.asarray(draw(np.random.default_rng(12)))
    require(
        not np.array_equal(a, b),
        f"rng: {what}: generators with different seeds gave the same mask",
        hint,
    )
    rng = np.random.default_rng(13)
    before = rng.bit_generator.state
    first = np.asarray(draw(rng))
    require(
        rng.bit_generator.state != before,
        f"rng: {what}: the call did not draw from the rng argument",
        hint,
    )
    second = np.asarray(draw(rng))
    require(
        not np.array_equal(first, second),
        f"rng: {what}: two consecutive calls with one generator gave the same mask",
        hint,
    )


def _call(fn: DropoutFn, x: np.ndarray, p: float, seed: int, what: str) -> np.ndarray:
    out = call_learner(
        fn, x, p, np.random.default_rng(seed), what=what, hint=_SIGNATURE_HINT
    )
    out = np.asarray(out)
    require_same_shape(
        out.shape,
        x.shape,
        what,
        "dropout is element-wise; draw the mask with x's shape",
    )
    return out


def check_dropout(fn: DropoutFn) -> bool:
    """Check that `fn(x, p, rng)` implements inverted dropout with drop
    probability `p`.

    Properties checked, in order (the first failure is reported):

    1. it runs at p = 0.3 and keeps the input's shape;
    2. it does not modify `x` in place;
    3. p = 0 returns `x` unchanged;
    4. p = 1 returns exact zeros (no exception, no NaN);
    5. the mask is drawn per element (not one coin for the whole array);
    6. every entry is 0 or xᵢ / (1 − p) (catches no rescaling, scaling
       by 1 − p, and scaling by 1/p);
    7. the dropped fraction is p within `Z` standard deviations
       (catches keep/drop confusion);
    8. the mean is preserved within `Z` standard deviations;
    9. the mask depends on `rng`: different seeds and consecutive calls give
       different masks, and the call advances the generator (`require_uses_rng`);
    10. neighbouring entries are independent, along both axes of a 2-D input
        too (`require_independent`);
    11. the same `rng` seed gives the same output.
    """
    require_callable(fn, "fn", "fn(x, p, rng)")
    data_rng = np.random.default_rng(20260101)
    x = data_rng.uniform(1.0, 2.0, size=N)
    original = x.copy()
    p, q = P_TEST, 1.0 - P_TEST

    out = _call(fn, x, p, 1, f"p={p}")
    require(
        np.array_equal(x, original),
        "mutation: your function changed the caller's array x in place",
        "compute a new array (x * mask / (1 - p)) instead of `x *= mask`",
    )
    out = out.astype(np.float64)

    out0 = _call(fn, x.copy(), 0.0, 2, "p=0")
    require(
        np.allclose(out0, x, rtol=1e-12, atol=0),
        "p=0: with nothing dropped the output must equal x exactly",
        "keep probability 1 - p = 1 means every mask entry is 1 and the scale is 1",
    )

    out1 = call_learner(
        fn,
        x.copy(),
        1.0,
        np.random.default_rng(3),
        what="p=1",
        hint="at p = 1 return zeros directly instead of dividing by 1 - p = 0",
    )
    out1 = np.asarray(out1, dtype=np.float64)
    require(
        not np.isnan(out1).any(),
        "p=1: the output contains NaN (0 / 0 or 0 * inf)",
        "special-case p = 1 and return np.zeros_like(x, dtype=float)",
    )
    require(
        out1.shape == x.shape and not np.any(out1 != 0),
        "p=1: everything is dropped, so the output must be all zeros",
    )

    dropped = out == 0
    frac = float(dropped.mean())
    if frac in (0.0, 1.0):
        fail(
            f"one coin: at p={p} your function "
            f"{'dropped' if frac == 1 else 'kept'} every entry",
            "draw one Bernoulli variable per element (a mask with x's shape), "
            "not one for the array",
        )

    kept = ~dropped
    ratio = out[kept] / x[kept]
    for scale, what, hint in (
        (
            1.0,
            "no rescaling: kept entries equal x",
            "divide kept entries by the keep probability 1 - p so that the "
            "expected output equals x",
        ),
        (
            q,
            "wrong scale: kept entries are x * (1 - p)",
            "inverted dropout DIVIDES by 1 - p during training; multiplying by "
            "1 - p is classic dropout's test-time rule",
        ),
        (
            1.0 / p,
            "wrong scale: kept entries are x / p",
            "p is the DROP probability; the keep probability is 1 - p",
        ),
    ):
        require(not np.allclose(ratio, scale, rtol=1e-6), what, hint)
    require(
        np.allclose(ratio, 1.0 / q, rtol=1e-6),
        f"wrong scale: kept entries should be x / (1 - p) = x * {1 / q:.4f}; "
        f"found ratios between {ratio.min():.4f} and {ratio.max():.4f}",
    )

    sd_frac = math.sqrt(p * q / N)
    require(
        abs(frac - q) > Z * sd_frac,
        f"keep/drop confusion: with p={p} your function dropped {frac:.4f} of the "
        "entries, about 1 - p",
        "drop an entry when the uniform draw is < p (keep when it is >= p)",
    )
    within_z(
        frac,
        p,
        sd_frac,
        f"drop rate: the fraction of entries dropped at p={p}",
        "each entry must be dropped with probability p, independently",
    )

    sd_mean = math.sqrt(p / q * float(np.sum(x**2))) / N
    within_z(
        float(out.mean()),
        float(x.mean()),
        sd_mean,
        "mean: the output mean (it must equal the input mean on average)",
        "E[m x / (1 - p)] = x only if P(keep) = 1 - p for every entry",
    )

    rng_hint = (
        "draw the mask from the rng argument (rng.random(x.shape)), not from a "
        "generator made inside the function or from np.random"
    )
    x_small = x[:2000]

    def draw(rng: np.random.Generator) -> np.ndarray:
        out = call_learner(fn, x_small.copy(), p, rng, what="rng", hint=rng_hint)
        dropped: np.ndarray = np.asarray(out) == 0
        return dropped

    require_uses_rng(draw, f"p={p}", rng_hint)
    indep_hint = (
        "draw one uniform number per entry, rng.random(x.shape): neighbours (and "
        "rows) must not share a coin"
    )
    require_independent(dropped, f"p={p}, 1-D input", indep_hint)
    x2 = data_rng.uniform(1.0, 2.0, size=(250, 400))
    out2 = _call(fn, x2, p, 4, "2-D input")
    require_independent(out2 == 0, f"p={p}, 2-D input of shape (250, 400)", indep_hint)

    again = _call(fn, x.copy(), p, 1, "reproducibility")
    require(
        np.array_equal(np.asarray(again, dtype=np.float64), out),
        "rng: two calls with generators seeded alike gave different outputs",
        "draw the mask from the rng argument (rng.random(x.shape)), not from np.random",
    )
    return True
