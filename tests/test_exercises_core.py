"""check_dropout accepts correct implementations and rejects each typical mistake
with its own message."""

import numpy as np
import pytest

from dropout_lib import dropout
from dropout_lib.exercises import CheckFailed, check_dropout


def reference(x, p, rng):
    return dropout(x, p, rng=rng)


def hand_written(x, p, rng):
    if p == 1:
        return np.zeros_like(x, dtype=float)
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p)


def no_rescaling(x, p, rng):
    return x * (rng.random(x.shape) >= p)


def scaled_by_keep(x, p, rng):
    return x * (rng.random(x.shape) >= p) * (1 - p)


def scaled_by_p(x, p, rng):
    if p == 0:
        return x.copy()
    return x * (rng.random(x.shape) < 1 - p) / p


def mutating(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    x *= rng.random(x.shape) >= p
    x /= 1 - p
    return x


def keep_drop_confusion(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return x * (rng.random(x.shape) < p) / (1 - p) if p > 0 else x.copy()


def one_coin(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return x / (1 - p) if rng.random() >= p else np.zeros_like(x)


def nan_at_one(x, p, rng):
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * (rng.random(x.shape) >= p) / np.float64(1 - p)


def raises_at_one(x, p, rng):
    scale = 1 / (1 - p)  # ZeroDivisionError at p = 1
    return x * (rng.random(x.shape) >= p) * scale


def changes_values_at_zero(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return np.round(x * (rng.random(x.shape) >= p) / (1 - p), 2)


def ignores_rng(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return x * (np.random.random(x.shape) >= p) / (1 - p)


def wrong_shape(x, p, rng):
    return np.zeros(3)


def biased_mask(x, p, rng):
    """Right scale, but drops 35% instead of 30%: a rate bug no other check names."""
    if p in (0, 1):
        return np.zeros_like(x) if p == 1 else x.copy()
    return x * (rng.random(x.shape) >= p + 0.05) / (1 - p)


@pytest.mark.parametrize("fn", [reference, hand_written])
def test_accepts_correct_functions(fn):
    assert check_dropout(fn) is True


@pytest.mark.parametrize(
    "fn, message",
    [
        (no_rescaling, "no rescaling"),
        (scaled_by_keep, r"kept entries are x \* \(1 - p\)"),
        (scaled_by_p, r"kept entries are x / p"),
        (mutating, "mutation"),
        (keep_drop_confusion, "keep/drop confusion"),
        (one_coin, "one coin"),
        (nan_at_one, "p=1: the output contains NaN"),
        (raises_at_one, "p=1: your function raised ZeroDivisionError"),
        (changes_values_at_zero, "p=0"),
        (ignores_rng, "rng: two calls"),
        (wrong_shape, "shape"),
        (biased_mask, "drop rate"),
    ],
)
def test_rejects_each_mistake_with_its_own_message(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_dropout(fn)


def test_not_callable():
    with pytest.raises(TypeError, match="fn must be a callable"):
        check_dropout(42)


def test_failures_are_assertion_errors_and_chain_the_learners_exception():
    with pytest.raises(AssertionError) as info:
        check_dropout(raises_at_one)
    assert isinstance(info.value, CheckFailed)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_identity_rejected():
    """The identity is the answer ``python -O`` let through in bare-assert checkers."""
    with pytest.raises(CheckFailed):
        check_dropout(lambda x, p, rng: x)


@pytest.mark.parametrize(
    "module",
    [
        "dropout_lib/exercises/core.py",
        "dropout_lib/exercises/mask_math.py",
        "dropout_lib/exercises/keras.py",
        "dropout_lib/masks.py",
        "dropout_lib/functional.py",
        "dropout_lib/studies/keras.py",
    ],
)
def test_no_bare_assert_in_library_code(module):
    """``python -O`` strips ``assert``: library code and checkers never rely on it."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).parent.parent / module).read_text())
    asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert asserts == [], f"bare assert in {module} at lines {asserts}"
