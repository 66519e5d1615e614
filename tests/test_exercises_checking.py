"""The helpers every checker shares (`dropout_lib.exercises._checking`)."""

import numpy as np
import pytest
import torch
from scipy import stats as st

from dropout_lib import stats
from dropout_lib.exercises import _checking
from dropout_lib.exercises._checking import (
    CheckFailed,
    require_independent_masks,
    require_same_shape,
    require_unmodified,
)


def test_z_is_the_public_tolerance():
    assert _checking.Z is stats.Z_TOLERANCE
    # the false-alarm rate the docstrings quote, from scipy
    assert 2 * st.norm.sf(stats.Z_TOLERANCE) == pytest.approx(3.8e-8, rel=0.01)


@pytest.mark.parametrize("make", [np.array, torch.tensor])
def test_require_unmodified(make):
    x = make([1.0, 2.0, 3.0])
    require_unmodified(x, make([1.0, 2.0, 3.0]), "p=0.5")
    with pytest.raises(CheckFailed, match="p=0.5: your function modified its input"):
        require_unmodified(x, make([1.0, 2.0, 4.0]), "p=0.5", "no *=")
    with pytest.raises(CheckFailed, match="modified"):
        require_unmodified(make([float("nan")]), make([float("nan")]), "nan")


def test_require_same_shape():
    require_same_shape(torch.Size([2, 3]), (2, 3), "case")
    with pytest.raises(CheckFailed, match=r"case: output shape \(3,\), expected"):
        require_same_shape((3,), (2, 3), "case")


def test_require_independent_masks_accepts_independent_draws():
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 100_000)) < 0.3
    require_independent_masks(a, b, "p=0.7", "two calls", "draw afresh")
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    require_independent_masks(ta, tb, "p=0.7", "two calls", "draw afresh")


def test_require_independent_masks_rejects_shared_and_degenerate_masks():
    rng = np.random.default_rng(1)
    a = rng.random(50_000) < 0.5
    with pytest.raises(CheckFailed, match="masks of two calls agree"):
        require_independent_masks(a, a, "p=0.5", "two calls", "draw afresh")
    ones = np.ones(100, dtype=bool)
    with pytest.raises(CheckFailed, match="every entry is kept.*1 - level"):
        require_independent_masks(ones, ones, "level=0.5", "rows", "", rate="level")
    with pytest.raises(ValueError, match="one shape"):
        require_independent_masks(a, a[:-1], "p", "rows", "")
