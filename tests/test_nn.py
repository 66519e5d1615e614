"""Tests for dropout_lib.nn: our PyTorch Dropout and ClassicDropout layers."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.nn import ClassicDropout, Dropout, keep_mask

Z = 6.0


def test_eval_mode_is_identity_and_train_mode_drops():
    layer = Dropout(0.5)
    x = torch.ones(10_000)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    out = layer(x)
    assert set(out.unique().tolist()) == {0.0, 2.0}


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0.01, 0.99), seed=st.integers(0, 10_000))
def test_backward_equals_mask_times_scale(p, seed):
    gen = torch.Generator().manual_seed(seed)
    layer = Dropout(p, generator=gen)
    x = (
        torch.rand(500, dtype=torch.float64) + 0.5
    )  # no zeros, so out != 0 marks kept entries
    x.requires_grad_(True)
    out = layer(x)
    out.sum().backward()
    mask = (out != 0).double()
    torch.testing.assert_close(x.grad, mask / (1 - p))
    torch.testing.assert_close(out, mask * x / (1 - p))


def test_gradient_against_autograd_of_explicit_formula():
    torch.manual_seed(0)
    x = torch.randn(200, 30, dtype=torch.float64, requires_grad=True)
    w = torch.randn(30, dtype=torch.float64)
    layer = Dropout(0.3, generator=torch.Generator().manual_seed(1))
    (layer(x) @ w).sum().backward()
    mask = keep_mask(x, 0.7, torch.Generator().manual_seed(1)).double()
    x2 = x.detach().clone().requires_grad_(True)
    ((x2 * mask / 0.7) @ w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_statistics_match_torch_functional_dropout(p):
    n = 400_000
    x = torch.ones(n)
    torch.manual_seed(0)
    ours = Dropout(p)(x)
    theirs = F.dropout(x, p, training=True)
    tol = Z * math.sqrt(2 * p * (1 - p) / n)  # difference of two independent fractions
    assert (
        abs((ours == 0).float().mean().item() - (theirs == 0).float().mean().item())
        < tol
    )
    assert abs((ours == 0).float().mean().item() - p) < Z * math.sqrt(p * (1 - p) / n)
    # kept values carry the same scale factor 1 / (1 - p)
    torch.testing.assert_close(ours[ours != 0].unique(), theirs[theirs != 0].unique())


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64]
)
def test_dtype_preserved(dtype):
    x = torch.ones(100, dtype=dtype)
    assert Dropout(0.5)(x).dtype == dtype
    assert ClassicDropout(0.5)(x).dtype == dtype
    assert ClassicDropout(0.5).eval()(x).dtype == dtype


def test_mask_is_built_on_the_input_device():
    # the meta device stands in for a GPU: a mask made on the CPU would fail to combine
    # with it
    x = torch.empty(4, 5, device="meta")
    assert keep_mask(x, 0.5).device.type == "meta"
    assert Dropout(0.5)(x).device.type == "meta"
    assert ClassicDropout(0.5)(x).device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_gpu():
    x = torch.ones(1000, device="cuda")
    assert Dropout(0.5)(x).device.type == "cuda"


def test_p_edge_cases():
    x = torch.tensor([float("inf"), -1.0, 2.0], requires_grad=True)
    out = Dropout(1.0)(x)
    assert torch.equal(out, torch.zeros(3))
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros(3))
    assert Dropout(0.0)(x) is x
    assert torch.equal(ClassicDropout(1.0).eval()(x.detach()), torch.zeros(3))
    assert torch.equal(ClassicDropout(0.0)(x.detach()), x.detach())


def test_classic_dropout_train_and_eval():
    x = torch.arange(1.0, 1001.0)
    layer = ClassicDropout(0.25)
    out = layer(x)
    kept = out != 0
    assert torch.equal(out[kept], x[kept])
    layer.eval()
    torch.testing.assert_close(layer(x), 0.75 * x)


def test_model_eval_switches_nested_layers():
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 3), Dropout(0.5), ClassicDropout(0.5)
    )
    model.eval()
    assert not model[1].training and not model[2].training


@pytest.mark.parametrize("cls", [Dropout, ClassicDropout])
def test_validation_messages(cls):
    with pytest.raises(ValueError, match=r"p must be .*\[0, 1\].*got p=1.5"):
        cls(1.5)
    with pytest.raises(TypeError, match="p must be a real number"):
        cls("0.5")
    assert "p=0.3" in repr(cls(0.3))


# --- modes: DROPOUT_TYPES, preserve_modes, dropout_active -----------------


def _mixed_model():
    from torch import nn as tnn

    from dropout_lib.nn import ClassicDropout, Dropout, Dropout2d

    return tnn.Sequential(
        tnn.Linear(4, 8),
        tnn.BatchNorm1d(8),
        tnn.Dropout(0.5),
        Dropout(0.3),
        ClassicDropout(0.2),
        tnn.Linear(8, 2),
        Dropout2d(0.1),
    )


def test_dropout_types_include_torch_and_course_layers():
    from torch import nn as tnn

    from dropout_lib.nn import ClassicDropout, Dropout, Dropout2d, is_dropout

    for layer in (
        tnn.Dropout(),
        tnn.Dropout2d(),
        tnn.AlphaDropout(),
        Dropout(),
        ClassicDropout(),
        Dropout2d(),
    ):
        assert is_dropout(layer)
    for layer in (tnn.Linear(2, 2), tnn.BatchNorm1d(2), tnn.ReLU()):
        assert not is_dropout(layer)


@pytest.mark.parametrize("others", ["keep", "eval"])
def test_dropout_active_turns_on_only_dropout_and_restores_each_mode(others):
    from dropout_lib.nn import dropout_active, is_dropout

    model = _mixed_model()
    model.eval()
    model[1].train()  # a mixed state: BatchNorm in training mode, the rest in eval
    before = [m.training for m in model.modules()]
    with dropout_active(model, others=others) as m:
        for mod in m.modules():
            if is_dropout(mod):
                assert mod.training
        assert m[1].training is (others == "keep")
        assert not m[0].training
    assert [m.training for m in model.modules()] == before


def test_dropout_active_restores_after_exception():
    from dropout_lib.nn import dropout_active

    model = _mixed_model()
    model.train()
    with pytest.raises(RuntimeError):
        with dropout_active(model, others="eval"):
            raise RuntimeError("boom")
    assert all(m.training for m in model.modules())


def test_preserve_modes_restores_mixed_modes():
    from dropout_lib.nn import preserve_modes

    model = _mixed_model()
    model.train()
    model[2].eval()
    before = [m.training for m in model.modules()]
    with preserve_modes(model):
        model.eval()
    assert [m.training for m in model.modules()] == before


def test_mode_helpers_reject_bad_arguments():
    from dropout_lib.nn import dropout_active, preserve_modes

    with pytest.raises(TypeError, match="model"):
        with preserve_modes("not a model"):
            pass
    with pytest.raises(ValueError, match="others"):
        with dropout_active(_mixed_model(), others="train"):
            pass


# --- layout, dtype and the edge cases torch's own dropout tests ask about ----------


@pytest.mark.parametrize("layer", [Dropout, ClassicDropout])
@pytest.mark.parametrize("training", [True, False])
def test_layers_keep_the_memory_format(layer, training):
    x = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
    m = layer(0.3).train(training)
    y = m(x)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert (
        torch.nn.Dropout(0.3)
        .train(training)(x)
        .is_contiguous(memory_format=torch.channels_last)
    )  # what torch does, for comparison


def test_keep_mask_is_unchanged_for_contiguous_inputs():
    x = torch.empty(7, 11)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(keep_mask(x, 0.6, g1), torch.rand(x.shape, generator=g2) < 0.6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("layer", [Dropout, ClassicDropout])
def test_layers_keep_dtype_and_handle_non_contiguous_input(layer, dtype):
    base = torch.randn(6, 8, dtype=dtype)
    before = base.clone()
    x = base.t()  # not contiguous
    y = layer(0.5, generator=torch.Generator().manual_seed(0))(x)
    assert y.dtype == dtype and y.shape == x.shape
    kept = y != 0
    scale = 2.0 if layer is Dropout else 1.0
    assert torch.equal(y[kept], (x * scale)[kept])
    assert torch.equal(base, before)  # the input was not changed in place


@pytest.mark.parametrize("layer", [Dropout, ClassicDropout])
def test_p_zero_and_one_and_eval(layer):
    x = torch.randn(5, 4)
    assert torch.equal(layer(0.0)(x), x)
    assert torch.equal(layer(1.0)(x), torch.zeros_like(x))
    expected_eval = x if layer is Dropout else x * 0.7
    assert torch.allclose(layer(0.3).eval()(x), expected_eval)


@pytest.mark.parametrize("cls", [Dropout, ClassicDropout])
def test_generator_is_keyword_only(cls):
    # torch.nn.Dropout's second positional argument is `inplace`
    with pytest.raises(TypeError):
        cls(0.5, torch.Generator())
    g = torch.Generator()
    assert cls(0.5, generator=g).generator is g


@pytest.mark.parametrize("keep_prob", [-0.1, 1.5, float("nan"), "0.5"])
def test_public_mask_functions_check_keep_prob(keep_prob):
    from dropout_lib.nn import block_keep_mask, channel_keep_mask, keep_mask

    x = torch.ones(2, 3, 4, 4)
    for draw in (keep_mask, channel_keep_mask):
        with pytest.raises((ValueError, TypeError), match="keep_prob"):
            draw(x, keep_prob)
    with pytest.raises((ValueError, TypeError), match="keep_prob"):
        block_keep_mask(x, keep_prob, 2)


def test_public_mask_functions_check_x():
    from dropout_lib.nn import block_keep_mask, channel_keep_mask, keep_mask

    for draw in (keep_mask, channel_keep_mask):
        with pytest.raises(TypeError, match="x must be a torch.Tensor"):
            draw([[1.0, 2.0]], 0.5)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        block_keep_mask([[1.0]], 0.5, 2)


@pytest.mark.parametrize("layer_cls", ["Dropout", "Dropout2d", "ClassicDropout"])
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_inplace_matches_out_of_place_and_overwrites_x(layer_cls, p):
    import dropout_lib.nn as dnn

    cls = getattr(dnn, layer_cls)
    x = torch.randn(4, 3, 5, 5)
    x[0, 0, 0, 0] = float("inf")
    for training in (True, False):
        out_of_place = cls(p, generator=torch.Generator().manual_seed(7))
        in_place = cls(p, True, generator=torch.Generator().manual_seed(7))
        out_of_place.train(training)
        in_place.train(training)
        expected = out_of_place(x.clone())
        y = x.clone()
        got = in_place(y)
        assert got is y
        assert torch.equal(got, expected)


def test_inplace_argument_and_repr():
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"
    assert repr(Dropout(0.2, True)) == "Dropout(p=0.2, inplace=True)"
    with pytest.raises(TypeError, match="inplace"):
        Dropout(0.2, "yes")
    with pytest.raises(TypeError):
        Dropout(0.2, True, torch.Generator())  # generator is keyword-only
    leaf = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        Dropout(0.5, inplace=True).train()(leaf)
