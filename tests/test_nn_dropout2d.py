"""Tests for the channel-wise dropout layer dropout_lib.nn.Dropout2d."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.nn import Dropout2d, channel_keep_mask


def test_whole_channels_are_kept_or_dropped():
    torch.manual_seed(0)
    x = torch.rand(16, 8, 5, 5) + 0.5  # strictly positive, so a zero means "dropped"
    y = Dropout2d(0.5)(x)
    dropped = y == 0
    per_map = dropped.flatten(2)
    assert torch.all(per_map.all(dim=2) | (~per_map).all(dim=2))
    kept = ~dropped
    assert torch.allclose(y[kept], x[kept] * 2.0)


def test_eval_is_identity_and_input_untouched():
    x = torch.randn(4, 3, 6, 6)
    x0 = x.clone()
    layer = Dropout2d(0.3).eval()
    assert layer(x) is x
    layer.train()
    layer(x)
    assert torch.equal(x, x0)


def test_p_edge_cases():
    x = torch.randn(4, 3, 6, 6)
    assert torch.equal(Dropout2d(0.0)(x), x)
    y = Dropout2d(1.0)(torch.full((2, 2, 3, 3), float("inf")))
    assert torch.equal(y, torch.zeros_like(y))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_p_value_error(bad):
    with pytest.raises(ValueError, match="p"):
        Dropout2d(bad)


def test_bad_p_type_error():
    with pytest.raises(TypeError, match="p"):
        Dropout2d("0.5")


def test_rank_checked():
    with pytest.raises(ValueError, match="shape"):
        Dropout2d(0.5)(torch.ones(4, 3))
    with pytest.raises(ValueError, match="shape"):
        channel_keep_mask(torch.ones(4, 3), 0.5)


def test_mask_shape_and_device_and_dtype():
    x = torch.ones(3, 4, 5, 6, dtype=torch.float64)
    assert channel_keep_mask(x, 0.5).shape == (3, 4, 1, 1)
    assert channel_keep_mask(torch.ones(2, 3, 7), 0.5).shape == (2, 3, 1)
    assert Dropout2d(0.5)(x).dtype == torch.float64


def test_statistics_match_torch_dropout2d():
    """Same keep rate, per-entry moments and within-map correlation as torch's layer."""
    p = 0.3
    x = torch.ones(4000, 16, 4, 4)
    torch.manual_seed(1)
    ours = Dropout2d(p)(x)
    torch.manual_seed(2)
    theirs = torch.nn.Dropout2d(p)(x)
    n_maps = 4000 * 16
    se = math.sqrt(p * (1 - p) / n_maps)
    for y in (ours, theirs):
        kept_maps = (y[:, :, 0, 0] != 0).float()
        assert abs(kept_maps.mean().item() - (1 - p)) < 5 * se
        assert torch.all((y == 0) | torch.isclose(y, torch.tensor(1 / (1 - p))))
        # all entries of a map agree: the within-map correlation is 1
        assert torch.equal(y.amax(dim=(2, 3)), y.amin(dim=(2, 3)))
    # mean 1 and variance p/q per entry, within Monte Carlo error
    for y in (ours, theirs):
        m = y[:, :, 0, 0].flatten()
        assert abs(m.mean().item() - 1.0) < 5 * math.sqrt(p / (1 - p) / n_maps)
        assert abs(m.var().item() - p / (1 - p)) < 0.03
    assert abs(ours.mean().item() - theirs.mean().item()) < 0.02


def test_gradient_is_mask_over_q():
    torch.manual_seed(0)
    x = torch.randn(5, 4, 3, 3, requires_grad=True)
    layer = Dropout2d(0.25)
    y = layer(x)
    y.sum().backward()
    expected = (y.detach() != 0).double() / 0.75
    assert torch.allclose(x.grad.double(), expected)


@settings(max_examples=30, deadline=None)
@given(
    p=st.floats(0.0, 0.95),
    n=st.integers(1, 4),
    c=st.integers(1, 4),
    h=st.integers(1, 4),
)
def test_property_output_is_zero_or_scaled(p, n, c, h):
    x = torch.rand(n, c, h, h) + 0.1
    y = Dropout2d(p)(x)
    q = 1 - p
    assert torch.all((y == 0) | torch.isclose(y, x / q))
    assert y.shape == x.shape


def test_mask_on_the_default_device():
    from dropout_lib.reproducibility import get_device

    x = torch.ones(3, 4, 5, 5, device=get_device())
    assert channel_keep_mask(x, 0.5).device == x.device
    assert Dropout2d(0.5)(x).device == x.device
