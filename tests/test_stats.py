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
