import numpy as np
import pytest

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.scale import check_pack_roundtrip, check_rank_seeds
from dropout_lib.fast import pack_mask, unpack_mask


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
    [lambda b, r: b, lambda b, r: b + r, lambda b, r: int(np.random.randint(1 << 30))],
)
def test_wrong_seeds_fail(derive):
    with pytest.raises(CheckFailed):
        check_rank_seeds(derive)
