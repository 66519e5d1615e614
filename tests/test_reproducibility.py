import random

import numpy as np
import pytest
import torch

from dropout_lib import get_device, seed_everything


def test_seed_everything_makes_all_generators_repeat():
    g1 = seed_everything(5, threads=1)
    a = (random.random(), np.random.random(), torch.rand(1).item(), g1.random())
    g2 = seed_everything(5, threads=1)
    b = (random.random(), np.random.random(), torch.rand(1).item(), g2.random())
    assert a == b
    assert torch.get_num_threads() == 1
    seed_everything(5, threads=2)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize(
    "seed, threads", [(-1, 1), (1.5, 1), ("0", 1), (0, 0), (0, True)]
)
def test_bad_arguments(seed, threads):
    with pytest.raises((TypeError, ValueError)):
        seed_everything(seed, threads=threads)


def test_get_device():
    assert get_device(prefer_gpu=False).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
