"""check_dropout accepts correct implementations and rejects each typical mistake
with its own message."""

import numpy as np
import pytest

from dropout_lib import dropout
from dropout_lib.exercises import CheckFailed, check_dropout
from dropout_lib.exercises.core import (
    lag1_correlation,
    require_independent,
    require_uses_rng,
)


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


def same_mask_every_call(x, p, rng):
    """A generator of its own: the same mask on every call, whatever rng is."""
    if p == 1:
        return np.zeros_like(x)
    return x * (np.random.default_rng(0).random(x.shape) >= p) / (1 - p)


def pair_correlated(x, p, rng):
    """Neighbouring entries share one coin: right rate, right scale, wrong law."""
    if p == 1:
        return np.zeros_like(x)
    flat = x.ravel()
    coins = rng.random((flat.size + 1) // 2) >= p
    keep = np.repeat(coins, 2)[: flat.size].reshape(x.shape)
    return x * keep / (1 - p)


def rows_share_a_mask(x, p, rng):
    """One mask drawn for the last axis and shared by every row (example)."""
    if p == 1:
        return np.zeros_like(x)
    return x * (rng.random(x.shape[-1]) >= p) / (1 - p)


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
        (ignores_rng, "rng: .*did not draw from the rng argument"),
        (same_mask_every_call, "rng: .*different seeds gave the same mask"),
        (pair_correlated, "dependence: .*1-D input"),
        (rows_share_a_mask, "dependence: .*2-D input.*axis 0"),
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


def test_lag1_correlation_is_about_one_over_root_n_for_independent_entries():
    rng = np.random.default_rng(0)
    zs = []
    for _ in range(200):
        r, n = lag1_correlation(rng.random((40, 50)) < 0.7, axis=1)
        zs.append(r * np.sqrt(n))
    assert n == 40 * 49
    assert abs(np.mean(zs)) < 0.3 and 0.8 < np.std(zs) < 1.2


def test_lag1_correlation_of_shared_pairs_is_one_half():
    coins = np.random.default_rng(1).random(50_000) < 0.5
    r, _ = lag1_correlation(np.repeat(coins, 2), axis=0)
    assert abs(r - 0.5) < 0.02
    assert lag1_correlation(np.ones((3, 4)), axis=0) == (0.0, 8)
    assert lag1_correlation(np.ones(1), axis=0) == (0.0, 0)


def test_require_helpers_accept_independent_fresh_masks():
    require_independent(np.random.default_rng(2).random((300, 300)) < 0.3, "x", "")
    require_uses_rng(lambda rng: rng.random(100) < 0.5, "x", "")


def test_require_uses_rng_rejects_a_global_generator():
    with pytest.raises(CheckFailed, match="did not draw"):
        require_uses_rng(lambda rng: np.random.random(100) < 0.5, "x", "")


CHECKERS_UNDER_O = """
import numpy as np
from dropout_lib.exercises import CheckFailed, check_dropout
from dropout_lib.exercises.mask_math import check_mask_rule

def right(x, p, rng):
    return np.zeros_like(x) if p == 1 else x * (rng.random(x.shape) >= p) / (1 - p)

def same_mask(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return x * (np.random.default_rng(0).random(x.shape) >= p) / (1 - p)

assert check_dropout(right) is True
assert check_mask_rule(lambda s, p, rng: rng.random(s) < 1 - p) is True
for checker, wrong in (
    (check_dropout, same_mask),
    (check_mask_rule, lambda s, p, rng: np.random.default_rng(0).random(s) > p),
):
    try:
        checker(wrong)
    except CheckFailed:
        pass
    else:
        raise SystemExit("accepted a wrong answer under -O")
print("ok")
"""


def test_checkers_decide_alike_under_python_O():
    """The checkers raise explicitly, so `python -O` (no asserts) changes nothing."""
    import subprocess
    import sys

    code = CHECKERS_UNDER_O.replace("assert ", "if not ").replace(
        " is True", ": raise SystemExit('rejected the right answer')"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
