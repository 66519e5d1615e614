"""Tests for dropout_lib.exercises.keras: reference solutions pass, broken ones fail."""

import numpy as np
import pytest

import dropout_lib
from dropout_lib.exercises import CheckFailed
from dropout_lib.exercises.keras import (
    check_keras1_dropout,
    check_spatial_dropout2d,
)

# ---------------------------------------------------------------- Keras 1 backend dropo


def good_keras1(x, level, rng):
    if not 0.0 <= level < 1.0:
        raise ValueError(
            f"Dropout level must be in interval [0, 1); got level={level!r}"
        )
    return dropout_lib.dropout(x, level, rng=rng)


def mutating_keras1(x, level, rng):  # Article A's bug: writes into the caller's array
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    q = 1.0 - level
    x *= rng.random(x.shape) < q
    return x / q


def int_failing_keras1(x, level, rng):  # x /= q on an int array raises
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    q = 1.0 - level
    y = x * (rng.random(np.shape(x)) < q)
    y /= q
    return y


def accepts_one(x, level, rng):  # Keras 3's closed interval, not Keras 1's
    if not 0.0 <= level <= 1.0:
        raise ValueError("bad level")
    return dropout_lib.dropout(x, level, rng=rng)


def wrong_exception(x, level, rng):
    if not 0.0 <= level < 1.0:
        raise TypeError("bad level")
    return dropout_lib.dropout(x, level, rng=rng)


def unscaled(x, level, rng):
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    return dropout_lib.classic_dropout(x, level, rng=rng)


def keep_prob_confused(x, level, rng):  # uses level as the keep probability
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    return (
        dropout_lib.dropout(x, 1.0 - level, rng=rng)
        if level > 0
        else np.array(x, dtype=float)
    )


def deterministic_mask(x, level, rng):  # drops exactly the first share `level`
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    x = np.asarray(x, dtype=np.float64)
    keep = np.arange(x.size).reshape(x.shape) >= level * x.size
    return x * keep / (1.0 - level)


def periodic_mask(x, level, rng):  # a fixed pattern with the right share dropped
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    x = np.asarray(x, dtype=np.float64)
    u = (np.arange(x.size).reshape(x.shape) * 0.6180339887) % 1.0
    return x * (u >= level) / (1.0 - level)


def global_generator(x, level, rng):  # ignores rng: np.random's global state
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    x = np.asarray(x, dtype=np.float64)
    return x * (np.random.random(x.shape) >= level) / (1.0 - level)


def one_mask_per_column(x, level, rng):  # one mask row broadcast over all rows
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    x = np.asarray(x, dtype=np.float64)
    return x * (rng.random(x.shape[-1:]) >= level) / (1.0 - level)


def test_reference_solution_passes():
    assert check_keras1_dropout(good_keras1) is True


@pytest.mark.parametrize(
    "fn, message",
    [
        (mutating_keras1, "modified its input"),
        (int_failing_keras1, "integer input"),
        (accepts_one, "level=1.0 was accepted"),
        (wrong_exception, "not ValueError"),
        (unscaled, "kept entries"),
        (keep_prob_confused, "dropped fraction"),
        (deterministic_mask, "different seeds gave the same output"),
        (periodic_mask, "different seeds gave the same output"),
        (global_generator, "same seed gave different outputs"),
        (one_mask_per_column, "adjacent rows"),
    ],
)
def test_broken_solutions_fail(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_keras1_dropout(fn)


# ---------------------------------------------------------------- SpatialDropout2D


def good_spatial(x, p, rng, data_format="channels_last"):
    n, c = (
        (x.shape[0], x.shape[3])
        if data_format == "channels_last"
        else (x.shape[0], x.shape[1])
    )
    noise = (n, 1, 1, c) if data_format == "channels_last" else (n, c, 1, 1)
    return dropout_lib.dropout(x, p, rng=rng, noise_shape=noise)


def elementwise(x, p, rng, data_format="channels_last"):
    return dropout_lib.dropout(x, p, rng=rng)


def wrong_axis(x, p, rng, data_format="channels_last"):  # ignores data_format
    return dropout_lib.dropout(
        x, p, rng=rng, noise_shape=(x.shape[0], 1, 1, x.shape[3])
    )


def unscaled_spatial(x, p, rng, data_format="channels_last"):
    out = good_spatial(x, p, rng, data_format)
    return out * (1 - p)


def test_spatial_reference_passes():
    assert check_spatial_dropout2d(good_spatial) is True


@pytest.mark.parametrize(
    "fn, message",
    [
        (elementwise, "partly dropped"),
        (wrong_axis, "channels_first"),
        (unscaled_spatial, "scaled"),
    ],
)
def test_spatial_broken_fail(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_spatial_dropout2d(fn)


def crashing_keras1(x, level, rng):
    if not 0.0 <= level < 1.0:
        raise ValueError("bad level")
    raise RuntimeError("boom")


def test_learner_exception_becomes_a_failed_check():
    with pytest.raises(CheckFailed, match="raised RuntimeError: boom") as info:
        check_keras1_dropout(crashing_keras1)
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(CheckFailed, match="raised RuntimeError"):
        check_spatial_dropout2d(
            lambda x, p, rng, data_format: crashing_keras1(x, 0, rng)
        )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, p, rng, data_format="channels_last": x,  # identity: no dropout
        lambda x, p, rng, data_format="channels_last": np.zeros_like(x),
    ],
)
def test_spatial_rejects_trivial_functions_even_under_python_O(fn):
    """Issue 11: under -O the old bare-assert checker accepted ``lambda x, p: x``."""
    with pytest.raises(CheckFailed):
        check_spatial_dropout2d(fn)


def test_keras1_rejects_identity():
    def identity(x, level, rng):
        if not 0.0 <= level < 1.0:
            raise ValueError("bad level")
        return np.asarray(x, dtype=float)

    with pytest.raises(CheckFailed, match="kept entries of an integer input"):
        check_keras1_dropout(identity)


def test_not_callable():
    with pytest.raises(TypeError, match="fn must be a callable"):
        check_keras1_dropout(3)
    with pytest.raises(TypeError, match="fn must be a callable"):
        check_spatial_dropout2d(None)


# ------------------------------------------- SpatialDropout2D: shared or foreign masks


def _spatial_with_noise(noise_of):
    def fn(x, p, rng, data_format="channels_last"):
        return dropout_lib.dropout(x, p, rng=rng, noise_shape=noise_of(x, data_format))

    return fn


def _channel_axis(x, data_format):
    return 3 if data_format == "channels_last" else 1


def _one_entry(x, data_format, axis):
    shape = [1, 1, 1, 1]
    shape[axis] = x.shape[axis]
    return tuple(shape)


per_sample_mask = _spatial_with_noise(lambda x, f: (x.shape[0], 1, 1, 1))
batch_shared_mask = _spatial_with_noise(
    lambda x, f: _one_entry(x, f, _channel_axis(x, f))
)


def fixed_seed_spatial(x, p, rng, data_format="channels_last"):  # ignores rng
    return good_spatial(x, p, np.random.default_rng(0), data_format)


def global_state_spatial(x, p, rng, data_format="channels_last"):  # np.random
    return good_spatial(
        x, p, np.random.default_rng(np.random.randint(2**31)), data_format
    )


@pytest.mark.parametrize(
    "fn, message",
    [
        (per_sample_mask, "share their keep decision"),
        (batch_shared_mask, "share their keep decision"),
        (fixed_seed_spatial, "another rng state gave the same mask"),
        (global_state_spatial, "the same rng state gave a different output"),
    ],
)
def test_spatial_rejects_shared_or_foreign_masks(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_spatial_dropout2d(fn)


def test_spatial_rejects_nan_at_p_one():
    def nan_at_one(x, p, rng, data_format="channels_last"):
        q = 1.0 - p
        axes = (1, 2) if data_format == "channels_last" else (2, 3)
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        with np.errstate(divide="ignore", invalid="ignore"):
            return x * (rng.random(shape) >= p) / q

    with pytest.raises(CheckFailed, match="p=1"):
        check_spatial_dropout2d(nan_at_one)
