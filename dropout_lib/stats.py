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

Claims that replicate
---------------------
A chapter is re-executed on other machines (another CPU, a GPU, torch's default
kernels), and rounding differences grow through training into differences the
size of a new seed. So an asserted claim must hold on a *re-run* of the same
experiment, not only on the run that produced the stored outputs. The tiers,
decided once here and used by every chapter:

* "inconclusive": the claim's interval does not clear its boundary.
* "supported": it does (the 95 % interval excludes the boundary, or the TOST
  interval lies inside the margin), but a re-run with new noise could well
  miss: the chapter reports it and does not assert it.
* "replicates": supported, and the re-run risk (`replication_risk`) is at most
  `MAX_REPLICATION_RISK`. Only these are asserted (`assert_claim`), and the
  stored outputs of all chapters together spend at most `BOOK_RISK_BUDGET`
  (`tests/test_claims_ledger.py`).

The re-run risk is the posterior predictive probability that an independent
replication with the same number of seeds fails the same test, under the
normal model with the noninformative prior p(μ, σ) ∝ 1/σ: given the observed
mean d̄ and sd s, σ² = (n−1)s²/W with W ~ χ²(n−1), the replication's mean is
d̄' ~ N(d̄, 2σ²/n) and its sd s' = σ·√(W'/(n−1)) with W' ~ χ²(n−1). The
integral over (W, W') is done on a fixed quantile grid. The uncertainty of s
dominates with few seeds: at n = 5 a claim needs its mean about 26 standard
errors from the boundary for a risk of 10⁻³, at n = 10 about 11, at n = 20
about 8. The tests check by simulation that claims asserted by this rule
replicate in ≥ 99 % of independent re-runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special as _special
from scipy import stats as _st

from .validation import check_int

__all__ = [
    "BOOK_RISK_BUDGET",
    "Claim",
    "ClaimFailed",
    "Equivalence",
    "MAX_REPLICATION_RISK",
    "MIN_SEEDS",
    "PairedDiff",
    "SeedSummary",
    "Z_TOLERANCE",
    "equivalence_test",
    "mean_sd",
    "paired_diff",
    "power_paired",
    "replication_risk",
    "assert_claim",
    "claim",
]

#: The fewest seeds a comparative claim in the course rests on.
MIN_SEEDS = 5

#: The largest re-run risk (`replication_risk`) of a claim a chapter asserts.
MAX_REPLICATION_RISK = 1e-3

#: The largest total re-run risk of all claims the book asserts: by the union
#: bound, the chance that any asserted claim fails on a new machine.
BOOK_RISK_BUDGET = 1e-2

#: The course's one tolerance for a statistical CHECK (an exercise checker, a
#: sanity assertion on a sampled mask), in standard deviations: an observed
#: value passes when |observed − expected| ≤ Z_TOLERANCE·σ. It is a policy, not
#: a quantile: a correct function fails one such check with probability
#: 2Φ(−5.5) ≈ 3.8 × 10⁻⁸ (`scipy.stats.norm.sf`, checked in the tests), while
#: the mistakes the checks look for miss by tens of standard deviations. Claims
#: over seeds use the t-intervals and tiers above instead.
Z_TOLERANCE = 5.5


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

    @property
    def se(self) -> float:
        """Standard error of the mean difference, s_d/√n."""
        return self.sd / math.sqrt(self.n)

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

    sd: float = math.nan

    @property
    def equivalent(self) -> bool:
        """True when the (1 − 2α) interval lies inside (−margin, margin)."""
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
    return Equivalence(m, m - half, m + half, float(margin), alpha, p, n, s)


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


# --------------------------------------------------------------------------
# Claims that replicate
# --------------------------------------------------------------------------

_GRID_POINTS = 600


@lru_cache(maxsize=64)
def _chi2_grid(df: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of χ²(df) on a logit-spaced grid, and their probability weights.

    The grid reaches probabilities of 10⁻⁹ in both tails, where a small observed
    sd hides a large true one; the weights sum to 1.
    """
    edges = np.linspace(-21.0, 21.0, _GRID_POINTS + 1)
    weights = np.diff(_special.expit(edges))
    mid = _special.expit((edges[1:] + edges[:-1]) / 2)
    quantiles = _st.chi2.ppf(mid, df)
    quantiles.setflags(write=False)
    weights = weights / weights.sum()
    weights.setflags(write=False)
    return quantiles, weights


def _rerun_moments(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ/s (rows) and s'/s (rows × columns) on the grid, and the joint weights."""
    df = n - 1
    w, p = _chi2_grid(df)
    sigma = np.sqrt(df / w)[:, None]
    s_rerun = sigma * np.sqrt(w / df)[None, :]
    return sigma, s_rerun, p[:, None] * p[None, :]


def replication_risk(
    result: PairedDiff | Equivalence, direction: str | None = None, than: float = 0.0
) -> float:
    """Probability that a re-run with new noise and the same seeds count fails
    the claim that `result` supports.

    For a `PairedDiff` and `direction` ">" (or "<"), the claim is that the
    `result.level` interval lies above (below) `than`; for an `Equivalence`
    (no `direction`), that the (1 − 2α) interval lies inside ±margin.
    In units of s/√n, with σ/s = √((n−1)/W) and s'/s = (σ/s)·√(W'/(n−1)):

        risk = E_{W,W'} P( d̄' ≤ b + c·s'/√n ),   d̄' ~ N(d̄, 2σ²/n),

    for ">" with boundary b and critical value c = t(n−1, (1+level)/2), and
    correspondingly for "<" and for the two-sided TOST condition
    −δ + h·s'/√n < d̄' < δ − h·s'/√n with h = t(n−1, 1−α). See the module
    docstring for the model. A result with zero spread has risk 0 if the claim
    holds and 1 if not.
    """
    if isinstance(result, Equivalence):
        if direction is not None:
            raise ValueError(
                "direction must be None for an Equivalence result; "
                f"got direction={direction!r}"
            )
        n, mean, sd = result.n, result.mean, result.sd
        crit = float(_st.t.ppf(1 - result.alpha, n - 1))
    elif isinstance(result, PairedDiff):
        if direction not in (">", "<"):
            raise ValueError(
                f"direction must be '>' or '<' for a PairedDiff; got {direction!r}"
            )
        if not (isinstance(than, (int, float, np.floating)) and math.isfinite(than)):
            raise TypeError(f"than must be a finite real number; got {than!r}")
        n, mean, sd = result.n, result.mean, result.sd
        crit = float(_st.t.ppf(0.5 + result.level / 2, n - 1))
    else:
        raise TypeError(
            "result must be a PairedDiff or an Equivalence; "
            f"got {type(result).__name__}"
        )
    if not math.isfinite(sd):
        raise ValueError("result has no standard deviation (made by an old version?)")
    se = sd / math.sqrt(n)
    if se == 0.0:
        return 0.0 if _holds(result, direction, than) else 1.0
    sigma, s_rerun, weight = _rerun_moments(n)
    spread = sigma * math.sqrt(2.0)  # sd of d̄' in units of se
    if isinstance(result, Equivalence):
        upper = (result.margin - mean) / se - crit * s_rerun
        lower = (-result.margin - mean) / se + crit * s_rerun
        inside = _st.norm.cdf(upper / spread) - _st.norm.cdf(lower / spread)
        p_pass = np.where(upper > lower, inside, 0.0)
    else:
        sign = 1.0 if direction == ">" else -1.0
        z = (sign * (mean - than) / se - crit * s_rerun) / spread
        p_pass = _st.norm.cdf(z)
    risk = float(np.sum(weight * (1.0 - p_pass)))
    return min(1.0, max(0.0, risk))


def _holds(
    result: PairedDiff | Equivalence, direction: str | None, than: float
) -> bool:
    if isinstance(result, Equivalence):
        return result.equivalent
    return result.lo > than if direction == ">" else result.hi < than


class ClaimFailed(AssertionError):
    """An asserted claim does not hold on this run."""


@dataclass(frozen=True)
class Claim:
    """A named claim, the result behind it, and its tier.

    `tier` is "replicates", "supported" or "inconclusive" (module docstring);
    `risk` is `replication_risk` of the result.
    """

    name: str
    result: PairedDiff | Equivalence
    direction: str | None
    than: float
    holds: bool
    risk: float

    @property
    def tier(self) -> str:
        if not self.holds:
            return "inconclusive"
        return "replicates" if self.risk <= MAX_REPLICATION_RISK else "supported"

    @property
    def statement(self) -> str:
        """What is claimed, in symbols: `A − B > 0`, or `|A − B| < 0.03`."""
        if self.direction is None and isinstance(self.result, Equivalence):
            return f"|A − B| < {self.result.margin:g}"
        return f"A − B {self.direction} {self.than:g}"

    def __str__(self) -> str:
        r = self.result
        if isinstance(r, Equivalence):
            body = (
                f"{r.mean:+.3f}, {round(100 * (1 - 2 * r.alpha))} % CI "
                f"[{r.lo:+.3f}, {r.hi:+.3f}], n={r.n}"
            )
        else:
            body = f"{r.format(3)} ({round(100 * r.level)} % CI, n={r.n})"
        return (
            f"{self.name}: {body}; {self.statement}: {self.tier} "
            f"(re-run risk {_risk_text(self.risk)})"
        )


def _risk_text(risk: float) -> str:
    """A risk printed as a bound where it is below what the grid resolves."""
    if risk < 1e-6:
        return "< 1e-06"
    return f"{risk:.1e}"


def claim(
    name: str,
    result: PairedDiff | Equivalence,
    direction: str | None = None,
    than: float = 0.0,
) -> Claim:
    """The claim that `result` supports, with its tier; asserts nothing.

    `direction` is ">" (A − B above `than`) or "<" (below) for a
    `PairedDiff`, and None for an `Equivalence`. Use it to *report* a result in
    a chapter; use `assert_claim` for a claim the chapter asserts.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str; got {name!r}")
    risk = replication_risk(result, direction, than)
    return Claim(
        name, result, direction, float(than), _holds(result, direction, than), risk
    )


def assert_claim(
    name: str,
    result: PairedDiff | Equivalence,
    direction: str | None = None,
    than: float = 0.0,
) -> Claim:
    """Print the claim's ledger line and raise `ClaimFailed` unless it holds.

    The line reads `claim ✓ <name>: <interval>; <statement>: <tier> (re-run
    risk …)`. On a re-run elsewhere the claim must hold (its interval clear
    its boundary); whether it was strong enough to assert is decided on the
    stored outputs by `tests/test_claims_ledger.py`, which requires every
    asserted claim to have been "replicates" when it was recorded and the
    risks to sum to at most `BOOK_RISK_BUDGET`. Works under `python -O`.
    """
    c = claim(name, result, direction, than)
    if not c.holds:
        raise ClaimFailed(f"claim does not hold: {c}")
    print(f"claim ✓ {c}")
    return c
