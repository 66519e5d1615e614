"""The template chapter's checker against the answers learners write."""

import math

import numpy as np
import pytest

from dropout_lib.exercises import CheckFailed
from dropout_lib.exercises.template import check_inverted_scale


def good(p):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1); got p={p}")
    return 1.0 / (1.0 - p)


def test_correct_answers_pass():
    assert check_inverted_scale(good) is True
    assert check_inverted_scale(lambda p: np.float32(good(p)) if p < 1 else good(p))


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda p: 1.0 - p, "p=0.1: got 0.9"),  # classic dropout's test-time factor
        (lambda p: 1.0 / p if p else 1.0, "p=0.1"),  # drop/keep confused
        (lambda p: 1.0 / (1.0 - p), "ZeroDivisionError, not ValueError"),
        (lambda p: 1.0 / (1.0 - p) if p < 1 else math.inf, "p=1: got inf"),
        (lambda p: 1.0 / (1.0 - p) if p < 1 else math.nan, "p=1: got nan"),
        (lambda p: str(good(p)), "return a number"),
        (lambda p: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_wrong_answers_fail(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_inverted_scale(fn)


def test_not_callable_is_a_type_error():
    with pytest.raises(TypeError, match="fn must be a callable"):
        check_inverted_scale(2.0)
