"""Tests for dropout_lib.studies.keras: Keras 3 (torch backend) next to dropout_lib."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import math

import numpy as np
import pytest
import torch

import dropout_lib
from dropout_lib.masks import dropout_summary, kept_mask, shared_along
from dropout_lib.studies.keras import (
    KERAS_VERSIONS,
    THINNED_DRAWS,
    fit_tutorial_keras,
    fit_tutorial_torch,
    import_keras,
    keras_dropout_behaviour,
    mlp_from_keras,
    observed_keras_behaviour,
    training_flag_probe,
    tutorial_keras_model,
)
from dropout_lib.synthetic import synthetic_classification
from dropout_lib.training import Run

keras = import_keras()
Z = 5.5  # the course's one tolerance (dropout_lib.exercises._checking.Z)


def as_np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


# ---------------------------------------------------------------- import_keras


def test_import_keras_uses_torch_backend():
    assert keras.backend.backend() == "torch"
    assert import_keras() is keras


def test_import_keras_rejects_other_backend_once_imported():
    with pytest.raises(RuntimeError, match="already imported"):
        import_keras("jax")


def test_import_keras_rejects_non_string():
    with pytest.raises(TypeError, match="backend"):
        import_keras(3)


# ---------------------------------------------------------------- keras_dropout_behavio


@pytest.mark.parametrize(
    "rate, row",
    [
        (-0.5, ("identity", "identity", "raises", "raises")),
        (0.0, ("identity", "identity", "identity", "identity")),
        (0.3, ("dropout", "dropout", "dropout", "dropout")),
        (1.0, ("identity", "identity", "call raises", "zeros")),
        (1.5, ("identity", "identity", "raises", "raises")),
        (256, ("identity", "identity", "raises", "raises")),
        (float("nan"), ("identity", "identity", "raises", "raises")),
    ],
)
def test_behaviour_table(rate, row):
    assert tuple(keras_dropout_behaviour(rate, v) for v in KERAS_VERSIONS) == row


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("version", KERAS_VERSIONS)
def test_inference_is_identity_in_every_version(rate, version):
    assert keras_dropout_behaviour(rate, version, training=False) == "identity"


def test_behaviour_argument_errors():
    with pytest.raises(ValueError, match="version"):
        keras_dropout_behaviour(0.5, "Keras 4")
    with pytest.raises(ValueError, match="version"):
        keras_dropout_behaviour(0.5, 3)
    with pytest.raises(TypeError, match="rate"):
        keras_dropout_behaviour("0.5", "Keras 3")
    with pytest.raises(TypeError, match="rate"):
        keras_dropout_behaviour(True, "Keras 3")


@pytest.mark.parametrize("rate", [-0.5, 0.0, 0.25, 0.9, 1.0, 1.5, 256.0, float("nan")])
@pytest.mark.parametrize("training", [True, False])
def test_version_3_table_matches_real_keras(rate, training):
    """The Keras 3 column is checked against the installed keras.layers.Dropout."""
    expected = keras_dropout_behaviour(rate, "Keras 3", training=training)
    assert observed_keras_behaviour(rate, training=training) == expected


def test_training_flag_probe_sees_fit_evaluate_predict():
    probe = training_flag_probe()
    m = keras.Sequential(
        [keras.Input(shape=(3,)), probe, keras.layers.Dense(1, activation="sigmoid")]
    )
    m.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = np.ones((10, 3), np.float32), np.ones(10, np.float32)
    assert probe.seen == []
    m.fit(x, y, epochs=1, batch_size=5, validation_data=(x, y), verbose=0)
    assert probe.seen == [True, True, False, False]
    probe.seen.clear()
    m.evaluate(x, y, verbose=0)
    m.predict(x, verbose=0)
    assert probe.seen == [False, False]
    probe.seen.clear()
    m(x)
    m(x, training=True)
    assert probe.seen == [None, True]


# ---------------------------------------------------------------- Keras versus dropout_


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keras_and_dropout_lib_agree(p):
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=(200, 500)).astype(np.float32)
    sk = dropout_summary(x, as_np(keras.layers.Dropout(p, seed=3)(x, training=True)))
    sd = dropout_summary(x, dropout_lib.dropout(x, p, rng=3))
    se = math.sqrt(p * (1 - p) / x.size)
    assert abs(sk.dropped_fraction - p) <= Z * se
    assert abs(sd.dropped_fraction - p) <= Z * se
    for s in (sk, sd):
        assert (
            abs(s.scale_min * (1 - p) - 1) < 2e-7
            and abs(s.scale_max * (1 - p) - 1) < 2e-7
        )


def test_noise_shape_broadcast_in_both():
    x = np.random.default_rng(1).uniform(0.5, 2.0, size=(32, 10, 16)).astype(np.float32)
    mk = kept_mask(
        x,
        as_np(
            keras.layers.Dropout(0.5, noise_shape=(None, 1, 16), seed=2)(
                x, training=True
            )
        ),
    )
    md = kept_mask(x, dropout_lib.dropout(x, 0.5, rng=2, noise_shape=(None, 1, None)))
    for m in (mk, md):
        assert shared_along(m, 1)
        assert not shared_along(m, 0) and not shared_along(m, 2)


def test_spatial_dropout_2d_drops_whole_channels():
    x = (
        np.random.default_rng(2)
        .uniform(0.5, 2.0, size=(16, 6, 6, 8))
        .astype(np.float32)
    )
    m = kept_mask(
        x, as_np(keras.layers.SpatialDropout2D(0.5, seed=4)(x, training=True))
    )
    assert shared_along(m, (1, 2))
    assert not shared_along(m, (0,))


# ---------------------------------------------------------------- the tutorial's model


def test_fit_tutorial_both_frameworks_short_run():
    data = synthetic_classification()
    names = {
        f"{split}_{m}"
        for split in ("train", "val", "test", "train_eval")
        for m in ("loss", "acc")
    }
    rk = fit_tutorial_keras(data, [0, 1], epochs=2)
    rt = fit_tutorial_torch(data, [0, 1], epochs=2)
    for runs, config in ((rk, "Keras 3"), (rt, "PyTorch")):
        assert [r.seed for r in runs] == [0, 1]
        for r in runs:
            assert isinstance(r, Run) and r.config == config
            assert set(r.history.metrics) == names and r.history.epochs == 2
            assert (
                0.5 < r.final("test_acc") <= 1 and 0.5 < r.final("train_eval_acc") <= 1
            )
            assert 0.5 < r.extra["train_thinned_acc"] <= 1
            assert r.gap() == r.final("train_eval_acc") - r.final("test_acc")
            assert r.model is not None
    again = fit_tutorial_keras(data, [0], epochs=2)[0]
    assert again.history.metrics == rk[0].history.metrics
    no_dropout = fit_tutorial_torch(data, [0], epochs=2, rate=0.0)[0]
    assert no_dropout.extra["train_thinned_acc"] == no_dropout.final("train_eval_acc")
    assert THINNED_DRAWS >= 1


def test_fit_tutorial_keras_logged_metrics_match_evaluate():
    """The callback's test accuracy equals Keras's own evaluate on the same model."""
    data = synthetic_classification()
    r = fit_tutorial_keras(data, [3], epochs=1)[0]
    _, acc = r.model.evaluate(data.x_test, data.y_test.astype("float32"), verbose=0)
    assert r.final("test_acc") == pytest.approx(acc, abs=1e-6)


def test_fit_tutorial_argument_errors():
    data = synthetic_classification()
    with pytest.raises(ValueError, match="seeds"):
        fit_tutorial_keras(data, [-1], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit_tutorial_keras(data, [0], epochs=0)


def test_tutorial_keras_model_layout_and_seeding():
    m = tutorial_keras_model(seed=5)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [
        layer.rate for layer in m.layers if kinds[m.layers.index(layer)] == "Dropout"
    ] == [0.5, 0.5]
    m2 = tutorial_keras_model(seed=5)
    for a, b in zip(m.get_weights(), m2.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert [
        type(layer).__name__ for layer in tutorial_keras_model(rate=0.0).layers
    ] == ["Dense"] * 3


def test_tutorial_keras_model_errors():
    with pytest.raises(ValueError, match="rate"):
        tutorial_keras_model(rate=1.5)
    with pytest.raises(ValueError, match="hidden"):
        tutorial_keras_model(hidden=(64, 0))
    with pytest.raises(ValueError, match="seed"):
        tutorial_keras_model(seed=-1)
    with pytest.raises(TypeError, match="seed"):
        tutorial_keras_model(seed=1.5)


def test_mlp_from_keras_computes_the_same_function():
    m = tutorial_keras_model(seed=1)
    before = [w.copy() for w in m.get_weights()]
    x = np.random.default_rng(3).normal(size=(100, 20)).astype(np.float32)
    mlp = mlp_from_keras(m)
    assert not mlp.training and mlp.rates == [0.5, 0.5]
    with torch.no_grad():
        p_torch = torch.sigmoid(mlp(torch.from_numpy(x))).numpy()
    p_keras = as_np(m.predict(x, verbose=0)).ravel()
    assert np.max(np.abs(p_torch - p_keras)) < 1e-5
    for a, b in zip(before, m.get_weights(), strict=True):
        assert np.array_equal(a, b)


def test_mlp_from_keras_rejects_single_dense():
    m = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="two Dense"):
        mlp_from_keras(m)
