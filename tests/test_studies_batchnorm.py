"""Tests for dropout_lib.studies.batchnorm (chapter 6's data preparation and runs)."""

import numpy as np
import pytest
import torch

from dropout_lib.reproducibility import get_device
from dropout_lib.stats import mean_sd
from dropout_lib.studies.batchnorm import (
    downsample_images,
    neighbourhood_r2,
    run_cnn_seeds,
)
from dropout_lib.training import Run, final_values


def test_downsample_averages_blocks_and_keeps_input():
    img = np.arange(16, dtype=np.uint8).reshape(1, 4, 4)
    img0 = img.copy()
    out = downsample_images(img, 2)
    assert out.shape == (1, 1, 2, 2) and out.dtype == torch.float32
    expected = (
        np.array([[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
        / 4
        / 255
    )
    assert np.allclose(out[0, 0].numpy(), expected)
    assert np.array_equal(img, img0)
    assert downsample_images(img, 1).shape == (1, 1, 4, 4)


@pytest.mark.parametrize(
    "images, factor, exc, word",
    [
        (np.zeros((1, 4, 4), np.uint8), 0, ValueError, "factor"),
        (np.zeros((1, 4, 4), np.uint8), 2.0, TypeError, "factor"),
        (np.zeros((1, 5, 4), np.uint8), 2, ValueError, "factor"),
        (np.zeros((4, 4), np.uint8), 2, ValueError, "images"),
        (np.zeros((1, 4, 4), np.float32), 2, TypeError, "images"),
    ],
)
def test_downsample_errors(images, factor, exc, word):
    with pytest.raises(exc, match=word):
        downsample_images(images, factor)


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(128, 1, 8, 8, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    return (x, y, x[:64], y[:64])


KW = dict(epochs=3, channels=(2, 4), pools=1, lr=1e-2, batch_size=32)


def test_runs_are_course_runs_reproducible_on_cpu():
    cpu = torch.device("cpu")
    a = run_cnn_seeds("bn", {"norm": "batch"}, _data(), seeds=[3, 4], device=cpu, **KW)
    b = run_cnn_seeds("bn", {"norm": "batch"}, _data(), seeds=[3, 4], device=cpu, **KW)
    assert all(isinstance(r, Run) for r in a) and [r.seed for r in a] == [3, 4]
    assert a[0].config == "bn" and a[0].extra["config"] == {"norm": "batch"}
    assert list(final_values(a, "test_acc")) == list(final_values(b, "test_acc"))
    r = a[0]
    assert r.gap() == pytest.approx(r.final("train_eval_acc") - r.final("test_acc"))
    assert not r.model.training
    assert 0.0 <= r.final("test_acc") <= 1.0
    assert len(r.history["train_loss"]) == 3 and len(r.history["test_acc"]) == 1
    assert mean_sd(final_values(a, "train_eval_acc")).n == 2


def test_runs_on_the_default_device():
    runs = run_cnn_seeds("none", {}, _data(), seeds=[0], **KW)
    assert next(runs[0].model.parameters()).device.type == get_device().type
    assert np.isfinite(runs[0].final("test_loss"))


def test_run_errors():
    x = torch.rand(8, 1, 8, 8)
    y = torch.zeros(8, dtype=torch.long)
    with pytest.raises(TypeError, match="config"):
        run_cnn_seeds("x", [("norm", "batch")], (x, y, x, y), seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="data"):
        run_cnn_seeds("x", {}, (x, y), seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="x_train"):
        run_cnn_seeds("x", {}, (x[:, 0], y, x, y), seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="seeds"):
        run_cnn_seeds("x", {}, (x, y, x, y), seeds=[], epochs=1)


def test_runs_measure_the_validation_split():
    data = _data()
    runs = run_cnn_seeds(
        "none", {}, data, seeds=[0], val=(data[0][64:], data[1][64:]), **KW
    )
    assert 0.0 <= runs[0].final("val_acc") <= 1.0
    with pytest.raises(ValueError, match="val"):
        run_cnn_seeds("none", {}, data, seeds=[0], val=(data[0],), **KW)


def test_neighbourhood_r2_channel_copies_and_smooth_maps():
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(40, 1, 8, 8, generator=gen)
    # channel 1 is a copy of channel 0: each recovers the other exactly
    h = torch.cat([base, base, torch.rand(40, 1, 8, 8, generator=gen)], 1)
    h0 = h.clone()
    r2 = neighbourhood_r2(h, own=False)
    assert r2.shape == (3,) and torch.equal(h, h0)
    assert r2[0] > 0.999 and r2[1] > 0.999 and r2[2] < 0.1
    # a smooth single-source map: its own neighbours recover it, noise does not
    smooth = torch.nn.functional.avg_pool2d(
        torch.rand(40, 1, 12, 12, generator=gen), 5, stride=1
    )
    noise = torch.rand(40, 1, 8, 8, generator=gen)
    h2 = torch.cat([smooth, noise], 1)
    with_own, without = neighbourhood_r2(h2, True), neighbourhood_r2(h2, False)
    assert with_own[0] > 0.6 and without[0] < 0.1
    assert np.all(with_own >= without - 0.02)


def test_neighbourhood_r2_errors_and_constant_channel():
    h = torch.rand(8, 2, 4, 4)
    h[:, 1] = 1.0
    assert np.isnan(neighbourhood_r2(h, own=True)[1])
    with pytest.raises(ValueError, match="h"):
        neighbourhood_r2(torch.rand(8, 4, 4), own=True)
    with pytest.raises(ValueError, match="channels"):
        neighbourhood_r2(torch.rand(8, 1, 4, 4), own=True)
    with pytest.raises(TypeError, match="own"):
        neighbourhood_r2(h, own=1)
