"""DropPath: per-sample masks, inverted vs test-time scaling, the two linear rules."""

import math

import pytest
import torch

from dropout_lib.droppath import (
    DropPath,
    drop_path,
    expected_depth,
    huang_survival_probs,
    linear_drop_rates,
    sample_keep_mask,
)


def test_identity_in_eval_and_at_p0():
    x = torch.randn(5, 3)
    assert drop_path(x, 0.5, training=False) is x
    assert drop_path(x, 0.0, training=True) is x
    m = DropPath(0.5).eval()
    assert torch.equal(m(x), x)


def test_p1_gives_zeros_without_nan():
    x = torch.randn(4, 3)
    out = drop_path(x, 1.0, training=True)
    assert torch.equal(out, torch.zeros_like(x))
    out = drop_path(x, 1.0, training=True, scale_by_keep=False)
    assert torch.isfinite(out).all()


def test_mask_is_per_sample_and_scaled():
    torch.manual_seed(0)
    x = torch.ones(3000, 2, 3)
    out = drop_path(x, 0.3, training=True)
    flat = out.reshape(3000, -1)
    assert (flat == flat[:, :1]).all()
    assert torch.unique(flat).numel() == 2
    kept = (flat[:, 0] != 0).float().mean().item()
    assert abs(kept - 0.7) < 5.5 * math.sqrt(0.21 / 3000)
    assert torch.allclose(flat[flat[:, 0] != 0], torch.tensor(1 / 0.7))


def test_expectation_inverted_and_test_time_scaling():
    torch.manual_seed(1)
    x = torch.randn(1, 4).expand(20000, 4)
    inv = drop_path(x, 0.4, training=True).mean(0)
    raw = drop_path(x, 0.4, training=True, scale_by_keep=False).mean(0)
    se = x[0].abs() * math.sqrt(0.4 / 0.6 / 20000)
    assert ((inv - x[0]).abs() < 5.5 * se + 1e-12).all()
    assert ((raw - 0.6 * x[0]).abs() < 5.5 * se * 0.6 + 1e-12).all()
    m = DropPath(0.4, scale_by_keep=False).eval()
    assert torch.allclose(m(x[:1]), 0.6 * x[:1])


def test_does_not_modify_input_and_uses_generator():
    x = torch.randn(50, 3)
    x0 = x.clone()
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    a = drop_path(x, 0.5, True, generator=g1)
    b = drop_path(x, 0.5, True, generator=g2)
    assert torch.equal(a, b) and torch.equal(x, x0)
    assert sample_keep_mask(x, 0.5).shape == (50, 1)


def test_rules_and_expected_depth():
    assert linear_drop_rates(0.1, 3) == pytest.approx([0.0, 0.05, 0.1])
    assert linear_drop_rates(0.3, 1) == [0.0]
    s = huang_survival_probs(0.5, 4)
    assert s == pytest.approx([0.875, 0.75, 0.625, 0.5])
    for L in (1, 4, 54, 110):
        assert expected_depth(huang_survival_probs(0.5, L)) == pytest.approx(
            (3 * L - 1) / 4
        )
    for D, r in ((12, 0.1), (24, 0.4)):
        rates = linear_drop_rates(r, D)
        assert expected_depth([1 - d for d in rates]) == pytest.approx(D * (1 - r / 2))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_rejects_bad_p(bad):
    with pytest.raises(ValueError, match="p"):
        drop_path(torch.ones(2, 2), bad, True)


def test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="x"):
        drop_path([1.0, 2.0], 0.5, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        linear_drop_rates(0.1, 0)
    with pytest.raises(ValueError, match="survival"):
        expected_depth([])
    with pytest.raises(ValueError, match="batch"):
        sample_keep_mask(torch.tensor(1.0), 0.5)
