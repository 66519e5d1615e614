"""The chapter-6 checkers accept correct solutions and reject the usual mistakes."""

import pytest
import torch

from dropout_lib.exercises.batchnorm import check_channel_dropout, check_variance_shift
from dropout_lib.nn import Dropout, Dropout2d


def good_variance(c, v, p):
    q = 1 - p
    return (c * c + v) / q - c * c, v


def test_variance_checker_accepts_reference():
    assert check_variance_shift(good_variance) is True


@pytest.mark.parametrize(
    "bad",
    [
        lambda c, v, p: (
            v / (1 - p),
            v,
        ),  # forgets the mean (Li et al.'s zero-mean case)
        lambda c, v, p: (
            (c * c + v) / (1 - p) - c * c,
            v / (1 - p),
        ),  # shifts the test variance too
        lambda c, v, p: ((c * c + v) / p - c * c, v),  # p taken as the keep probability
        lambda c, v, p: (v,),  # not a pair
    ],
)
def test_variance_checker_rejects_mistakes(bad):
    with pytest.raises(AssertionError):
        check_variance_shift(bad)


def test_channel_checker_accepts_library_layer_and_reference():
    assert check_channel_dropout(lambda x, p: Dropout2d(p)(x)) is True

    def mine(x, p):
        mask = (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p).to(x.dtype)
        return x * mask / (1 - p)

    assert check_channel_dropout(mine) is True


def _inplace(x, p):
    x *= (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p) / (1 - p)
    return x


@pytest.mark.parametrize(
    "bad",
    [
        lambda x, p: Dropout(p)(x),  # element-wise
        lambda x, p: (
            x * (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p)
        ),  # no 1/q scaling
        lambda x, p: (
            x * (torch.rand(x.shape[0], x.shape[1], 1, 1) < p) / (1 - p) if p > 0 else x
        ),  # p as keep
        lambda x, p: (
            x * (torch.rand(1, x.shape[1], 1, 1) >= p) / (1 - p)
        ),  # one mask for the batch
        _inplace,
    ],
)
def test_channel_checker_rejects_mistakes(bad):
    with pytest.raises(AssertionError):
        check_channel_dropout(bad)


def test_checkers_type_errors():
    with pytest.raises(TypeError, match="fn"):
        check_variance_shift(3)
    with pytest.raises(TypeError, match="fn"):
        check_channel_dropout(None)
