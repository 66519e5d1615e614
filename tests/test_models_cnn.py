"""Tests for dropout_lib.models.SmallCNN."""

import pytest
import torch
from torch import nn

from dropout_lib.models import MLP, SmallCNN
from dropout_lib.nn import DropBlock, Dropout, Dropout2d
from dropout_lib.reproducibility import get_device


def _types(model):
    return [type(m) for m in model.features]


def test_default_layout_and_output_shape():
    m = SmallCNN()
    assert m(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert m(torch.zeros(5, 28, 28)).shape == (5, 10)  # channel axis added
    assert _types(m).count(nn.Conv2d) == 3
    assert _types(m).count(nn.MaxPool2d) == 2
    assert not any(
        isinstance(x, (nn.BatchNorm2d, Dropout, Dropout2d)) for x in m.modules()
    )


def test_batchnorm_between_conv_and_activation_and_no_conv_bias():
    m = SmallCNN((4, 8), norm="batch", pools=1, image_size=14)
    t = _types(m)
    assert t[:3] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert all(c.bias is None for c in m.modules() if isinstance(c, nn.Conv2d))
    assert m(torch.zeros(3, 1, 14, 14)).shape == (3, 10)


@pytest.mark.parametrize(
    "kind, cls", [("element", Dropout), ("channel", Dropout2d), ("block", DropBlock)]
)
def test_dropout_between_convolutions_only(kind, cls):
    m = SmallCNN((4, 8, 8), dropout=0.3, dropout_kind=kind)
    t = _types(m)
    drops = [i for i, x in enumerate(t) if x is cls]
    assert len(drops) == 2  # after blocks 1 and 2, not after the last conv
    assert all(t[i - 1] is nn.ReLU for i in drops)
    assert not any(isinstance(x, (Dropout, Dropout2d)) for x in m.head)


def test_head_dropout_after_last_bn():
    m = SmallCNN((4, 8), norm="batch", head_dropout=0.5, pools=1, image_size=14)
    assert isinstance(m.head[1], Dropout) and m.head[1].p == 0.5
    assert not any(isinstance(x, (Dropout, Dropout2d)) for x in m.features)


def test_eval_is_deterministic_and_train_is_not():
    torch.manual_seed(0)
    m = SmallCNN((4, 8), dropout=0.5, pools=1, image_size=14)
    x = torch.rand(6, 1, 14, 14)
    m.eval()
    assert torch.equal(m(x), m(x))
    m.train()
    assert not torch.equal(m(x), m(x))


def test_config_recorded():
    m = SmallCNN((4, 8), dropout=0.2, dropout_kind="channel", pools=1, image_size=14)
    assert m.config["dropout"] == 0.2 and m.config["dropout_kind"] == "channel"


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(channels=()), ValueError, "channels"),
        (dict(channels=(4, 0)), ValueError, "channels"),
        (dict(norm="layer"), ValueError, "norm"),
        (dict(dropout_kind="spatial"), ValueError, "dropout_kind"),
        (dict(channels=(4, 2.0)), TypeError, "channels"),
        (dict(block_size=0), ValueError, "block_size"),
        (dict(pools=-1), ValueError, "pools"),
        (dict(dropout=1.5), ValueError, "dropout"),
        (dict(dropout="x"), TypeError, "dropout"),
        (dict(head_dropout=-0.1), ValueError, "head_dropout"),
        (dict(pools=5), ValueError, "pools"),
        (dict(image_size=28, pools=3), ValueError, "image_size"),
        (dict(n_classes=0), ValueError, "n_classes"),
    ],
)
def test_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        SmallCNN(**kwargs)


def test_mlp_untouched():
    assert MLP(4, [3], 2)(torch.zeros(1, 4)).shape == (1, 2)


def test_dropblock_config_and_size():
    m = SmallCNN((4, 8), dropout=0.1, dropout_kind="block", block_size=2, pools=1)
    blocks = [x for x in m.features if isinstance(x, DropBlock)]
    assert len(blocks) == 1 and blocks[0].block_size == 2 and blocks[0].p == 0.1
    assert m.config["block_size"] == 2 and m.config["dropout_kind"] == "block"


def test_runs_on_the_default_device():
    device = get_device()
    m = SmallCNN((4, 8), norm="batch", dropout=0.2, dropout_kind="block", pools=1)
    m = m.to(device).train()
    out = m(torch.rand(4, 1, 28, 28, device=device))
    assert out.shape == (4, 10) and out.device.type == device.type
