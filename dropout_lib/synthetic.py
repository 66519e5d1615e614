"""A synthetic binary classification task: scikit-learn's `make_classification`.

Chapter 1 reproduces a Keras tutorial on this task. `synthetic_classification`
draws the data and splits it, stratified, into training, validation and test parts
the way Keras's `fit(validation_split=...)` recipe does (test first, then
validation from the rest); `changed_label_fraction` measures how many labels
`make_classification`'s `flip_y` really changes.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from .validation import check_int, check_probability

__all__ = ["SyntheticSplits", "changed_label_fraction", "synthetic_classification"]


class SyntheticSplits(NamedTuple):
    """Train, validation and test parts of a synthetic data set.

    Inputs are float32 arrays `[n, n_features]`, labels int64 arrays `[n]` with
    values in `{0, ..., n_classes - 1}`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _check_size(value: Any, name: str) -> int | float:
    """A split size: an int count `>= 1` or a float fraction in `(0, 1)`."""
    if isinstance(value, (float, np.floating)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(
                f"{name} as a fraction must lie strictly between 0 and 1; "
                f"got {name}={value!r}"
            )
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int (a count) or a float (a fraction); "
            f"got {name}={value!r}"
        )
    return check_int(value, name, 1)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _i64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def synthetic_classification(
    n_samples: int = 1000,
    n_features: int = 20,
    *,
    n_classes: int = 2,
    test_size: int | float = 0.2,
    val_size: int | float = 0.2,
    train_size: int | None = None,
    random_state: int = 42,
    split_seed: int = 0,
    **make_classification_kwargs: Any,
) -> SyntheticSplits:
    """Draw `make_classification` data and split it, stratified, into train /
    validation / test.

    The data are scikit-learn's `make_classification(n_samples, n_features,
    n_classes, random_state, **make_classification_kwargs)` (Guyon's hypercube
    design: for each class, Gaussian clusters around vertices of a hypercube in
    `n_informative` dimensions, plus redundant linear combinations and
    pure-noise features). `flip_y` (default 0.01) is the fraction of samples
    whose label is *redrawn* uniformly from the K classes, so only about
    `flip_y` · (1 − 1/K) of the labels actually change
    (see `changed_label_fraction`). The splits follow Keras's
    `fit(validation_split=...)` recipe:

    1. `test_size` of the `n_samples` examples are held out as the test set;
    2. `val_size` of the REMAINING examples become the validation set;
    3. the rest is the training set, optionally subsampled to `train_size`
       examples (to study small-data regimes on the same distribution).

    Sizes given as floats are fractions, as ints counts (`train_test_split`'s
    rule). Every split is stratified by label and driven by `split_seed`, so
    the class proportions are the same in all three parts up to rounding. The
    result is deterministic in `(random_state, split_seed)`.

    Raises
    ------
    TypeError
        If a size is neither an int nor a float.
    ValueError
        If a size is out of range or the splits leave no training data.
    """
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    n_samples = check_int(n_samples, "n_samples", 1)
    n_features = check_int(n_features, "n_features", 1)
    n_classes = check_int(n_classes, "n_classes", 2)
    test = _check_size(test_size, "test_size")
    val = _check_size(val_size, "val_size")
    if train_size is not None:
        train_size = check_int(train_size, "train_size", n_classes)
    x, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_classes=n_classes,
        random_state=random_state,
        **make_classification_kwargs,
    )
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=test, stratify=y, random_state=split_seed
        )
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=val, stratify=y_rest, random_state=split_seed
        )
        if train_size is not None and train_size < len(x_train):
            x_train, _, y_train, _ = train_test_split(
                x_train,
                y_train,
                train_size=train_size,
                stratify=y_train,
                random_state=split_seed,
            )
        elif train_size is not None and train_size > len(x_train):
            raise ValueError(
                f"train_size={train_size} exceeds the {len(x_train)} training "
                "examples left after the test and validation splits"
            )
    except ValueError as exc:
        raise ValueError(f"cannot split {n_samples} samples this way: {exc}") from exc
    return SyntheticSplits(
        _f32(x_train),
        _i64(y_train),
        _f32(x_val),
        _i64(y_val),
        _f32(x_test),
        _i64(y_test),
    )


def changed_label_fraction(
    n_samples: int = 1000,
    flip_y: float = 0.01,
    *,
    n_classes: int = 2,
    random_state: int = 42,
    **make_classification_kwargs: Any,
) -> float:
    """The fraction of labels that `make_classification(flip_y=...)` really changes.

    scikit-learn selects each sample with probability f = `flip_y` and gives it
    a class drawn uniformly from the K classes, which is its old class with
    probability 1/K. So the expected fraction of labels that change is:

        f·(1 − 1/K)    (= f/2 for two classes).

    Measured by drawing the same data twice, with `flip_y` and with
    `flip_y = 0`, both with `shuffle=False`: scikit-learn's random stream is
    identical up to the redrawn labels (the shuffle comes after them), so the
    two label vectors differ exactly where a label changed, and the count is
    the same as for the shuffled data set with the same `random_state`.
    """
    from sklearn.datasets import make_classification

    n_samples = check_int(n_samples, "n_samples", 1)
    n_classes = check_int(n_classes, "n_classes", 2)
    flip_y = check_probability(flip_y, "flip_y")
    if "shuffle" in make_classification_kwargs:
        raise TypeError("changed_label_fraction sets shuffle=False itself")
    kwargs = dict(
        make_classification_kwargs,
        n_samples=n_samples,
        n_classes=n_classes,
        random_state=random_state,
        shuffle=False,
    )
    _, y_clean = make_classification(flip_y=0.0, **kwargs)
    _, y_noisy = make_classification(flip_y=flip_y, **kwargs)
    return float(np.mean(y_clean != y_noisy))
