"""Tests for dropout_lib.stats: the summaries, and the error rates of the claims by
simulation.
"""

import math

import numpy as np
import pytest
from scipy import stats as st

from dropout_lib.stats import (
    MIN_SEEDS,
    Equivalence,
    PairedDiff,
    SeedSummary,
    equivalence_test,
    mean_sd,
    paired_diff,
    power_paired,
)


def test_mean_sd_is_the_sample_sd():
    s = mean_sd([1.0, 2.0, 3.0, 4.0])
    assert isinstance(s, SeedSummary)
    assert s.mean == 2.5 and s.n == 4
    assert s.sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert s.se == pytest.approx(s.sd / 2)
    assert str(mean_sd([0.5, 0.7])) == "0.600 ± 0.141"
    assert mean_sd([0.5, 0.7]).format(1) == "0.6 ± 0.1"


@pytest.mark.parametrize(
    "bad", [[0.3], [], [[1.0, 2.0]], [1.0, float("nan")], [1.0, math.inf]]
)
def test_mean_sd_rejects_one_seed_and_bad_values(bad):
    with pytest.raises(ValueError, match="values"):
        mean_sd(bad)


def test_mean_sd_rejects_non_numbers_and_does_not_mutate():
    with pytest.raises(TypeError, match="values"):
        mean_sd("abc")
    with pytest.raises(TypeError, match="values"):
        mean_sd([1.0, "x"])
    data = np.array([3.0, 1.0, 2.0])
    mean_sd(data)
    assert data.tolist() == [3.0, 1.0, 2.0]


def test_paired_diff_matches_scipy_ttest():
    a = np.array([0.81, 0.83, 0.80, 0.84, 0.82])
    b = np.array([0.80, 0.80, 0.79, 0.81, 0.80])
    d = paired_diff(a, b)
    assert isinstance(d, PairedDiff)
    ci = st.ttest_rel(a, b).confidence_interval(0.95)
    assert d.lo == pytest.approx(ci.low) and d.hi == pytest.approx(ci.high)
    assert d.mean == pytest.approx(0.02) and d.n == 5
    assert d.a_better and not d.b_better and d.decisive
    assert "n=5" in str(d) and d.format(2).startswith("+0.02")
    e = paired_diff(b, a)
    assert e.b_better and not e.a_better


def test_paired_diff_rejects_bad_input():
    with pytest.raises(ValueError, match="one value per seed"):
        paired_diff([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        paired_diff([1.0], [2.0])
    with pytest.raises(ValueError, match="level"):
        paired_diff([1.0, 2.0], [1.0, 3.0], level=1.5)
    with pytest.raises(TypeError, match="level"):
        paired_diff([1.0, 2.0], [1.0, 3.0], level="high")


def test_false_claim_rate_under_no_effect_is_at_most_five_percent():
    """Under no effect, 'A beats B' (CI above 0) is claimed in at most 2.5 % of
    experiments
    and 'A differs from B' in at most 5 %; 4000 simulated 5-seed experiments."""
    rng = np.random.default_rng(0)
    n_sim = 4000
    seed_luck = rng.normal(
        0, 0.02, size=(n_sim, MIN_SEEDS)
    )  # shared by A and B: cancels
    a = 0.8 + seed_luck + rng.normal(0, 0.01, size=(n_sim, MIN_SEEDS))
    b = 0.8 + seed_luck + rng.normal(0, 0.01, size=(n_sim, MIN_SEEDS))
    claims = [paired_diff(a[i], b[i]) for i in range(n_sim)]
    rate_any = np.mean([c.decisive for c in claims])
    rate_a = np.mean([c.a_better for c in claims])
    # binomial sd of a 5 % rate over 4000 runs is 0.0034: allow 3 sd
    assert rate_any <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_sim)
    assert rate_a <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / n_sim)


@pytest.mark.parametrize("effect,n", [(0.01, 5), (0.005, 8)])
def test_power_matches_the_noncentral_t_formula(effect, n):
    rng = np.random.default_rng(1)
    sd, n_sim = 0.01, 4000
    d = rng.normal(effect, sd, size=(n_sim, n))
    hits = np.mean([paired_diff(row, np.zeros(n)).a_better for row in d])
    expected = power_paired(effect, sd, n)
    assert 0.05 < expected < 0.95
    assert abs(hits - expected) < 3 * math.sqrt(expected * (1 - expected) / n_sim)


def test_power_paired_grows_with_seeds_and_rejects_bad_input():
    assert power_paired(0.01, 0.01, 10) > power_paired(0.01, 0.01, 5) > 0.3
    with pytest.raises(ValueError, match="n must"):
        power_paired(0.01, 0.01, 1)
    with pytest.raises(ValueError, match="sd must"):
        power_paired(0.01, 0.0, 5)


def test_equivalence_matches_the_interval_rule():
    rng = np.random.default_rng(2)
    for _ in range(200):
        a, b = rng.normal(0, 0.01, 6), rng.normal(0, 0.01, 6)
        e = equivalence_test(a, b, margin=0.01)
        assert isinstance(e, Equivalence)
        inside = -0.01 < e.lo and e.hi < 0.01
        assert e.equivalent == inside


def test_equivalence_false_claim_rate_at_the_margin_is_at_most_alpha():
    """A true difference exactly at the margin is declared equivalent in <= 5 % of
    experiments.
    """
    rng = np.random.default_rng(3)
    n_sim, margin = 4000, 0.01
    d = rng.normal(margin, 0.01, size=(n_sim, MIN_SEEDS))
    rate = np.mean([equivalence_test(row, None, margin).equivalent for row in d])
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_sim)


def test_equivalence_has_power_when_there_is_no_effect_and_enough_seeds():
    rng = np.random.default_rng(4)
    d = rng.normal(0.0, 0.002, size=(500, 10))
    rate = np.mean([equivalence_test(row, None, 0.005).equivalent for row in d])
    assert rate > 0.9


def test_equivalence_rejects_bad_margin_and_lengths():
    with pytest.raises(ValueError, match="margin"):
        equivalence_test([1.0, 2.0], [1.0, 2.0], margin=0.0)
    with pytest.raises(TypeError, match="margin"):
        equivalence_test([1.0, 2.0], [1.0, 2.0], margin="small")
    with pytest.raises(ValueError, match="one value per seed"):
        equivalence_test([1.0, 2.0, 3.0], [1.0, 2.0], margin=0.1)
    e = equivalence_test([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], margin=0.1)
    assert e.equivalent and "equivalent" in str(e)


# --------------------------------------------------------------------------
# Replication: tiers, re-run risk, assert_claim
# --------------------------------------------------------------------------

from dropout_lib.stats import (  # noqa: E402
    MAX_REPLICATION_RISK,
    ClaimFailed,
    assert_claim,
    claim,
    replication_risk,
)


def _diff_with_t(t: float, n: int) -> PairedDiff:
    """A paired difference of n values whose t statistic is exactly t."""
    base = np.linspace(-1.0, 1.0, n)
    base = base / base.std(ddof=1)  # sd 1
    return paired_diff(base + t / math.sqrt(n), np.zeros(n))


def test_replication_risk_matches_a_direct_simulation_of_the_model():
    # Draw (mu, sigma) from the posterior under p(mu, sigma) ∝ 1/sigma, then a
    # replication with the same n; the risk is the share that fails the test.
    n, t = 8, 9.0
    d = _diff_with_t(t, n)
    rng = np.random.default_rng(1)
    m = 400_000
    sigma = d.sd * np.sqrt((n - 1) / rng.chisquare(n - 1, m))
    mu = rng.normal(d.mean, sigma / math.sqrt(n))
    mean2 = rng.normal(mu, sigma / math.sqrt(n))
    sd2 = sigma * np.sqrt(rng.chisquare(n - 1, m) / (n - 1))
    crit = st.t.ppf(0.975, n - 1)
    simulated = float(np.mean(mean2 - crit * sd2 / math.sqrt(n) <= 0))
    se = math.sqrt(simulated * (1 - simulated) / m)
    assert replication_risk(d, ">") == pytest.approx(simulated, abs=4 * se)


def test_replication_risk_falls_with_distance_and_seeds():
    risks = [replication_risk(_diff_with_t(t, 5), ">") for t in (4, 8, 16, 32)]
    assert all(a > b for a, b in zip(risks, risks[1:], strict=False))
    assert replication_risk(_diff_with_t(10, 20), ">") < replication_risk(
        _diff_with_t(10, 5), ">"
    )
    # The figures quoted in the module docstring.
    assert replication_risk(_diff_with_t(26, 5), ">") < 1.2e-3
    assert replication_risk(_diff_with_t(11, 10), ">") < 1.2e-3
    assert replication_risk(_diff_with_t(8, 20), ">") < 1.2e-3
    # The opposite direction, and a boundary other than 0, are the same rule.
    d = _diff_with_t(12, 10)
    flipped = paired_diff(np.zeros(10), np.array(d.diffs))
    assert replication_risk(flipped, "<") == pytest.approx(replication_risk(d, ">"))
    shifted = paired_diff(np.array(d.diffs) + 0.5, np.zeros(10))
    assert replication_risk(shifted, ">", than=0.5) == pytest.approx(
        replication_risk(d, ">")
    )


def test_tiers_and_assert_claim(capsys):
    strong, weak = _diff_with_t(40, 5), _diff_with_t(4, 5)
    assert claim("strong", strong, ">").tier == "replicates"
    assert claim("weak", weak, ">").tier == "supported"
    assert claim("wrong way", weak, "<").tier == "inconclusive"
    c = assert_claim("strong", strong, ">")
    line = capsys.readouterr().out.strip()
    assert line.startswith("claim ✓ strong: ") and line.endswith(")")
    assert "replicates (re-run risk" in line and c.risk <= MAX_REPLICATION_RISK
    # assert_claim raises for a claim that does not hold, whatever its tier name,
    # and it is an AssertionError subclass that python -O does not strip.
    with pytest.raises(ClaimFailed, match="does not hold"):
        assert_claim("wrong way", weak, "<")
    # A weak but holding claim passes assert_claim: the ledger test, not the
    # re-run, decides whether it was strong enough to assert.
    assert assert_claim("weak", weak, ">").tier == "supported"


def test_equivalence_risk_and_tier():
    rng = np.random.default_rng(3)
    tight = equivalence_test(rng.normal(0.0, 0.002, 10), None, margin=0.03)
    loose = equivalence_test(rng.normal(0.0, 0.02, 10), None, margin=0.03)
    assert claim("tight", tight).tier == "replicates"
    assert claim("loose", loose).tier in ("supported", "inconclusive")
    assert replication_risk(tight) < replication_risk(loose)
    assert "|A − B| < 0.03" in str(claim("tight", tight))


def test_replication_risk_rejects_bad_arguments():
    d = _diff_with_t(5, 5)
    with pytest.raises(ValueError, match="direction"):
        replication_risk(d)
    with pytest.raises(ValueError, match="direction"):
        replication_risk(d, ">=")
    with pytest.raises(TypeError, match="than"):
        replication_risk(d, ">", than=float("nan"))
    with pytest.raises(TypeError, match="PairedDiff or an Equivalence"):
        replication_risk(0.5, ">")  # type: ignore[arg-type]
    eq = equivalence_test([0.01, -0.01, 0.0], None, margin=0.1)
    with pytest.raises(ValueError, match="direction"):
        replication_risk(eq, ">")
    with pytest.raises(TypeError, match="name"):
        claim("", d, ">")


def test_zero_spread_is_certain_either_way():
    same = paired_diff([1.0, 1.0, 1.0, 1.0, 1.0], [0.0] * 5)
    assert replication_risk(same, ">") == 0.0
    assert replication_risk(same, "<") == 1.0


def _assert_threshold(n: int) -> float:
    """The t statistic from which the rule asserts at n seeds (risk is monotone
    in t, so the rule is "t ≥ t*"), found by bisection on replication_risk."""
    lo, hi = 2.0, 200.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if replication_risk(_diff_with_t(mid, n), ">") <= MAX_REPLICATION_RISK:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize("n", [5, 10, 20])
def test_asserted_claims_replicate_in_at_least_99_percent_of_reruns(n):
    """The rule's promise, by simulation: true effects spread from none to large
    (in units of the per-seed sd), one experiment each; among those the rule lets
    a chapter assert, an independent re-run with the same n holds in >= 99 %."""
    t_star = _assert_threshold(n)
    rng = np.random.default_rng(2026 + n)
    experiments = 200_000
    effect = rng.uniform(0.0, 3.0 * t_star / math.sqrt(n), experiments)
    crit = st.t.ppf(0.975, n - 1)

    def t_stat(x: np.ndarray) -> np.ndarray:
        return x.mean(axis=1) / (x.std(axis=1, ddof=1) / math.sqrt(n))

    first = t_stat(rng.normal(effect[:, None], 1.0, (experiments, n)))
    again = t_stat(rng.normal(effect[:, None], 1.0, (experiments, n)))
    asserted = first >= t_star
    assert asserted.sum() > 20_000  # the rule asserts a good share of real effects
    assert np.mean(again[asserted] > crit) >= 0.99
    # Spot-check the threshold against the rule itself.
    assert claim("at t*", _diff_with_t(t_star * 1.01, n), ">").tier == "replicates"
    assert claim("below", _diff_with_t(t_star * 0.95, n), ">").tier == "supported"


def test_false_claims_are_not_asserted_under_no_effect():
    t_star = _assert_threshold(5)
    x = np.random.default_rng(7).normal(0.0, 1.0, (200_000, 5))
    t = x.mean(axis=1) / (x.std(axis=1, ddof=1) / math.sqrt(5))
    assert np.mean(t >= t_star) <= 1e-3  # noise alone is almost never asserted
