"""Tests for dropout_lib.inference: weight scaling, Monte Carlo averaging, probes."""

import numpy as np
import pytest
import torch
from torch import nn

from dropout_lib.inference import (
    mc_curve,
    mc_predict,
    mc_samples,
    next_layer_inputs,
    weight_scaled_predict,
)
from dropout_lib.models import MLP


def small_model(rates=(0.5, 0.5), seed=0):
    torch.manual_seed(seed)
    return MLP(6, [16, 16], 3, dropout=list(rates))


def data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_weight_scaled_predict_is_eval_softmax_and_restores_mode():
    model, (x, _) = small_model(), data()
    model.train()
    probs = weight_scaled_predict(model, x)
    assert model.training
    model.eval()
    torch.testing.assert_close(probs, torch.softmax(model(x), dim=1))
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(x)))
    torch.testing.assert_close(
        weight_scaled_predict(model, x, output="logits"), model(x)
    )


def test_mc_samples_shape_randomness_and_seed():
    model, (x, _) = small_model(), data()
    s = mc_samples(model, x, 5, seed=3)
    assert s.shape == (5, len(x), 3)
    assert not torch.allclose(s[0], s[1])  # the masks differ between passes
    torch.testing.assert_close(s, mc_samples(model, x, 5, seed=3))
    assert not torch.allclose(s, mc_samples(model, x, 5, seed=4))


def test_mc_seed_leaves_global_rng_untouched():
    model, (x, _) = small_model(), data()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    mc_predict(model, x, 4, seed=0)
    torch.testing.assert_close(torch.rand(3), expected)


def test_mc_predict_without_dropout_equals_weight_scaling():
    model, (x, _) = small_model(rates=(0.0, 0.0)), data()
    torch.testing.assert_close(
        mc_predict(model, x, 3, seed=0), weight_scaled_predict(model, x)
    )


def test_mc_logits_mean_is_exact_for_last_layer_dropout():
    """Only the last hidden layer drops: mean logit over masks = eval logit."""
    model, (x, _) = small_model(rates=(0.0, 0.5)), data(n=10)
    s = mc_samples(model, x, 4000, seed=0, output="logits").double()
    t = (s.mean(0) - weight_scaled_predict(model, x, output="logits").double()) / (
        s.std(0) / np.sqrt(len(s))
    )
    assert t.abs().max() < 5


def test_mc_samples_do_not_update_batchnorm_statistics():
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2)
    )
    before = model[1].running_mean.clone()
    mc_predict(model, torch.randn(10, 4), 3, seed=0)
    torch.testing.assert_close(model[1].running_mean, before)


def test_next_layer_inputs():
    model, (x, _) = small_model(), data()
    clean = next_layer_inputs(model, x, dropout_on=False)
    noisy = next_layer_inputs(model, x, dropout_on=True)
    assert [a.shape for a in clean] == [(len(x), 16), (len(x), 16)]
    model.eval()
    torch.testing.assert_close(clean[0], torch.relu(model[1](x)))
    # first layer: the noisy input is 0 or clean / q
    a, b = noisy[0], clean[0]
    kept = a != 0
    torch.testing.assert_close(a[kept], b[kept] / 0.5)
    assert 0.3 < kept[b > 0].float().mean().item() < 0.7


def test_mc_curve_basic_properties():
    model, (x, y) = small_model(), data(n=200)
    c = mc_curve(model, x, y, [1, 4, 16, 64], repeats=2, seed=0)
    assert c.ks.tolist() == [1, 4, 16, 64]
    assert np.all((c.error >= 0) & (c.error <= 1))
    assert 0 <= c.ws_error <= 1
    assert c.distance[-1] < c.distance[0]  # averaging pulls towards weight scaling
    c2 = mc_curve(model, x, y, [1, 4, 16, 64], repeats=2, seed=0)
    np.testing.assert_array_equal(c.error, c2.error)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda m, x, y: mc_predict(m, x, 0), ValueError, "k"),
        (
            lambda m, x, y: mc_predict(m, x, 2, output="probabilities"),
            ValueError,
            "output",
        ),
        (lambda m, x, y: mc_predict(m, x, 2, seed=-1), ValueError, "seed"),
        (lambda m, x, y: mc_predict("model", x, 2), TypeError, "model"),
        (lambda m, x, y: mc_predict(m, x.numpy(), 2), TypeError, "x"),
        (lambda m, x, y: mc_curve(m, x, y[:-1], [1]), ValueError, "same length"),
        (lambda m, x, y: mc_curve(m, x, y, []), ValueError, "ks"),
        (lambda m, x, y: mc_curve(m, x, y, [0]), ValueError, "ks"),
        (lambda m, x, y: mc_curve(m, x, y, [1], repeats=0), ValueError, "repeats"),
        (
            lambda m, x, y: next_layer_inputs(m, x, dropout_on=1),
            TypeError,
            "dropout_on",
        ),
        (lambda m, x, y: next_layer_inputs(m, x), TypeError, "dropout_on"),
        (
            lambda m, x, y: next_layer_inputs(m, x, dropout_on=True, training=True),
            TypeError,
            "deprecated",
        ),
        (
            lambda m, x, y: next_layer_inputs(nn.Linear(6, 2), x, dropout_on=True),
            ValueError,
            "two nn.Linear",
        ),
    ],
)
def test_argument_errors(call, exc, match):
    model, (x, y) = small_model(), data()
    with pytest.raises(exc, match=match):
        call(model, x, y)


def test_next_layer_inputs_keeps_training_as_deprecated_alias():
    model, (x, _) = small_model(), data()
    for flag in (False, True):
        torch.manual_seed(0)
        old = next_layer_inputs(model, x, training=flag)
        torch.manual_seed(0)
        new = next_layer_inputs(model, x, dropout_on=flag)
        for a, b in zip(old, new, strict=True):
            torch.testing.assert_close(a, b)


def test_mc_samples_has_one_home():
    from dropout_lib import inference, uncertainty

    assert inference.mc_samples is uncertainty.mc_samples


def test_mc_curve_distance_is_the_ensemble_tv_distance():
    from dropout_lib.ensemble import tv_distance
    from dropout_lib.uncertainty import mc_samples

    model, (x, y) = small_model(), data(n=50)
    c = mc_curve(model, x, y, [3], seed=5)
    avg = mc_samples(model, x, 3, seed=5).double().mean(dim=0)
    expected = float(tv_distance(avg, weight_scaled_predict(model, x)).mean())
    assert c.distance[0] == pytest.approx(expected, rel=1e-12)
