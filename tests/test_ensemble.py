"""Tests for dropout_lib.ensemble: thinned networks, arithmetic and geometric means."""

import numpy as np
import pytest
import torch

from dropout_lib.ensemble import (
    all_masks,
    mask_probabilities,
    normalised_geometric_mean,
    softmax_regression_ensemble,
    tv_distance,
)


def test_all_masks_enumerates_every_mask_once():
    m = all_masks(4)
    assert m.shape == (16, 4)
    assert len({tuple(r) for r in m}) == 16
    assert m[0].sum() == 0 and m[-1].sum() == 4


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mask_probabilities_sum_to_one_and_match_keep_rate(p):
    m = all_masks(6)
    pi = mask_probabilities(m, p)
    assert pi.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(pi @ m, np.full(6, 1 - p))  # E[m_i] = q


@pytest.mark.parametrize("p", [0.2, 0.5, 0.7])
def test_geometric_mean_is_weight_scaling_exactly(p):
    rng = np.random.default_rng(1)
    W, b, x = rng.normal(size=(4, 8)), rng.normal(size=4), rng.normal(size=(20, 8))
    e = softmax_regression_ensemble(W, b, x, p)
    assert e.n_masks == 256
    np.testing.assert_allclose(e.geometric, e.weight_scaled, rtol=0, atol=1e-13)
    np.testing.assert_allclose(e.arithmetic.sum(axis=1), 1.0)
    # the arithmetic mean is a different distribution
    assert tv_distance(e.arithmetic, e.weight_scaled).mean() > 1e-3


def test_arithmetic_mean_matches_monte_carlo():
    rng = np.random.default_rng(2)
    W, b, x = rng.normal(size=(3, 6)), rng.normal(size=3), rng.normal(size=(5, 6))
    p, q = 0.4, 0.6
    e = softmax_regression_ensemble(W, b, x, p)
    masks = (rng.random((100_000, 6)) < q).astype(float)
    z = np.einsum("kn,in,cn->kic", masks, x, W) / q + b
    probs = np.exp(z - z.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    se = probs.std(0) / np.sqrt(len(masks))
    assert np.all(np.abs(probs.mean(0) - e.arithmetic) < 5.5 * se + 1e-12)


def test_ngm_of_softmax_is_softmax_of_mean_logits_numpy_and_torch():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(7, 5, 3))
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want = np.exp(z.mean(0)) / np.exp(z.mean(0)).sum(-1, keepdims=True)
    np.testing.assert_allclose(normalised_geometric_mean(logp), want)
    got_t = normalised_geometric_mean(torch.log_softmax(torch.tensor(z), dim=-1))
    assert isinstance(got_t, torch.Tensor)
    np.testing.assert_allclose(got_t.numpy(), want)
    w = np.full(7, 1 / 7)
    np.testing.assert_allclose(normalised_geometric_mean(logp, w), want)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(4)
    W, b, x = rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=(4, 3))
    copies = [a.copy() for a in (W, b, x)]
    softmax_regression_ensemble(W, b, x, 0.5)
    for a, c in zip((W, b, x), copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_tv_distance():
    a = np.array([[0.5, 0.5], [1.0, 0.0]])
    b = np.array([[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(tv_distance(a, b), [0.0, 1.0])
    assert torch.allclose(
        tv_distance(torch.tensor(a), torch.tensor(b)),
        torch.tensor([0.0, 1.0], dtype=torch.float64),
    )


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: all_masks(0), ValueError),
        (lambda: all_masks(21), ValueError),
        (lambda: all_masks(2.0), TypeError),
        (lambda: mask_probabilities(np.array([[0, 2]]), 0.5), ValueError),
        (lambda: normalised_geometric_mean(np.zeros(3)), ValueError),
        (lambda: normalised_geometric_mean(np.zeros((2, 3)), [0.2, 0.2]), ValueError),
        (lambda: normalised_geometric_mean(np.zeros((2, 3)), [1.0]), ValueError),
        (lambda: tv_distance(np.zeros(2), np.zeros(3)), ValueError),
        (
            lambda: softmax_regression_ensemble(
                np.zeros((2, 3)), np.zeros(2), np.zeros((1, 3)), 0.0
            ),
            ValueError,
        ),
        (
            lambda: softmax_regression_ensemble(
                np.zeros((2, 3)), np.zeros(2), np.zeros((1, 4)), 0.5
            ),
            ValueError,
        ),
    ],
)
def test_argument_errors(call, exc):
    with pytest.raises(exc):
        call()
