import numpy as np
import pytest
import torch

from dropout_lib.fast import (
    dropout_float_mask,
    dropout_uint8,
    dropout_uint16,
    pack_mask,
    quantised_p,
    unpack_mask,
)
from dropout_lib.seeded import MaskedDropout, SeededDropout, saved_bytes, seeded_mask

IMPLS = [dropout_float_mask, dropout_uint8, dropout_uint16]


@pytest.mark.parametrize("fn", IMPLS)
def test_mask_law_and_scaling(fn):
    rng = np.random.default_rng(0)
    x = np.ones(200_000, dtype=np.float32)
    x0 = x.copy()
    y = fn(x, 0.3, rng)
    assert np.array_equal(x, x0)
    pq = quantised_p(0.3, 16) if fn is not dropout_uint8 else quantised_p(0.3, 8)
    keep = (y != 0).mean()
    sd = np.sqrt(pq * (1 - pq) / x.size)
    assert abs(keep - (1 - pq)) < 5.5 * sd + 1e-6
    assert np.allclose(
        y[y != 0], 1 / (1 - (pq if fn is not dropout_float_mask else 0.3))
    )


@pytest.mark.parametrize("fn", IMPLS)
def test_p_edges(fn):
    rng = np.random.default_rng(0)
    x = np.full(100, np.inf, dtype=np.float32)
    out = fn(x, 1.0, rng)
    assert not np.isnan(out).any() and not out.any()  # exact zeros, even for inf
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(fn(x, 0.0, rng), x)
    with pytest.raises(ValueError):
        fn(x, 1.5, rng)


def test_inplace_mutates():
    rng = np.random.default_rng(0)
    x = np.ones(1000, dtype=np.float32)
    y = dropout_uint8(x, 0.5, rng, inplace=True)
    assert y is x and (x == 0).any()


def test_quantisation():
    assert quantised_p(0.1, 8) == 26 / 256
    assert quantised_p(0.5, 8) == 0.5


def test_pack_roundtrip():
    m = np.random.default_rng(1).random((13, 7)) < 0.5
    packed = pack_mask(m)
    assert packed.nbytes == (91 + 7) // 8
    assert np.array_equal(unpack_mask(packed, m.shape), m)
    with pytest.raises(ValueError):
        unpack_mask(packed[:-1], m.shape)


def test_seeded_backward_identical_and_saves_nothing():
    x = torch.randn(64, 32, requires_grad=True)
    g = torch.randn(64, 32)
    (ga,) = torch.autograd.grad(SeededDropout.apply(x, 0.4, 7), x, g)
    mask = seeded_mask(x.shape, 0.4, 7, x.device)
    (gb,) = torch.autograd.grad(MaskedDropout.apply(x, mask, 0.4), x, g)
    assert torch.equal(ga, gb)
    assert saved_bytes(lambda: SeededDropout.apply(x, 0.4, 7)) == 0
    assert saved_bytes(lambda: MaskedDropout.apply(x, mask, 0.4)) == 64 * 32


def test_ratio_table_interleaved_rounds():
    from dropout_lib.bench import ratio_table

    r = ratio_table(n=10_000, p=0.5, repeats=3)
    assert r["floor x*c"] == 1.0
    assert set(r) >= {
        "float mask",
        "uint8 threshold",
        "uint8 in-place",
        "torch F.dropout",
    }
    assert all(v > 0 for v in r.values())
    with pytest.raises(ValueError):
        ratio_table(n=10, repeats=0)
