"""Tests for DropBlock (dropout_lib.nn.DropBlock and block_keep_mask)."""

import math

import pytest
import torch
import torch.nn.functional as F

from dropout_lib.nn import DROPOUT_TYPES, DropBlock, block_keep_mask, is_dropout
from dropout_lib.reproducibility import get_device


def _is_union_of_blocks(dropped: torch.Tensor, b: int) -> bool:
    """Every dropped pixel lies in an all-dropped b x b window (clipped to the map)."""
    d = dropped.float()
    padded = F.pad(d, (b - 1, b - 1, b - 1, b - 1), value=1.0)  # outside counts dropped
    full = -F.max_pool2d(-padded, b, stride=1)  # 1 where a whole window is dropped
    cover = F.max_pool2d(full, b, stride=1)  # pixels covered by such windows
    return bool(torch.equal(cover[..., : d.shape[-2], : d.shape[-1]] * d, d))


def test_is_a_dropout_layer():
    layer = DropBlock(0.2, block_size=3)
    assert isinstance(layer, DROPOUT_TYPES) and is_dropout(layer)
    assert "block_size=3" in repr(layer)


@pytest.mark.parametrize("b", [1, 2, 3, 5])
def test_keep_probability_is_exact_everywhere(b):
    torch.manual_seed(0)
    q, n = 0.7, 4000
    keep = block_keep_mask(torch.empty(n, 1, 7, 7), q, b).double()
    frac = keep.mean(dim=(0, 1))  # per position, edges included
    se = math.sqrt(q * (1 - q) / n)
    assert torch.all((frac - q).abs() < 5.5 * se), frac


def test_expectation_preserved():
    torch.manual_seed(1)
    x = torch.rand(1, 2, 6, 6) + 0.5
    layer = DropBlock(0.3, block_size=3)
    mean = torch.stack([layer(x) for _ in range(4000)]).mean(dim=0)
    # per entry: sd of h'/q mean over 4000 draws is h sqrt(p/q)/sqrt(4000)
    sd = x * math.sqrt(0.3 / 0.7) / math.sqrt(4000)
    assert torch.all((mean - x).abs() < 5.5 * sd)


def test_block_structure_and_scaling():
    torch.manual_seed(2)
    x = torch.rand(64, 4, 10, 10) + 0.5
    y = DropBlock(0.3, block_size=3)(x)
    dropped = y == 0
    assert _is_union_of_blocks(dropped, 3)
    assert torch.allclose(y[~dropped], x[~dropped] / 0.7)
    # element-wise masks are not unions of 3x3 blocks
    assert not _is_union_of_blocks(torch.rand(64, 4, 10, 10) < 0.3, 3)


def test_neighbours_are_dropped_together():
    torch.manual_seed(3)
    keep = block_keep_mask(torch.empty(2000, 1, 8, 8), 0.7, 3)
    a, b = keep[..., :, :-1].flatten().double(), keep[..., :, 1:].flatten().double()
    rho = torch.corrcoef(torch.stack([a, b]))[0, 1]
    assert rho > 0.5  # element-wise masks would give about 0


def test_eval_identity_edges_and_input_untouched():
    x = torch.randn(3, 2, 5, 5)
    x0 = x.clone()
    layer = DropBlock(0.4, block_size=2)
    assert layer.eval()(x) is x
    layer.train()(x)
    assert torch.equal(x, x0)
    assert torch.equal(DropBlock(0.0)(x), x)
    y = DropBlock(1.0)(torch.full((2, 2, 4, 4), float("inf")))
    assert torch.equal(y, torch.zeros_like(y))
    assert torch.all(block_keep_mask(x, 1.0, 3)) and not torch.any(
        block_keep_mask(x, 0.0, 3)
    )


def test_gradient_is_mask_over_q():
    torch.manual_seed(4)
    x = torch.rand(8, 2, 6, 6, requires_grad=True)
    torch.manual_seed(5)
    y = DropBlock(0.25, block_size=3)(x)
    y.sum().backward()
    torch.manual_seed(5)
    keep = block_keep_mask(x, 0.75, 3)
    assert torch.allclose(x.grad, keep.to(x.dtype) / 0.75)


def test_mask_on_input_device_and_dtype():
    device = get_device()
    x = torch.ones(2, 3, 6, 6, dtype=torch.float64, device=device)
    keep = block_keep_mask(x, 0.5, 3)
    assert keep.device == x.device and keep.dtype == torch.bool
    assert keep.shape == x.shape
    y = DropBlock(0.5)(x)
    assert y.device == x.device and y.dtype == torch.float64


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        DropBlock(0.5)(torch.ones(4, 3, 5))
    with pytest.raises(ValueError, match="shape"):
        block_keep_mask(torch.ones(4, 3), 0.5, 3)
    with pytest.raises(ValueError, match="block_size"):
        DropBlock(0.5, block_size=0)
    with pytest.raises(TypeError, match="block_size"):
        DropBlock(0.5, block_size=2.0)
    with pytest.raises(ValueError, match="p"):
        DropBlock(1.5)
