"""The course's one statistical standard for claims made over random seeds.

A number measured once per seed (a test accuracy, a train-test gap) is a random
variable: the seed picks the initial weights, the batch order and every dropout
mask. The course reports and compares such numbers only through this module.

* `mean_sd` -- the mean and *sample* standard deviation
  s = √((1/(n−1)) Σᵢ (vᵢ − v̄)²) over n ≥ 2 seeds
  (a single seed has no spread: it is an error, not 0 or NaN).
* `paired_diff` -- "A beats B": the per-seed differences
  dᵢ = aᵢ − bᵢ (A and B share seed i, so the seed's luck cancels), with the
  t-based confidence interval d̄ ± t(n−1, 1−α/2)·s_d/√n. A claim that A beats
  B is made only when that interval excludes 0.
* `equivalence_test` -- "no measurable effect": two one-sided t-tests
  (TOST, Schuirmann 1987) of H₀: |μ_d| ≥ δ against
  H₁: |μ_d| < δ for a margin δ stated in advance. Equivalence at level α holds
  exactly when the (1 − 2α) confidence interval of μ_d lies inside (−δ, δ).
  "The interval contains 0" is *not* evidence of no effect:
  with few seeds it contains 0 for large effects too.

The intervals assume the per-seed differences are roughly normal; with n ≥ 5
seeds the t-interval is robust to moderate skew. The tests in
`tests/test_stats.py` check by simulation that the false-claim rate under no
effect is at most α and that the power matches the noncentral-t formula of
`power_paired`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from .validation import check_int

__all__ = [
    "Equivalence",
    "MIN_SEEDS",
    "PairedDiff",
    "SeedSummary",
    "equivalence_test",
    "mean_sd",
    "paired_diff",
    "power_paired",
]

#: The fewest seeds a comparative claim in the course rests on.
MIN_SEEDS = 5


def _values(
    values: Sequence[float] | np.ndarray, name: str, min_n: int = 2
) -> np.ndarray:
    """`values` as a finite 1-D float64 array of length `>= min_n` (a copy)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of real numbers; got a string")
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a sequence of real numbers; got {values!r}"
        ) from exc
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per seed); got shape {arr.shape}"
        )
    if arr.size < min_n:
        raise ValueError(
            f"{name} must hold at least {min_n} values (one per seed) to measure a "
            f"spread; got {arr.size}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    return arr


def _level(level: float, name: str = "level") -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise TypeError(f"{name} must be a float in (0, 1); got {level!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"{name} must lie in the open interval (0, 1); got {name}={level!r}"
        )
    return float(level)


@dataclass(frozen=True)
class SeedSummary:
    """Mean and sample standard deviation of one number over `n >= 2` seeds.

    `str()` gives `"mean ± sd"` with three decimals; `format` takes another
    number of decimals.
    """

    mean: float
    sd: float
    n: int
    values: tuple[float, ...]

    @property
    def se(self) -> float:
        """Standard error of the mean, s/√n."""
        return self.sd / math.sqrt(self.n)

    def format(self, digits: int = 3) -> str:
        """`"mean ± sd"` rounded to `digits` decimals."""
        return f"{self.mean:.{digits}f} ± {self.sd:.{digits}f}"

    def __str__(self) -> str:
        return self.format(3)


def mean_sd(values: Sequence[float] | np.ndarray) -> SeedSummary:
    """Summarise per-seed values v₁, …, vₙ as v̄ ± s.

    v̄ = (1/n) Σᵢ vᵢ, s² = (1/(n−1)) Σᵢ (vᵢ − v̄)².

    Raises `ValueError` for fewer than two values, a non-1-D input or a
    non-finite value, and `TypeError` for values that are not real numbers. The
    input is not modified.
    """
    arr = _values(values, "values")
    return SeedSummary(
        float(arr.mean()), float(arr.std(ddof=1)), int(arr.size), tuple(arr.tolist())
    )


@dataclass(frozen=True)
class PairedDiff:
    """The paired difference A − B over seeds, with its t-based confidence interval.

    `lo`/`hi` bound the `level` interval of the mean difference.
    """

    mean: float
    sd: float
    n: int
    lo: float
    hi: float
    level: float
    diffs: tuple[float, ...]

    @property
    def a_better(self) -> bool:
        """True when the interval lies above 0 (A larger than B, decisively)."""
        return self.lo > 0.0

    @property
    def b_better(self) -> bool:
        """True when the interval lies below 0 (B larger than A, decisively)."""
        return self.hi < 0.0

    @property
    def decisive(self) -> bool:
        """True when the interval excludes 0 (either sign)."""
        return self.a_better or self.b_better

    def format(self, digits: int = 3) -> str:
        """`"+0.012 [+0.004, +0.020]"`: mean difference and interval."""
        return f"{self.mean:+.{digits}f} [{self.lo:+.{digits}f}, {self.hi:+.{digits}f}]"

    def __str__(self) -> str:
        return f"{self.format(3)} ({round(100 * self.level)} % CI, n={self.n})"


def paired_diff(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> PairedDiff:
    """Paired difference dᵢ = aᵢ − bᵢ over seeds, with a t confidence interval:

        d̄ ± t(n−1, (1 + level)/2)·s_d/√n

    `a[i]` and `b[i]` must come from the same seed `i`. Raises `ValueError` if
    the lengths differ or fewer than two pairs are given.
    """
    level = _level(level)
    xa, xb = _values(a, "a"), _values(b, "b")
    if xa.shape != xb.shape:
        raise ValueError(
            f"a and b must hold one value per seed each; got {xa.size} and {xb.size}"
        )
    d = xa - xb
    n = int(d.size)
    m, s = float(d.mean()), float(d.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, n - 1)) * s / math.sqrt(n)
    return PairedDiff(m, s, n, m - half, m + half, level, tuple(d.tolist()))


@dataclass(frozen=True)
class Equivalence:
    """Result of a TOST equivalence test of the paired difference within `±margin`.

    `lo`/`hi` bound the (1 − 2α) interval; `p_value` is the larger of the two
    one-sided p-values; `equivalent` is `p_value < alpha`.
    """

    mean: float
    lo: float
    hi: float
    margin: float
    alpha: float
    p_value: float
    n: int

    @property
    def equivalent(self) -> bool:
        return self.p_value < self.alpha

    def __str__(self) -> str:
        verdict = "equivalent" if self.equivalent else "not shown equivalent"
        return (
            f"{self.mean:+.3f} [{self.lo:+.3f}, {self.hi:+.3f}] "
            f"within ±{self.margin:g}: {verdict} "
            f"(TOST p={self.p_value:.3f}, n={self.n})"
        )


def equivalence_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray | None,
    margin: float,
    alpha: float = 0.05,
) -> Equivalence:
    """Two one-sided t-tests: is the mean paired difference inside `(-margin,
    margin)`?

    With dᵢ = aᵢ − bᵢ (or dᵢ = aᵢ when `b` is None), t₋ = (d̄ + δ)/(s_d/√n)
    tests μ_d > −δ and t₊ = (d̄ − δ)/(s_d/√n) tests μ_d < δ; the p-value is
    max(1 − F_(n−1)(t₋), F_(n−1)(t₊)). Equivalent at level `alpha` iff that
    p-value is below `alpha`, which is the same as the 1 − 2α interval lying
    inside the margin.

    `margin` must be positive and is the largest difference the claim calls
    negligible: state it in the text before looking at the data.
    """
    alpha = _level(alpha, "alpha")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating)):
        raise TypeError(f"margin must be a positive real number; got {margin!r}")
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(
            f"margin must be a positive finite number; got margin={margin!r}"
        )
    xa = _values(a, "a")
    if b is None:
        d = xa
    else:
        xb = _values(b, "b")
        if xa.shape != xb.shape:
            raise ValueError(
                "a and b must hold one value per seed each; "
                f"got {xa.size} and {xb.size}"
            )
        d = xa - xb
    n = int(d.size)
    m, s = float(d.mean()), float(d.std(ddof=1))
    se = s / math.sqrt(n)
    if se == 0.0:
        p = 0.0 if abs(m) < margin else 1.0
    else:
        p_lower = float(_st.t.sf((m + margin) / se, n - 1))
        p_upper = float(_st.t.cdf((m - margin) / se, n - 1))
        p = max(p_lower, p_upper)
    half = float(_st.t.ppf(1 - alpha, n - 1)) * se
    return Equivalence(m, m - half, m + half, float(margin), alpha, p, n)


def power_paired(effect: float, sd: float, n: int, level: float = 0.95) -> float:
    """Probability that `paired_diff`'s interval lies above 0 for a true effect.

    For normal differences with mean `effect` > 0 and standard deviation `sd`,
    P(d̄ − t s_d/√n > 0) = 1 − F_(ν,λ)(t), the noncentral t distribution with
    ν = n − 1 and λ = effect·√n/sd, t = t(n−1, (1 + level)/2). Use it to choose
    the number of seeds before running an experiment.
    """
    level = _level(level)
    n = check_int(n, "n", 2)
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive finite number; got sd={sd!r}")
    t = float(_st.t.ppf(0.5 + level / 2, n - 1))
    return float(_st.nct.sf(t, n - 1, effect * math.sqrt(n) / sd))
