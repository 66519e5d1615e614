"""The chapter 3 checkers accept the reference solutions and reject wrong answers."""

import numpy as np
import pytest

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.expectation import (
    check_classic_variance,
    check_decay_scale,
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
        (lambda p, o: 1 / (1 - p), "square it"),
        (lambda p, o: 1 / (1 - p) ** 2, "scale"),
        (lambda p, o: (1 - p) ** 2 if o != "adam" else 1 / (1 - p), "larger"),
        (lambda p, o: 1.0, "wrong factor"),
    ],
)
def test_lr_scale_rejects_wrong(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_lr_scale(wrong, simulate=False)


def test_checkers_reject_non_callables():
    for checker in (
        check_classic_variance,
        check_gaussian_sigma,
        check_lr_scale,
        check_decay_scale,
    ):
        with pytest.raises(TypeError, match="fn"):
            checker(3)


def test_lr_scale_catches_drift_in_simulation():
    # a factor that passes no formula check is caught by the trajectories too
    with pytest.raises(CheckFailed):
        check_lr_scale(lambda p, o: 1.0)


def reference_decay(p, decay):
    q = 1 - p
    return q**2 if decay == "coupled" else q


def test_decay_scale_accepts_reference():
    assert check_decay_scale(reference_decay)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda p, d: (1 - p) ** 2, "decoupled shrink"),
        (lambda p, d: 1 - p, "scales by q twice"),
        (lambda p, d: 1.0, "wrong factor"),
    ],
)
def test_decay_scale_rejects_wrong(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        check_decay_scale(wrong, simulate=False)


def test_decay_scale_simulation_rejects_coupled_factor_for_adamw():
    # skip the formula check by patching nothing: a wrong factor fails either way,
    # and the message names the decay that drifted
    with pytest.raises(CheckFailed, match="decoupled|wrong factor"):
        check_decay_scale(lambda p, d: (1 - p) ** 2)


def _raises(*args):
    raise RuntimeError("learner bug")


@pytest.mark.parametrize(
    "checker",
    [check_classic_variance, check_gaussian_sigma, check_lr_scale, check_decay_scale],
)
def test_learner_exceptions_become_check_failures(checker):
    with pytest.raises(CheckFailed, match="raised RuntimeError: learner bug"):
        checker(_raises)


@pytest.mark.parametrize(
    "checker,wrong",
    [
        (check_classic_variance, lambda h, p: 0 * h),
        (check_gaussian_sigma, lambda p: 0.0),
        (check_lr_scale, lambda p, o: 1.0),
        (check_decay_scale, lambda p, d: 1.0),
    ],
)
def test_wrong_answers_fail_as_check_failed(checker, wrong):
    # CheckFailed is raised explicitly, so this holds under python -O as well
    with pytest.raises(CheckFailed):
        checker(wrong)


def test_non_numeric_return_fails_cleanly():
    with pytest.raises(CheckFailed, match="real numbers"):
        check_gaussian_sigma(lambda p: "half")
    with pytest.raises(CheckFailed, match="one number"):
        check_gaussian_sigma(lambda p: [1.0, 2.0])
