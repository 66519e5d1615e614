import numpy as np
import pytest
import torch

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.scale import (
    check_pack_roundtrip,
    check_rank_seeds,
    check_torch_pack,
)
from dropout_lib.fast import pack_mask, unpack_mask
from dropout_lib.seeded import pack_bits, unpack_bits


def test_reference_pack_passes():
    assert check_pack_roundtrip(pack_mask, unpack_mask)


def test_pack_without_count_fails():
    def unpack(p, shape):
        return np.unpackbits(p).astype(bool)[: np.prod(shape) + 1].reshape(-1)

    with pytest.raises(CheckFailed):
        check_pack_roundtrip(pack_mask, unpack)


def test_byte_mask_fails():
    with pytest.raises(CheckFailed):
        check_pack_roundtrip(
            lambda m: m.ravel().astype(np.uint8), lambda p, s: p.astype(bool).reshape(s)
        )


def test_reference_seeds_pass():
    def derive(base, rank):
        return int(np.random.SeedSequence([base, rank]).generate_state(1)[0])

    assert check_rank_seeds(derive)


@pytest.mark.parametrize(
    "derive",
    [
        lambda b, r: b,
        lambda b, r: b + r,
        lambda b, r: int(np.random.randint(1 << 30)),
        lambda b, r: (
            10 * b + r
        ),  # collides from rank 10: base 0 rank 10 = base 1 rank 0
        lambda b, r: 1000 * b + r,  # collides from rank 1000
    ],
)
def test_wrong_seeds_fail(derive):
    with pytest.raises(CheckFailed):
        check_rank_seeds(derive)


# torch pack/unpack: the reference and the mistakes learners make


def _lsb_pack(mask):
    flat = mask.reshape(-1)
    flat = torch.cat([flat, flat.new_zeros((-flat.numel()) % 8)])
    bits = flat.view(-1, 8).to(torch.uint8)
    out = torch.zeros(bits.shape[0], dtype=torch.uint8)
    for j in range(8):
        out |= bits[:, j] << j  # least significant bit first
    return out


def _lsb_unpack(packed, shape):
    n = int(np.prod(shape))
    bits = (packed.unsqueeze(1) >> torch.arange(8, dtype=torch.uint8)) & 1
    return bits.reshape(-1)[:n].bool().reshape(shape)


def _floor_pack(mask):  # drops the tail: floor(n/8) bytes
    flat = mask.reshape(-1)
    flat = flat[: flat.numel() // 8 * 8]
    return pack_bits(flat) if flat.numel() else torch.zeros(0, dtype=torch.uint8)


def _unpack_keeps_padding(packed, shape):
    bits = (packed.unsqueeze(1) >> torch.arange(7, -1, -1, dtype=torch.uint8)) & 1
    return bits.reshape(-1).bool()


def test_reference_torch_pack_passes():
    assert check_torch_pack(pack_bits, unpack_bits)


@pytest.mark.parametrize(
    "pack, unpack",
    [
        (_lsb_pack, _lsb_unpack),  # bit order reversed (round trip still works)
        (_floor_pack, unpack_bits),  # tail bits lost when n % 8 != 0
        (pack_bits, _unpack_keeps_padding),  # padding not dropped, shape lost
        (lambda m: m.reshape(-1).to(torch.uint8), lambda p, s: p.bool().reshape(s)),
        (pack_bits, lambda p, s: unpack_bits(p, s).to(torch.uint8)),  # not bool
    ],
)
def test_wrong_torch_packs_fail(pack, unpack):
    with pytest.raises(CheckFailed):
        check_torch_pack(pack, unpack)


def test_same_seed_on_every_rank_fails():
    with pytest.raises(CheckFailed):
        check_rank_seeds(lambda base, rank: base)
