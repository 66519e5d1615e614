"""Unit and property tests for dropout_lib.functional (NumPy dropout)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dropout_lib import classic_dropout, dropout
from dropout_lib.functional import resolve_noise_shape

Z = 5.5  # the course's one tolerance in standard deviations (two-sided P ~ 3.8e-8)

float_dtypes = st.sampled_from([np.float16, np.float32, np.float64])
int_dtypes = st.sampled_from([np.int8, np.int32, np.int64, np.uint8, np.bool_])
probs = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, allow_nan=False))
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)


@settings(max_examples=200, deadline=None)
@given(
    x=hnp.arrays(float_dtypes, shapes, elements=st.floats(-1e3, 1e3, width=16)),
    p=probs,
    seed=st.integers(0, 2**32 - 1),
    training=st.booleans(),
)
def test_float_inputs_keep_dtype_shape_and_are_never_mutated(x, p, seed, training):
    before = x.copy()
    out = dropout(x, p, rng=seed, training=training)
    assert np.array_equal(x, before, equal_nan=True)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not np.shares_memory(out, x)
    if not training or p == 0:
        np.testing.assert_array_equal(out, x)
    elif p == 1:
        assert np.all(out == 0)
    else:
        kept = out != 0
        scale = x.dtype.type(1.0 / (1.0 - p))
        np.testing.assert_array_equal(out[kept], (x * scale)[kept])


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(int_dtypes, shapes), p=probs, seed=st.integers(0, 2**32 - 1))
def test_integer_and_bool_inputs_give_float64(x, p, seed):
    before = x.copy()
    out = dropout(x, p, rng=seed)
    assert out.dtype == np.float64 and out.shape == x.shape
    assert np.array_equal(x, before)
    kept = out != 0
    if p < 1:
        np.testing.assert_allclose(out[kept], x.astype(np.float64)[kept] / (1 - p))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_fraction_and_mean_within_derived_tolerance(p):
    n = 200_000
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=n)
    out = dropout(x, p, rng=2)
    frac = np.mean(out == 0)
    assert abs(frac - p) < Z * math.sqrt(p * (1 - p) / n)
    # E[out] = x; Var[mean(out) - mean(x)] = sum(x^2) p / (1 - p) / n^2
    sd = math.sqrt(np.sum(x**2) * p / (1 - p)) / n
    assert abs(out.mean() - x.mean()) < Z * sd


def test_large_array():
    x = np.ones((1000, 1000), dtype=np.float32)
    out = dropout(x, 0.25, rng=0)
    assert out.dtype == np.float32
    assert set(np.unique(out)) <= {np.float32(0), np.float32(1 / 0.75)}
    assert abs(np.mean(out == 0) - 0.25) < Z * math.sqrt(0.25 * 0.75 / 1e6)


def test_zero_dim_and_empty():
    assert dropout(np.float64(3.0), 0.5, rng=0).shape == ()
    assert dropout(3, 0.0).dtype == np.float64
    assert dropout(np.empty((0, 3)), 0.5).shape == (0, 3)
    assert dropout([], 0.5).shape == (0,)


def test_p_one_gives_exact_zeros_even_for_inf_and_nan():
    x = np.array([np.inf, -np.inf, np.nan, 1.0])
    out = dropout(x, 1.0, rng=0)
    assert np.array_equal(out, np.zeros(4)) and not np.isnan(out).any()
    out = classic_dropout(x, 1.0, training=False)
    assert np.array_equal(out, np.zeros(4))


def test_inf_inputs_give_no_nan_where_dropped():
    x = np.full(1000, np.inf)
    out = dropout(x, 0.5, rng=0)
    assert not np.isnan(out).any()
    assert set(np.unique(out)) == {0.0, np.inf}


def test_seed_and_generator_reproducibility():
    x = np.arange(100.0)
    np.testing.assert_array_equal(dropout(x, 0.5, rng=7), dropout(x, 0.5, rng=7))
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(dropout(x, 0.5, rng=g1), dropout(x, 0.5, rng=g2))
    # a Generator is advanced, so the next call differs
    assert not np.array_equal(dropout(x, 0.5, rng=g1), dropout(x, 0.5, rng=7))


@pytest.mark.parametrize(
    "bad", [-0.1, 1.0001, float("nan"), float("inf"), -float("inf")]
)
def test_p_out_of_range_raises_value_error(bad):
    with pytest.raises(ValueError, match=r"p must be .*\[0, 1\].*got p="):
        dropout(np.ones(3), bad)
    with pytest.raises(ValueError, match=r"p="):
        classic_dropout(np.ones(3), bad)


@pytest.mark.parametrize("bad", ["0.5", None, 0.5j, np.array([0.5]), [0.5], True])
def test_p_not_a_real_number_raises_type_error(bad):
    with pytest.raises(TypeError, match=r"p must be a real number"):
        dropout(np.ones(3), bad)


def test_numpy_scalar_p_accepted():
    dropout(np.ones(3), np.float32(0.5), rng=0)
    dropout(np.ones(3), np.int64(0), rng=0)


@pytest.mark.parametrize(
    "bad", [["a", "b"], np.array([1 + 2j]), np.array([object()]), "abc"]
)
def test_non_numeric_x_raises_type_error(bad):
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        dropout(bad, 0.5)


def test_bad_rng_raises_type_error():
    with pytest.raises(TypeError, match="rng must be"):
        dropout(np.ones(3), 0.5, rng="seed")


def test_noise_shape_broadcasts_rows_and_columns():
    x = np.ones((200, 30))
    rows = dropout(x, 0.5, rng=0, noise_shape=(200, 1))
    assert all(len(np.unique(r)) == 1 for r in rows)  # a whole row kept or dropped
    cols = dropout(x, 0.5, rng=0, noise_shape=(None, 30))
    assert not all(len(np.unique(r)) == 1 for r in cols)
    shared = dropout(x, 0.5, rng=0, noise_shape=(1, None))
    assert all(np.array_equal(shared[0], r) for r in shared)  # one mask for every row


def test_noise_shape_channels():
    x = np.ones((4, 3, 5, 5))
    out = dropout(x, 0.5, rng=1, noise_shape=(None, None, 1, 1))
    per_map = out.reshape(12, 25)
    assert all(len(np.unique(m)) == 1 for m in per_map)


@pytest.mark.parametrize(
    "noise_shape, err",
    [
        ((3,), ValueError),
        ((2, 3, 1), ValueError),
        ((5, 3), ValueError),
        ((2, 0), ValueError),
        ((2.0, 3), TypeError),
        (3, TypeError),
    ],
)
def test_bad_noise_shape(noise_shape, err):
    with pytest.raises(err, match="noise_shape"):
        dropout(np.ones((2, 3)), 0.5, noise_shape=noise_shape)


def test_resolve_noise_shape():
    assert resolve_noise_shape((2, 3), None) == (2, 3)
    assert resolve_noise_shape((2, 3), (None, 1)) == (2, 1)


def test_classic_dropout_train_and_inference():
    x = np.arange(1.0, 101.0)
    out = classic_dropout(x, 0.4, rng=0)
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])  # no scaling in training
    np.testing.assert_allclose(classic_dropout(x, 0.4, training=False), 0.6 * x)
    np.testing.assert_array_equal(classic_dropout(x, 0.0, rng=0), x)
    x_int = np.arange(5)
    assert classic_dropout(x_int, 0.5, rng=0).dtype == np.float64
    assert np.array_equal(x_int, np.arange(5))


def test_classic_dropout_mean_is_keep_times_x():
    n, p = 200_000, 0.3
    out = classic_dropout(np.ones(n), p, rng=3)
    assert abs(out.mean() - (1 - p)) < Z * math.sqrt(p * (1 - p) / n)
