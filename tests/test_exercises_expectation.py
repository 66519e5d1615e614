"""The chapter 3 checkers accept the reference solutions and reject typical wrong answers."""

import numpy as np
import pytest

from dropout_lib.exercises.expectation import (
    check_classic_variance,
    check_gaussian_sigma,
    check_lr_scale,
)


def test_classic_variance_accepts_reference():
    assert check_classic_variance(lambda h, p: h**2 * p * (1 - p))


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda h, p: h**2 * p / (1 - p), "inverted"),
        (lambda h, p: h**2 * p, "E\\[m\\^2\\]"),
        (lambda h, p: h * p * (1 - p), "wrong variance"),
        (lambda h, p: np.sum(h**2) * p * (1 - p), "one variance per entry"),
    ],
)
def test_classic_variance_rejects_wrong(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_classic_variance(wrong)


def test_classic_variance_rejects_mutation():
    def mutating(h, p):
        h *= 2
        return h**2 * p * (1 - p) / 4

    with pytest.raises(AssertionError, match="modify"):
        check_classic_variance(mutating)


def test_gaussian_sigma():
    assert check_gaussian_sigma(lambda p: np.sqrt(p / (1 - p)))
    with pytest.raises(AssertionError, match="square root"):
        check_gaussian_sigma(lambda p: p / (1 - p))
    with pytest.raises(AssertionError, match="not h\\^2 p"):
        check_gaussian_sigma(lambda p: np.sqrt(p))
    with pytest.raises(AssertionError):
        check_gaussian_sigma(lambda p: np.sqrt(p * (1 - p)))


def reference_scale(p, optimizer):
    q = 1 - p
    return 1 / q**2 if optimizer in ("sgd", "momentum") else 1 / q


def test_lr_scale_accepts_reference():
    assert check_lr_scale(reference_scale)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda p, o: 1 / (1 - p), "squared"),
        (lambda p, o: 1 / (1 - p) ** 2, "scale"),
        (lambda p, o: (1 - p) ** 2 if o != "adam" else 1 / (1 - p), "larger"),
        (lambda p, o: 1.0, "wrong factor"),
    ],
)
def test_lr_scale_rejects_wrong(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_lr_scale(wrong, simulate=False)


def test_checkers_reject_non_callables():
    for checker in (check_classic_variance, check_gaussian_sigma, check_lr_scale):
        with pytest.raises(TypeError, match="fn"):
            checker(3)
