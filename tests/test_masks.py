"""Unit, property and statistical tests for dropout_lib.masks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import dropout_lib
from dropout_lib.masks import (
    MASK_METHODS,
    PackedMask,
    as_generator,
    bernoulli_mask,
    binomial_gof_test,
    draw_mask,
    dropout_summary,
    homogeneity_test,
    kept_count_table,
    kept_mask,
    pack_mask,
    shared_along,
    unpack_mask,
)

Z = 5.5  # the course's one tolerance (two-sided P ~ 3.8e-8)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)


# --- as_generator ---------------------------------------------------------------------


def test_as_generator_returns_the_same_generator_object():
    gen = np.random.default_rng(5)
    assert as_generator(gen) is gen
    first = as_generator(gen).random()
    assert as_generator(gen).random() != first  # the caller's stream advances


def test_as_generator_int_seed_and_seedsequence_are_reproducible():
    assert as_generator(7).random() == np.random.default_rng(7).random()
    assert as_generator(np.int64(7)).random() == np.random.default_rng(7).random()
    ss = np.random.SeedSequence(11)
    assert (
        as_generator(ss).random()
        == np.random.default_rng(np.random.SeedSequence(11)).random()
    )
    assert isinstance(as_generator(None), np.random.Generator)


@pytest.mark.parametrize("bad", [True, "3", 1.5, [1, 2], np.random.RandomState(0)])
def test_as_generator_rejects_other_types(bad):
    with pytest.raises(TypeError, match="rng"):
        as_generator(bad)


# --- bernoulli_mask -------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(shape=shapes, q=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_bernoulli_mask_shape_dtype_and_exact_ends(shape, q, seed):
    m = bernoulli_mask(shape, q, seed)
    assert m.shape == shape and m.dtype == np.bool_
    if q == 1.0:
        assert m.all()
    if q == 0.0:
        assert not m.any()


def test_bernoulli_mask_keep_fraction_within_derived_tolerance():
    n, q = 400_000, 0.7
    m = bernoulli_mask(n, q, 3)
    assert abs(m.mean() - q) < Z * math.sqrt(q * (1 - q) / n)


def test_bernoulli_mask_is_reproducible_and_advances_a_generator():
    assert np.array_equal(bernoulli_mask(50, 0.5, 1), bernoulli_mask(50, 0.5, 1))
    gen = np.random.default_rng(1)
    assert not np.array_equal(
        bernoulli_mask(50, 0.5, gen), bernoulli_mask(50, 0.5, gen)
    )


@pytest.mark.parametrize(
    "q, exc",
    [
        (-0.1, ValueError),
        (1.5, ValueError),
        (float("nan"), ValueError),
        ("a", TypeError),
    ],
)
def test_bernoulli_mask_rejects_bad_keep_prob(q, exc):
    with pytest.raises(exc, match="keep_prob"):
        bernoulli_mask(3, q)


# --- draw_mask ------------------------------------------------------------------------


@pytest.mark.parametrize("method", MASK_METHODS)
@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_draw_mask_shape_dtype_reproducible(method, shape, seed):
    m = draw_mask(shape, 0.6, method, seed)
    assert m.shape == shape and m.dtype == np.bool_
    assert np.array_equal(m, draw_mask(shape, 0.6, method, seed))


@pytest.mark.parametrize("method", MASK_METHODS)
def test_draw_mask_ends(method):
    assert not draw_mask(10_000, 0.0, method, 0).any()
    assert draw_mask(10_000, 1.0, method, 0).all()


@pytest.mark.parametrize("method", MASK_METHODS)
@pytest.mark.parametrize("q", [0.1, 0.5, 0.8])
def test_draw_mask_keep_fraction(method, q):
    n = 200_000
    m = draw_mask(n, q, method, 42)
    assert abs(m.mean() - q) < Z * math.sqrt(q * (1 - q) / n)


def test_draw_mask_methods_use_different_streams():
    masks = [draw_mask(64, 0.5, m, 0) for m in MASK_METHODS]
    assert not np.array_equal(masks[0], masks[3])


@pytest.mark.parametrize("method", ["bernoulli", "", None, 3])
def test_draw_mask_rejects_unknown_method(method):
    with pytest.raises(ValueError, match="method"):
        draw_mask(3, 0.5, method, 0)


@pytest.mark.parametrize(
    "shape, exc",
    [((-1, 2), ValueError), ((2.0,), TypeError), ("ab", TypeError), (True, TypeError)],
)
def test_draw_mask_rejects_bad_shapes(shape, exc):
    with pytest.raises(exc, match="shape"):
        draw_mask(shape, 0.5, "uniform_lt_keep", 0)


def test_draw_mask_rejects_bad_keep_prob():
    with pytest.raises(ValueError, match="keep_prob"):
        draw_mask(3, 1.01, "binomial")


# --- bit packing ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(mask=hnp.arrays(np.bool_, shapes))
def test_pack_unpack_round_trip_and_size(mask):
    before = mask.copy()
    packed = pack_mask(mask)
    assert np.array_equal(mask, before)
    assert packed.bits.dtype == np.uint8 and packed.bits.nbytes == -(-mask.size // 8)
    out = unpack_mask(packed)
    assert out.dtype == np.bool_ and out.shape == mask.shape
    assert np.array_equal(out, mask)
    assert not np.shares_memory(out, mask)


def test_pack_mask_rejects_non_bool():
    with pytest.raises(TypeError, match="mask"):
        pack_mask(np.array([0, 1, 1]))


def test_unpack_mask_rejects_bad_input():
    with pytest.raises(TypeError, match="packed"):
        unpack_mask((np.zeros(1, np.uint8), (3,)))
    with pytest.raises(ValueError, match="bytes"):
        unpack_mask(PackedMask(np.zeros(2, np.uint8), (3,)))
    with pytest.raises(TypeError, match="uint8"):
        unpack_mask(PackedMask(np.zeros(1, np.int64), (3,)))


# --- chi-square tests -----------------------------------------------------------------


def test_kept_count_table_counts_rows():
    masks = np.array([[True, True], [False, True], [False, False], [True, False]])
    assert kept_count_table(masks).tolist() == [1, 2, 1]
    with pytest.raises(TypeError, match="masks"):
        kept_count_table(masks.astype(int))
    with pytest.raises(ValueError, match="shape"):
        kept_count_table(np.ones(4, bool))


def test_gof_statistic_matches_scipy():
    masks = draw_mask((5000, 4), 0.6, "uniform_lt_keep", 1)
    res = binomial_gof_test(masks, 0.6)
    ref = stats.chisquare(res.observed, res.expected)
    assert math.isclose(res.statistic, ref.statistic, rel_tol=1e-12)
    assert math.isclose(res.pvalue, ref.pvalue, rel_tol=1e-9)
    assert res.df == 4


def test_homogeneity_matches_scipy_chi2_contingency():
    sets = [draw_mask((3000, 3), 0.5, m, 2) for m in MASK_METHODS]
    res = homogeneity_test(sets)
    ref = stats.chi2_contingency(res.observed, correction=False)
    assert math.isclose(res.statistic, ref.statistic, rel_tol=1e-12)
    assert res.df == ref.dof == 9


def test_gof_rejection_rate_is_alpha_for_correct_masks():
    # Calibration: 300 independent correct samples tested at alpha = 0.05. The number of
    # rejections is Binomial(300, 0.05) (mean 15, sd 3.8); 35 is 5.2 sd above the mean,
    # P(X >= 35) ~ 1e-5, and 0 rejections has P = 2e-7.
    rng = np.random.default_rng(2024)
    rejections = sum(
        binomial_gof_test(draw_mask((500, 4), 0.5, "uniform_lt_keep", rng), 0.5).pvalue
        < 0.05
        for _ in range(300)
    )
    assert 1 <= rejections <= 35


def test_gof_detects_wrong_probability_and_shared_coins():
    rng = np.random.default_rng(0)
    assert (
        binomial_gof_test(
            draw_mask((50_000, 4), 0.81, "uniform_lt_keep", rng), 0.8
        ).pvalue
        < 1e-6
    )
    pairs = np.repeat(draw_mask((50_000, 2), 0.8, "uniform_lt_keep", rng), 2, axis=1)
    assert abs(pairs.mean() - 0.8) < 0.01  # right marginal ...
    assert binomial_gof_test(pairs, 0.8).pvalue < 1e-6  # ... but not independent


def test_homogeneity_detects_a_different_law():
    sets = [
        draw_mask((20_000, 4), q, "uniform_lt_keep", s)
        for s, q in enumerate([0.5, 0.5, 0.55])
    ]
    assert homogeneity_test(sets).pvalue < 1e-6


def test_chi_square_tests_refuse_small_expected_counts_and_bad_args():
    with pytest.raises(ValueError, match="expected count"):
        binomial_gof_test(draw_mask((50, 8), 0.9, "uniform_lt_keep", 0), 0.9)
    with pytest.raises(ValueError, match="strictly"):
        binomial_gof_test(np.ones((100, 2), bool), 1.0)
    with pytest.raises(ValueError, match="at least two"):
        homogeneity_test([np.ones((100, 2), bool)])
    with pytest.raises(ValueError, match="same number"):
        homogeneity_test([np.ones((100, 2), bool), np.ones((100, 3), bool)])
    with pytest.raises(ValueError, match="expected count"):
        homogeneity_test([draw_mask((20, 4), 0.5, "binomial", s) for s in range(2)])


# --- kept_mask, dropout_summary, shared_along: reading a mask back --------------------


def test_kept_mask_and_errors():
    x = np.array([1.0, -2.0, 3.0])
    out = np.array([2.0, 0.0, 6.0])
    assert kept_mask(x, out).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="zero"):
        kept_mask(np.array([0.0, 1.0]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        kept_mask(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="out"):
        kept_mask(np.ones(2), np.array(["a", "b"]))


def test_dropout_summary_exact_values():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    out = np.array([0.0, 4.0, 0.0, 16.0])
    s = dropout_summary(x, out)
    assert (
        s.dropped_fraction == 0.5
        and s.scale_min == 2.0
        and s.scale_max == 2.0
        and s.n == 4
    )
    allgone = dropout_summary(x, np.zeros(4))
    assert allgone.dropped_fraction == 1.0 and math.isnan(allgone.scale_min)


def test_dropout_summary_does_not_mutate():
    x = np.array([1.0, 2.0], dtype=np.float32)
    out = np.array([0.0, 4.0], dtype=np.float32)
    x0, out0 = x.copy(), out.copy()
    dropout_summary(x, out)
    assert np.array_equal(x, x0) and np.array_equal(out, out0)


@settings(max_examples=30, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_summary_of_dropout_lib(p, seed):
    x = np.full(20_000, 1.5)
    s = dropout_summary(x, dropout_lib.dropout(x, p, rng=seed))
    assert abs(s.dropped_fraction - p) <= Z * math.sqrt(p * (1 - p) / s.n)
    assert s.scale_min == pytest.approx(1 / (1 - p), rel=1e-12)
    assert s.scale_max == pytest.approx(1 / (1 - p), rel=1e-12)


def test_shared_along():
    m = np.zeros((2, 3, 4), dtype=bool)
    m[0, :, 1] = True
    assert shared_along(m, 1)
    assert shared_along(m, (1,))
    assert not shared_along(m, 2)
    assert not shared_along(m, (0, 1))
    assert shared_along(np.zeros((0, 3)), 0)
    with pytest.raises(ValueError, match="out of range"):
        shared_along(m, 3)
    with pytest.raises(TypeError, match="axes"):
        shared_along(m, "a")
    with pytest.raises(TypeError, match="axes"):
        shared_along(m, 1.5)
    assert shared_along(m, -2) == shared_along(m, 1)


def test_kept_mask_is_a_deprecated_alias_of_recover_kept_mask():
    from dropout_lib import masks

    assert masks.kept_mask is masks.recover_kept_mask
