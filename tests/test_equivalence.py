"""Tests for dropout_lib.equivalence: classic and inverted dropout as one algorithm."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.equivalence import (
    OPTIMIZERS,
    next_layer_decay_scale,
    next_layer_lr_scale,
    side_by_side,
)


def test_lr_scale_values():
    assert next_layer_lr_scale(0.5, "sgd") == pytest.approx(4.0)
    assert next_layer_lr_scale(0.5, "momentum") == pytest.approx(4.0)
    assert next_layer_lr_scale(0.5, "adam") == pytest.approx(2.0)
    assert next_layer_lr_scale(0.0, "adam") == 1.0


def test_lr_scale_errors():
    with pytest.raises(ValueError, match="optimizer"):
        next_layer_lr_scale(0.5, "adamax")
    with pytest.raises(ValueError, match="p"):
        next_layer_lr_scale(1.0, "sgd")
    with pytest.raises(TypeError, match="p"):
        next_layer_lr_scale("0.5", "sgd")


@pytest.mark.parametrize(
    "optimizer,lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.01)]
)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_rescaled_rates_give_the_same_trajectory(optimizer, lr, weight_decay):
    run = side_by_side(0.3, optimizer, lr, 100, weight_decay=weight_decay)
    assert len(run.max_param_diff) == 101
    assert run.max_param_diff[0] < 1e-15
    assert run.max_param_diff.max() < 1e-9
    assert run.max_train_output_diff.max() < 1e-9
    assert run.max_test_output_diff < 1e-9
    assert run.loss_inverted[-1] < run.loss_inverted[0]  # the nets do learn


@pytest.mark.parametrize(
    "optimizer,lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.01)]
)
def test_equal_rates_diverge(optimizer, lr):
    run = side_by_side(0.3, optimizer, lr, 100, lr_scale=1.0)
    assert run.max_param_diff[1] > 1e-6
    assert run.max_param_diff[-1] > 1e-2
    assert run.max_test_output_diff > 1e-2


def test_wrong_scale_for_the_optimizer_diverges():
    assert (
        side_by_side(0.3, "adam", 0.01, 50, lr_scale=1 / 0.7**2).max_param_diff[-1]
        > 1e-3
    )
    assert side_by_side(0.3, "sgd", 0.1, 50, lr_scale=1 / 0.7).max_param_diff[-1] > 1e-3


def test_adam_without_eps_rescaling_is_close_but_not_exact():
    exact = side_by_side(0.3, "adam", 0.01, 60, adam_eps=1e-3)
    approx = side_by_side(0.3, "adam", 0.01, 60, adam_eps=1e-3, scale_eps=False)
    assert exact.max_param_diff.max() < 1e-9
    assert approx.max_param_diff.max() > 1e-6


@settings(max_examples=8, deadline=None)
@given(
    p=st.floats(0.05, 0.9),
    seed=st.integers(0, 1000),
    optimizer=st.sampled_from(OPTIMIZERS),
)
def test_equivalence_holds_for_any_rate_and_seed(p, seed, optimizer):
    lr = 0.01 if optimizer == "adam" else 0.05
    run = side_by_side(p, optimizer, lr, 20, seed=seed)
    assert run.max_param_diff.max() < 1e-8


def test_same_seed_is_reproducible():
    a = side_by_side(0.3, "sgd", 0.1, 10, lr_scale=1.0)
    b = side_by_side(0.3, "sgd", 0.1, 10, lr_scale=1.0)
    np.testing.assert_array_equal(a.max_param_diff, b.max_param_diff)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(p=1.0), "p"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(steps=0), "steps"),
        (dict(lr=0.0), "lr"),
        (dict(lr=-1.0), "lr"),
        (dict(lr_scale=0.0), "lr_scale"),
        (dict(n_classes=1), "n_classes"),
        (dict(seed=-1), "seed"),
        (dict(weight_decay=-1.0), "weight_decay"),
    ],
)
def test_side_by_side_rejects_bad_arguments(kwargs, match):
    args = dict(p=0.3, optimizer="sgd", lr=0.1, steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        side_by_side(**args)


@pytest.mark.parametrize("optimizer,lr", [("rmsprop", 0.01), ("adagrad", 0.05)])
def test_other_adaptive_optimizers_need_eta_over_q_and_scaled_eps(optimizer, lr):
    exact = side_by_side(0.3, optimizer, lr, 60)
    assert exact.lr_scale == pytest.approx(1 / 0.7)
    assert exact.max_param_diff.max() < 1e-12
    same_eps = side_by_side(0.3, optimizer, lr, 60, scale_eps=False)
    assert 1e-12 < same_eps.max_param_diff.max() < 1e-3
    equal = side_by_side(0.3, optimizer, lr, 60, lr_scale=1.0)
    assert equal.max_param_diff.max() > 1e-2


def test_decoupled_decay_needs_q_not_q_squared():
    assert next_layer_decay_scale(0.4, "decoupled") == pytest.approx(0.6)
    assert next_layer_decay_scale(0.4, "coupled") == pytest.approx(0.36)
    ok = side_by_side(0.4, "adam", 0.01, 60, weight_decay=0.05, decay="decoupled")
    assert ok.max_param_diff.max() < 1e-12
    wrong = side_by_side(
        0.4, "adam", 0.01, 60, weight_decay=0.05, decay="decoupled", decay_scale=0.36
    )
    assert wrong.max_param_diff.max() > 1e-4


def test_decay_argument_errors():
    with pytest.raises(ValueError, match="decay"):
        next_layer_decay_scale(0.4, "adamw")
    with pytest.raises(ValueError, match="decoupled"):
        side_by_side(0.4, "sgd", 0.1, 5, weight_decay=0.1, decay="decoupled")
    with pytest.raises(ValueError, match="decay_scale"):
        side_by_side(0.4, "adam", 0.1, 5, decay_scale=-1.0)
    with pytest.raises(TypeError, match="steps"):
        side_by_side(0.4, "sgd", 0.1, 2.5)


def test_max_norm_needs_radius_over_q():
    exact = side_by_side(0.3, "sgd", 0.1, 100, max_norm=1.0)
    same_radius = side_by_side(0.3, "sgd", 0.1, 100, max_norm=1.0, max_norm_scale=1.0)
    assert exact.max_param_diff.max() < 1e-12
    assert same_radius.max_param_diff.max() > 1e-2


def test_adagrad_initial_accumulator_needs_q_squared():
    exact = side_by_side(0.3, "adagrad", 0.05, 100, adagrad_init=0.1)
    unscaled = side_by_side(
        0.3, "adagrad", 0.05, 100, adagrad_init=0.1, adagrad_init_scale=1.0
    )
    assert exact.max_param_diff.max() < 1e-12
    assert unscaled.max_param_diff.max() > 1e-3


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.01)])
def test_global_gradient_clipping_breaks_the_equivalence(optimizer, lr):
    inactive = side_by_side(0.3, optimizer, lr, 100, clip_norm=1e6)
    active = side_by_side(0.3, optimizer, lr, 100, clip_norm=0.5)
    assert inactive.max_param_diff.max() < 1e-12
    assert active.max_param_diff.max() > 1e-3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"max_norm": -1.0}, "max_norm"),
        ({"max_norm": 1.0, "max_norm_scale": float("nan")}, "max_norm_scale"),
        ({"adagrad_init": 0.1}, "adagrad"),
        ({"optimizer": "adagrad", "adagrad_init": -0.1}, "adagrad_init"),
    ],
)
def test_new_arguments_are_validated(kwargs, match):
    kwargs = {"optimizer": "sgd", **kwargs}
    with pytest.raises(ValueError, match=match):
        side_by_side(0.3, steps=2, **kwargs)
