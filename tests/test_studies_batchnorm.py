"""Tests for dropout_lib.cnn_study."""

import numpy as np
import pytest
import torch

from dropout_lib.cnn_study import CNNRun, downsample_images, run_cnn, summarise


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
        (np.zeros((1, 5, 4), np.uint8), 2, ValueError, "factor"),
        (np.zeros((4, 4), np.uint8), 2, ValueError, "images"),
        (np.zeros((1, 4, 4), np.float32), 2, TypeError, "images"),
    ],
)
def test_downsample_errors(images, factor, exc, word):
    with pytest.raises(exc, match=word):
        downsample_images(images, factor)


def _runs():
    m = torch.nn.Linear(1, 1)
    return [
        CNNRun("a", 0, 0.9, 0.8, m),
        CNNRun("a", 1, 0.8, 0.6, m),
        CNNRun("b", 0, 0.5, 0.5, m),
    ]


def test_summarise_mean_std_and_order():
    s = summarise(_runs())
    assert list(s) == ["a", "b"]
    assert s["a"]["test_mean"] == pytest.approx(0.7)
    assert s["a"]["test_std"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert s["a"]["gap_mean"] == pytest.approx(0.15)
    assert s["a"]["n"] == 2 and np.isnan(s["b"]["test_std"])
    assert _runs()[0].gap == pytest.approx(0.1)


def test_summarise_type_error():
    with pytest.raises(TypeError, match="CNNRun"):
        summarise([1.0])


def test_run_cnn_reproducible_and_learns():
    torch.manual_seed(0)
    x = torch.rand(128, 1, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    data = (x, y, x[:64], y[:64])
    kw = dict(seed=3, epochs=3, channels=(2, 4), pools=1, lr=1e-2, batch_size=32)
    a = run_cnn("bn", {"norm": "batch"}, data, **kw)
    b = run_cnn("bn", {"norm": "batch"}, data, **kw)
    assert a.train_acc == b.train_acc and a.test_acc == b.test_acc
    assert not a.model.training
    assert 0.0 <= a.test_acc <= 1.0


def test_run_cnn_errors():
    x = torch.rand(8, 1, 8, 8)
    y = torch.zeros(8, dtype=torch.long)
    with pytest.raises(TypeError, match="config"):
        run_cnn("x", [("norm", "batch")], (x, y, x, y), seed=0, epochs=1)
    with pytest.raises(ValueError, match="data"):
        run_cnn("x", {}, (x, y), seed=0, epochs=1)
    with pytest.raises(ValueError, match="x_train"):
        run_cnn("x", {}, (x[:, 0], y, x, y), seed=0, epochs=1)
