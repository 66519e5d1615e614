import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropout_lib.fast import pack_mask
from dropout_lib.seeded import (
    MaskedDropout,
    PackedDropout,
    SeededDropout,
    pack_bits,
    saved_bytes,
    seeded_mask,
    unpack_bits,
)

DEVICES = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


@pytest.mark.parametrize("shape", [(1,), (7,), (8,), (9,), (13, 5), (3, 4, 9)])
def test_pack_bits_matches_numpy_packbits_and_round_trips(shape):
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(3)) < 0.5
    packed = pack_bits(mask)
    n = mask.numel()
    assert packed.dtype == torch.uint8 and packed.numel() == (n + 7) // 8
    assert np.array_equal(packed.numpy(), pack_mask(mask.numpy()))  # MSB first
    assert torch.equal(unpack_bits(packed, shape), mask)


def test_pack_bits_bit_order_and_tail():
    mask = torch.tensor([True] + [False] * 8 + [True])  # n = 10, two bytes
    assert pack_bits(mask).tolist() == [0b10000000, 0b01000000]


def test_pack_bits_rejects_bad_input():
    with pytest.raises(TypeError):
        pack_bits(torch.ones(8))
    with pytest.raises(ValueError):
        unpack_bits(torch.zeros(2, dtype=torch.uint8), (17,))
    with pytest.raises(ValueError):
        unpack_bits(torch.zeros(2, dtype=torch.int64), (16,))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_packed_dropout_gradient_equals_f_dropout(device, p):
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(4, 8, 33, generator=gen, device=device, requires_grad=True)
    g = torch.randn(4, 8, 33, generator=gen, device=device)
    torch.manual_seed(1)  # F.dropout's mask, replayed on ones
    mask = F.dropout(torch.ones_like(x), p, training=True) != 0
    torch.manual_seed(1)
    y = F.dropout(x, p, training=True)
    (g_ref,) = torch.autograd.grad(y, x, g)
    (g_packed,) = torch.autograd.grad(PackedDropout.apply(x, mask, p), x, g)
    (g_bool,) = torch.autograd.grad(MaskedDropout.apply(x, mask, p), x, g)
    assert torch.equal(g_packed, g_ref) and torch.equal(g_bool, g_ref)
    assert torch.equal(PackedDropout.apply(x, mask, p), y)


def test_saved_bytes_bool_packed_seed():
    x = torch.randn(256, 1024, requires_grad=True)
    mask = seeded_mask(x.shape, 0.1, 5, x.device)
    n = x.numel()
    assert saved_bytes(MaskedDropout.apply, x, mask, 0.1) == n
    assert saved_bytes(PackedDropout.apply, x, mask, 0.1) == n // 8
    assert saved_bytes(SeededDropout.apply, x, 0.1, 5) == 0
