"""Tests for dropout_lib.theory: exact moments and the Monte Carlo estimates of them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dropout_lib.theory import (
    Moments,
    dropout_moments,
    linear_unit_moments,
    monte_carlo_linear_unit,
    monte_carlo_moments,
)

KINDS = ("inverted", "classic")
probs = st.floats(0.05, 0.9)
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------- dropout_moments
def test_dropout_moments_known_values():
    m = dropout_moments([2.0, -1.0], 0.5)
    np.testing.assert_allclose(m.mean, [2.0, -1.0])
    np.testing.assert_allclose(m.var, [4.0, 1.0])
    c = dropout_moments([2.0, -1.0], 0.25, kind="classic")
    np.testing.assert_allclose(c.mean, [1.5, -0.75])
    np.testing.assert_allclose(c.var, [4 * 0.25 * 0.75, 0.25 * 0.75])


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_moments_edge_probabilities(kind):
    h = np.array([1.0, -3.0])
    zero = dropout_moments(h, 0.0, kind)
    np.testing.assert_array_equal(zero.mean, h)
    np.testing.assert_array_equal(zero.var, 0.0)
    one = dropout_moments(h, 1.0, kind)
    np.testing.assert_array_equal(one.mean, 0.0)
    np.testing.assert_array_equal(one.var, 0.0)


def test_dropout_moments_does_not_mutate_and_returns_float64():
    h = np.array([1, 2, 3])
    m = dropout_moments(h, 0.5)
    assert isinstance(m, Moments)
    assert m.mean.dtype == np.float64
    m.mean[0] = 99.0
    np.testing.assert_array_equal(h, [1, 2, 3])


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_dropout_moments_rejects_bad_p(bad):
    with pytest.raises(ValueError, match="p"):
        dropout_moments([1.0], bad)


def test_dropout_moments_rejects_bad_kind_and_types():
    with pytest.raises(ValueError, match="kind"):
        dropout_moments([1.0], 0.5, kind="vanilla")
    with pytest.raises(TypeError, match="p"):
        dropout_moments([1.0], "0.5")
    with pytest.raises(TypeError, match="h"):
        dropout_moments(["a"], 0.5)


@given(h=arrays(np.float64, st.integers(1, 5), elements=finite), p=probs)
def test_inverted_and_classic_moments_are_related_by_q(h, p):
    inv, cla = dropout_moments(h, p), dropout_moments(h, p, "classic")
    q = 1 - p
    np.testing.assert_allclose(cla.mean, q * inv.mean, atol=1e-12)
    np.testing.assert_allclose(cla.var, q**2 * inv.var, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ monte_carlo_moments
@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(
    h=arrays(
        np.float64,
        st.integers(1, 4),
        elements=st.floats(-5, 5).filter(lambda v: abs(v) > 0.1),
    ),
    p=probs,
    seed=st.integers(0, 2**31),
    kind=st.sampled_from(KINDS),
)
def test_monte_carlo_matches_exact_within_standard_errors(h, p, seed, kind):
    exact = dropout_moments(h, p, kind)
    mc = monte_carlo_moments(h, p, 20_000, rng=seed, kind=kind)
    # 5 standard errors: a false alarm has probability ~6e-7 per entry.
    assert np.all(np.abs(mc.mean - exact.mean) <= 5 * mc.se_mean + 1e-12)
    # The delta-method se_var vanishes for a symmetric two-point law (q = 1/2), where
    # the sample variance's error is second order, ~ var * z^2 / n: allow for that.
    assert np.all(
        np.abs(mc.var - exact.var) <= 5 * mc.se_var + 25 * exact.var / mc.n + 1e-12
    )


def test_monte_carlo_is_reproducible_and_does_not_mutate():
    h = np.array([1.0, 2.0])
    a = monte_carlo_moments(h, 0.3, 100, rng=1)
    b = monte_carlo_moments(h, 0.3, 100, rng=1)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(h, [1.0, 2.0])
    assert a.n == 100


def test_monte_carlo_standard_errors_are_calibrated():
    """Across many independent estimates, |error| / se ~ |N(0, 1)|: RMS near 1."""
    h = np.full(2000, 1.5)
    mc = monte_carlo_moments(h, 0.2, 400, rng=0)
    z = (mc.mean - 1.5) / mc.se_mean
    assert 0.9 < np.sqrt(np.mean(z**2)) < 1.1
    zv = (mc.var - 1.5**2 * 0.2 / 0.8) / mc.se_var
    assert 0.85 < np.sqrt(np.mean(zv**2)) < 1.15


@pytest.mark.parametrize(
    "n,exc", [(1, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_monte_carlo_rejects_bad_n(n, exc):
    # validation.check_int: a non-integer is a TypeError, a too-small one a ValueError
    with pytest.raises(exc, match="n"):
        monte_carlo_moments([1.0], 0.5, n)


# ------------------------------------------------------------ linear_unit_moments
def test_linear_unit_known_values():
    w, h = np.array([1.0, -2.0]), np.array([3.0, 1.0])
    m = linear_unit_moments(w, h, 0.5)
    assert m.mean == pytest.approx(1.0)
    assert m.var == pytest.approx(1.0 * (9 + 4))
    c = linear_unit_moments(w, h, 0.5, "classic")
    assert c.mean == pytest.approx(0.5)
    assert c.var == pytest.approx(0.25 * 13)


@given(
    w=arrays(np.float64, 4, elements=finite),
    h=arrays(np.float64, 4, elements=finite),
    p=probs,
    kind=st.sampled_from(KINDS),
)
def test_linear_unit_is_sum_of_independent_entries(w, h, p, kind):
    """The unit's moments are w-weighted sums of the single-activation moments."""
    unit = linear_unit_moments(w, h, p, kind)
    single = dropout_moments(h, p, kind)
    assert unit.mean == pytest.approx(float(w @ single.mean), abs=1e-9)
    assert unit.var == pytest.approx(float(w**2 @ single.var), rel=1e-9, abs=1e-9)


def test_linear_unit_batched_rows_and_edges():
    w = np.array([1.0, 2.0, 3.0])
    h = np.arange(6.0).reshape(2, 3)
    m = linear_unit_moments(w, h, 0.2)
    assert m.mean.shape == (2,)
    for i in range(2):
        row = linear_unit_moments(w, h[i], 0.2)
        assert m.mean[i] == pytest.approx(row.mean)
        assert m.var[i] == pytest.approx(row.var)
    assert linear_unit_moments(w, h[0], 0.0).var == 0.0
    one = linear_unit_moments(w, h, 1.0)
    np.testing.assert_array_equal(one.mean, 0.0)
    np.testing.assert_array_equal(one.var, 0.0)


def test_linear_unit_shape_errors():
    with pytest.raises(ValueError, match="w"):
        linear_unit_moments(np.ones((2, 2)), np.ones(2), 0.5)
    with pytest.raises(ValueError, match="h"):
        linear_unit_moments(np.ones(3), np.ones(2), 0.5)
    with pytest.raises(ValueError, match="kind"):
        linear_unit_moments(np.ones(2), np.ones(2), 0.5, kind="x")
    with pytest.raises(ValueError, match="n"):
        monte_carlo_linear_unit(np.ones(2), np.ones(2), 0.5, 1)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(
    w=arrays(np.float64, 5, elements=st.floats(-3, 3)),
    h=arrays(np.float64, 5, elements=st.floats(-3, 3)),
    p=probs,
    seed=st.integers(0, 2**31),
    kind=st.sampled_from(KINDS),
)
def test_linear_unit_monte_carlo_within_standard_errors(w, h, p, seed, kind):
    exact = linear_unit_moments(w, h, p, kind)
    mc = monte_carlo_linear_unit(w, h, p, 20_000, rng=seed, kind=kind)
    assert abs(mc.mean - exact.mean) <= 5 * mc.se_mean + 1e-9
    assert abs(mc.var - exact.var) <= 5 * mc.se_var + 25 * exact.var / mc.n + 1e-9


def test_linear_unit_inputs_not_mutated():
    w, h = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    monte_carlo_linear_unit(w, h, 0.5, 10, rng=0)
    linear_unit_moments(w, h, 0.5)
    np.testing.assert_array_equal(w, [1.0, 2.0])
    np.testing.assert_array_equal(h, [3.0, 4.0])


def test_sample_moments_is_public_and_rejects_one_draw():
    import numpy as np

    from dropout_lib.theory import sample_moments

    draws = np.random.default_rng(0).normal(size=(4000, 3))
    mom = sample_moments(draws)
    np.testing.assert_allclose(mom.var, draws.var(axis=0, ddof=1))
    np.testing.assert_allclose(mom.se_mean, np.sqrt(mom.var / 4000))
    with pytest.raises(ValueError, match="at least 2 draws"):
        sample_moments(np.ones((1, 3)))
    with pytest.raises(TypeError, match="samples"):
        sample_moments(np.array(["a", "b"]))
