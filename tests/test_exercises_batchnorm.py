"""The chapter-6 checkers accept correct solutions and reject the usual mistakes."""

import pytest
import torch

from dropout_lib.exercises._checking import CheckFailed
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
    with pytest.raises(CheckFailed):
        check_variance_shift(bad)


def test_channel_checker_accepts_library_layer_and_reference():
    assert check_channel_dropout(lambda x, p: Dropout2d(p)(x)) is True

    def mine(x, p):
        if p == 1:
            return torch.zeros_like(x)
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
        lambda x, p: (
            x * (torch.rand(x.shape[0], 1, 1, 1) >= p) / (1 - p)
        ),  # one mask per sample, shared by its channels
    ],
)
def test_channel_checker_rejects_mistakes(bad):
    with pytest.raises(CheckFailed):
        check_channel_dropout(bad)


def _raises(*args):
    raise RuntimeError("learner bug")


def test_learner_exceptions_become_check_failures():
    with pytest.raises(CheckFailed, match="RuntimeError"):
        check_variance_shift(_raises)
    with pytest.raises(CheckFailed, match="RuntimeError"):
        check_channel_dropout(_raises)


@pytest.mark.parametrize(
    "bad",
    [lambda c, v, p: (0, 0), lambda c, v, p: ("a", v), lambda c, v, p: None],
)
def test_variance_checker_rejects_without_assert(bad):
    # CheckFailed is raised explicitly, so this holds under python -O as well
    with pytest.raises(CheckFailed):
        check_variance_shift(bad)


@pytest.mark.parametrize(
    "bad", [lambda x, p: x, lambda x, p: x.numpy(), lambda x, p: x.clone()[:1]]
)
def test_channel_checker_rejects_without_assert(bad):
    with pytest.raises(CheckFailed):
        check_channel_dropout(bad)


def test_checker_restores_rng_state():
    torch.manual_seed(7)
    state = torch.random.get_rng_state()
    check_channel_dropout(lambda x, p: Dropout2d(p)(x))
    assert torch.equal(torch.random.get_rng_state(), state)


def test_checkers_type_errors():
    with pytest.raises(TypeError, match="fn"):
        check_variance_shift(3)
    with pytest.raises(TypeError, match="fn"):
        check_channel_dropout(None)


def _nan_at_one(x, p):
    return x * (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p) / (1 - p)


def _fixed_seed(x, p):  # the same mask on every call
    gen = torch.Generator().manual_seed(0)
    mask = torch.rand(x.shape[0], x.shape[1], 1, 1, generator=gen) >= p
    return x * mask / (1 - p) if p < 1 else torch.zeros_like(x)


def _numpy_rng(x, p):  # ignores torch's generator
    import numpy as np

    keep = np.random.random((x.shape[0], x.shape[1], 1, 1)) >= p
    return x * torch.as_tensor(keep) / (1 - p) if p < 1 else torch.zeros_like(x)


def _per_sample(x, p):
    mask = torch.rand(x.shape[0], 1, 1, 1) >= p
    return x * mask / (1 - p) if p < 1 else torch.zeros_like(x)


def _batch_shared(x, p):
    mask = torch.rand(1, x.shape[1], 1, 1) >= p
    return x * mask / (1 - p) if p < 1 else torch.zeros_like(x)


def _pairs_shared(x, p):  # neighbouring samples share a mask
    half = torch.rand((x.shape[0] + 1) // 2, x.shape[1], 1, 1) >= p
    mask = half.repeat_interleave(2, dim=0)[: x.shape[0]]
    return x * mask / (1 - p) if p < 1 else torch.zeros_like(x)


@pytest.mark.parametrize(
    "bad, message",
    [
        (_nan_at_one, "p = 1"),
        (_fixed_seed, "second call"),
        (_numpy_rng, "manual_seed"),
        (_per_sample, "two channels of one sample"),
        (_batch_shared, "kept feature maps|one channel of two samples"),
        (_pairs_shared, "one channel of two samples"),
    ],
)
def test_channel_checker_names_each_wrong_answer(bad, message):
    with pytest.raises(CheckFailed, match=message):
        check_channel_dropout(bad)


def test_channel_checker_accepts_the_chapter_solution():
    def channel_dropout(x, p):
        keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= p
        return x * keep.to(x.dtype) / (1.0 - p) if p < 1 else torch.zeros_like(x)

    assert check_channel_dropout(channel_dropout) is True
