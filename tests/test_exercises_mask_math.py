"""The chapter-2 checkers accept reference solutions and reject each typical mistake."""

import numpy as np
import pytest
import torch

from dropout_lib.exercises import CheckFailed
from dropout_lib.exercises.mask_math import (
    BoundaryGenerator,
    check_group_mean_variance,
    check_mask_rule,
    check_packing,
    group_mean_variance,
)
from dropout_lib.masks import draw_mask, pack_mask, unpack_mask

# --- check_mask_rule ------------------------------------------------------------------


def keep_below_q(shape, p, rng):
    return rng.random(shape) < 1 - p


def keep_at_least_p(shape, p, rng):
    return rng.random(shape) >= p


def binomial_rule(shape, p, rng):
    return rng.binomial(1, 1 - p, size=shape).astype(bool)


def torch_seeded_from_rng(shape, p, rng):
    g = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return torch.empty(shape, dtype=torch.bool).bernoulli_(1 - p, generator=g).numpy()


def library_rule(shape, p, rng):
    return draw_mask(shape, 1 - p, "uniform_lt_keep", rng)


@pytest.mark.parametrize(
    "fn",
    [keep_below_q, keep_at_least_p, binomial_rule, torch_seeded_from_rng, library_rule],
)
def test_check_mask_rule_accepts_correct_rules(fn):
    assert check_mask_rule(fn) is True


def d2l_rule(shape, p, rng):
    return rng.random(shape) > p


def non_strict(shape, p, rng):
    return rng.random(shape) <= 1 - p


def confused(shape, p, rng):
    return rng.random(shape) < p


def float_mask(shape, p, rng):
    return (rng.random(shape) < 1 - p).astype(np.float32)


def one_coin(shape, p, rng):
    return np.full(shape, rng.random() < 1 - p)


def global_state(shape, p, rng):
    return np.random.random(shape) < 1 - p


def wrong_shape(shape, p, rng):
    return rng.random(int(np.prod(shape))) < 1 - p


def crashes(shape, p, rng):
    raise RuntimeError("boom")


def own_generator_d2l(shape, p, rng):
    """Ignores rng: d2l's rule on a generator of its own (never draws an exact 0)."""
    return np.random.default_rng(0).random(shape) > p


def own_generator_non_strict(shape, p, rng):
    return np.random.default_rng(0).random(shape) <= 1 - p


def consumes_rng_but_ignores_it(shape, p, rng):
    rng.random()
    return np.random.default_rng(0).random(shape) < 1 - p


def neighbours_share_a_coin(shape, p, rng):
    n = int(np.prod(shape))
    coins = rng.random((n + 1) // 2) < 1 - p
    return np.repeat(coins, 2)[:n].reshape(shape)


def rows_share_a_mask(shape, p, rng):
    row = rng.random(shape[-1]) < 1 - p
    return np.broadcast_to(row, shape).copy()


def slightly_off(shape, p, rng):
    q = 1 - p
    return rng.random(shape) < (q if p in (0.0, 1.0) else 0.98 * q)  # 2% too few kept


@pytest.mark.parametrize(
    "fn, message",
    [
        (d2l_rule, "p=0:"),
        (non_strict, "p=1:"),
        (confused, "keep/drop confusion"),
        (float_mask, "dtype"),
        (one_coin, "one coin"),
        (global_state, "rng"),
        (wrong_shape, "shape"),
        (crashes, "raised RuntimeError"),
        (slightly_off, "keep rate"),
        (own_generator_d2l, "rng: .*different seeds gave the same mask"),
        (own_generator_non_strict, "rng: .*different seeds gave the same mask"),
        (consumes_rng_but_ignores_it, "rng: .*different seeds gave the same mask"),
        (neighbours_share_a_coin, "dependence: .*axis 1"),
        (rows_share_a_mask, "dependence: .*axis 0"),
    ],
)
def test_check_mask_rule_rejects_typical_mistakes(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_mask_rule(fn)


def test_check_mask_rule_rejects_non_callable():
    with pytest.raises(TypeError, match="fn"):
        check_mask_rule(0.5)


def test_boundary_generator_plants_extremes_and_stays_a_generator():
    g = BoundaryGenerator(np.random.PCG64(0))
    assert isinstance(g, np.random.Generator)
    u = g.random(9)
    assert (
        u[0] == 0.0 and u[1] == np.nextafter(1.0, 0.0) and u.min() >= 0 and u.max() < 1
    )
    assert g.random((2, 3), dtype=np.float32).dtype == np.float32
    assert 0.0 <= float(g.random()) < 1.0
    assert g.uniform(size=3)[0] == 0.0
    assert g.uniform(5.0, 6.0, size=3).min() >= 5.0


# --- check_packing --------------------------------------------------------------------


def ref_pack(mask):
    return np.packbits(mask.ravel()), mask.shape


def ref_unpack(packed):
    bits, shape = packed
    return np.unpackbits(bits, count=int(np.prod(shape))).astype(bool).reshape(shape)


def test_check_packing_accepts_reference_and_library():
    assert check_packing(ref_pack, ref_unpack) is True
    assert check_packing(pack_mask, unpack_mask) is True


def bytes_pack(mask):
    return mask.astype(np.uint8), mask.shape


def bytes_unpack(packed):
    return packed[0].astype(bool)


def no_count_pack(mask):
    return np.packbits(mask.ravel())


def no_count_unpack(bits):
    return np.unpackbits(bits).astype(bool)


def uint8_unpack(packed):
    bits, shape = packed
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape)


def little_unpack(packed):
    bits, shape = packed
    return (
        np.unpackbits(bits, count=int(np.prod(shape)), bitorder="little")
        .astype(bool)
        .reshape(shape)
    )


def mutating_pack(mask):
    out = np.packbits(mask.ravel()), mask.shape
    mask[...] = False
    return out


@pytest.mark.parametrize(
    "pack, unpack, message",
    [
        (bytes_pack, bytes_unpack, "one bit per entry"),
        (no_count_pack, no_count_unpack, "padding bits"),
        (ref_pack, uint8_unpack, "dtype"),
        (ref_pack, little_unpack, "bit order"),
        (mutating_pack, ref_unpack, "mutation"),
        (ref_pack, lambda packed: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_check_packing_rejects_typical_mistakes(pack, unpack, message):
    with pytest.raises(CheckFailed, match=message):
        check_packing(pack, unpack)


def test_check_packing_rejects_non_callables():
    with pytest.raises(TypeError, match="callables"):
        check_packing(ref_pack, None)


# --- check_group_mean_variance --------------------------------------------------------


@pytest.mark.parametrize("block", [1, 4, 8])
def test_group_mean_variance_matches_simulation_with_noise_shape(block):
    from dropout_lib import dropout

    rng = np.random.default_rng(0)
    p, d, n = 0.3, 8, 100_000
    x = np.ones((n, d // block, block))
    ybar = (
        dropout(x, p, rng=rng, noise_shape=(n, d // block, 1))
        .reshape(n, d)
        .mean(axis=1)
    )
    want = group_mean_variance(d, block, p)
    centred = ybar - ybar.mean()
    se = np.sqrt(
        max((centred**4).mean() - ybar.var() ** 2, 0.0) / n
    )  # s.e. of a sample variance
    assert abs(ybar.var() - want) < 6 * se


@pytest.mark.parametrize(
    "args, name",
    [
        ((0, 1, 0.5), "d"),
        ((4, 0, 0.5), "block"),
        ((4, 3, 0.5), "divide"),
        ((4, 2, 1.0), "p"),
    ],
)
def test_group_mean_variance_validates(args, name):
    with pytest.raises(ValueError, match=name):
        group_mean_variance(*args)


def test_check_group_mean_variance_accepts_reference():
    assert check_group_mean_variance(group_mean_variance) is True
    assert check_group_mean_variance(lambda d, b, p: p / (1 - p) / (d // b)) is True


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda d, b, p: p * (1 - p) * b / d, "p\\*q"),
        (lambda d, b, p: p / (1 - p) / d, "share a coin"),
        (lambda d, b, p: p / (1 - p) / b, "block size"),
        (lambda d, b, p: p / (1 - p), "variance is"),
        (lambda d, b, p: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_check_group_mean_variance_rejects_typical_mistakes(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_group_mean_variance(fn)


def test_check_group_mean_variance_rejects_non_callable():
    with pytest.raises(TypeError, match="fn"):
        check_group_mean_variance("p/q")


def test_checkers_reject_trivial_answers():
    with pytest.raises(CheckFailed):
        check_mask_rule(lambda shape, p, rng: np.ones(shape, dtype=bool))
    with pytest.raises(CheckFailed):
        check_packing(lambda m: m, lambda m: m)
    with pytest.raises(CheckFailed):
        check_group_mean_variance(lambda d, b, p: 0.0)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_group_mean_variance(lambda d, b, p: 1 / 0)
