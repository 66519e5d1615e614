"""Tests for dropout_lib.synthetic: make_classification, stratified splits, flip_y."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.synthetic import (
    SyntheticSplits,
    changed_label_fraction,
    synthetic_classification,
)


def test_keras_tutorial_sizes_and_types():
    d = synthetic_classification()
    assert isinstance(d, SyntheticSplits)
    assert [len(a) for a in d] == [640, 640, 160, 160, 200, 200]
    assert d.x_train.shape == (640, 20) and d.x_train.dtype == np.float32
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_train)) == {0, 1}


def test_splits_are_stratified_and_disjoint_and_cover_the_data():
    from sklearn.datasets import make_classification

    d = synthetic_classification()
    x, y = make_classification(
        n_samples=1000, n_features=20, n_classes=2, random_state=42
    )
    for part in (d.y_train, d.y_val, d.y_test):
        assert abs(part.mean() - y.mean()) <= 1 / len(part) + 1e-12
    rows = np.concatenate([d.x_train, d.x_val, d.x_test])
    assert len(np.unique(rows, axis=0)) == 1000
    # every row is a row of the generated data (as float32), with its label
    lookup = {r.tobytes(): lab for r, lab in zip(x.astype(np.float32), y, strict=True)}
    for xs, ys in ((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)):
        assert all(lookup[r.tobytes()] == lab for r, lab in zip(xs, ys, strict=True))


def test_deterministic_and_seed_dependent():
    a, b = synthetic_classification(), synthetic_classification()
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    c = synthetic_classification(split_seed=1)
    assert not np.array_equal(a.x_train, c.x_train)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([a.y_train, a.y_val, a.y_test])),
        np.sort(np.concatenate([c.y_train, c.y_val, c.y_test])),
    )


def test_counts_and_train_subsample():
    d = synthetic_classification(3000, test_size=1000, val_size=500, train_size=100)
    assert [len(d.x_train), len(d.x_val), len(d.x_test)] == [100, 500, 1000]
    assert d.y_train.sum() == 50
    full = synthetic_classification(3000, test_size=1000, val_size=500)
    np.testing.assert_array_equal(
        d.x_test, full.x_test
    )  # subsampling train leaves val/test alone
    np.testing.assert_array_equal(d.x_val, full.x_val)
    assert len(full.x_train) == 1500


def test_extra_make_classification_arguments_and_multiclass():
    d = synthetic_classification(600, 10, n_classes=3, n_informative=4, flip_y=0.0)
    assert d.x_train.shape[1] == 10
    assert set(np.unique(d.y_test)) == {0, 1, 2}


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"test_size": 0.0}, ValueError, "test_size"),
        ({"test_size": 1.0}, ValueError, "test_size"),
        ({"val_size": -3}, ValueError, "val_size"),
        ({"val_size": "0.2"}, TypeError, "val_size"),
        ({"test_size": True}, TypeError, "test_size"),
        ({"train_size": 0.5}, TypeError, "train_size"),
        ({"train_size": 1}, ValueError, "train_size"),
        ({"train_size": 10_000}, ValueError, "train_size"),
        ({"n_samples": 100.0}, TypeError, "n_samples"),
        ({"n_classes": 1}, ValueError, "n_classes"),
        ({"test_size": 999}, ValueError, "cannot split"),
    ],
)
def test_rejects_bad_arguments(kw, exc, match):
    with pytest.raises(exc, match=match):
        synthetic_classification(**kw)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(100, 400),
    test=st.floats(0.1, 0.4),
    val=st.floats(0.1, 0.4),
    seed=st.integers(0, 50),
)
def test_sizes_add_up(n, test, val, seed):
    d = synthetic_classification(
        n, 5, test_size=test, val_size=val, split_seed=seed, n_informative=2
    )
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == n
    assert len(d.x_train) == len(d.y_train) and len(d.x_val) == len(d.y_val)


def test_the_synthetic_task_lives_in_one_module():
    import dropout_lib.data as data

    assert not hasattr(data, "synthetic_classification")


def test_numpy_integer_sizes_are_accepted():
    d = synthetic_classification(np.int64(400), np.int32(5), n_informative=2)
    assert len(d.x_train) + len(d.x_val) + len(d.x_test) == 400


def test_flip_y_changes_about_half_the_selected_labels():
    # f (1 - 1/K): 0.01 * 1/2 for two classes, 0.01 * 3/4 for four; binomial SE
    n = 200_000
    for k, extra in ((2, {}), (4, {"n_informative": 4})):
        expected = 0.01 * (1 - 1 / k)
        se = np.sqrt(expected * (1 - expected) / n)
        got = changed_label_fraction(n, 0.01, n_classes=k, random_state=0, **extra)
        assert abs(got - expected) < 5 * se, (k, got, expected)
    assert changed_label_fraction(1000, 0.0) == 0.0
    # the tutorial's own data set: 6 of 1000 labels changed
    assert changed_label_fraction() == 0.006


@pytest.mark.parametrize(
    "kw, exc",
    [
        ({"flip_y": 1.5}, ValueError),
        ({"shuffle": True}, TypeError),
        ({"n_samples": 0}, ValueError),
    ],
)
def test_changed_label_fraction_rejects_bad_arguments(kw, exc):
    with pytest.raises(exc):
        changed_label_fraction(**kw)
