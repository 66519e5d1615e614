"""Tests for dropout_lib.models.MLP: layout, dropout placement, validation, shapes."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dropout_lib.models import MLP
from dropout_lib.nn import ClassicDropout, Dropout


def kinds(model):
    return [type(m).__name__ for m in model]


def test_keras_tutorial_layout():
    model = MLP(20, [64, 64], 1, dropout=0.5)
    assert kinds(model) == [
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
        "Flatten",
    ]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (20, 64),
        (64, 64),
        (64, 1),
    ]
    assert all(
        isinstance(m, Dropout) and m.p == 0.5
        for m in model
        if type(m).__name__ == "Dropout"
    )
    assert model.rates == [0.5, 0.5]


def test_zero_rate_adds_no_dropout_layer():
    model = MLP(20, [8, 8], 3, dropout=0.0)
    assert not any(isinstance(m, Dropout) for m in model)
    assert kinds(model) == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_per_layer_rates_and_input_dropout():
    model = MLP(784, [256, 256], 10, dropout=[0.2, 0.0], input_dropout=0.1)
    drops = [m.p for m in model if isinstance(m, Dropout)]
    assert drops == [0.1, 0.2]
    assert isinstance(model[1], Dropout)  # input dropout right after Flatten


def test_custom_dropout_layer_and_activation():
    model = MLP(
        4, [3], 2, dropout=0.3, dropout_layer=ClassicDropout, activation=nn.Tanh
    )
    assert any(isinstance(m, ClassicDropout) for m in model)
    assert any(isinstance(m, nn.Tanh) for m in model)
    model = MLP(4, [3], 2, dropout=0.3, dropout_layer=nn.Dropout)
    assert any(isinstance(m, nn.Dropout) for m in model)


def test_output_shapes_binary_and_multiclass():
    x = torch.randn(7, 1, 28, 28)
    assert MLP(784, [16], 10)(x).shape == (7, 10)
    assert MLP(784, [16], 1)(x).shape == (7,)
    assert MLP(5, [], 1)(torch.randn(3, 5)).shape == (3,)


def test_eval_mode_is_deterministic_and_train_mode_is_not():
    torch.manual_seed(0)
    model = MLP(10, [50, 50], 2, dropout=0.5)
    x = torch.randn(4, 10)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    "hidden, exc",
    [([0], ValueError), ([-1], ValueError), ([2.5], TypeError), ([True], TypeError)]
    + [(["8"], TypeError)],
)
def test_bad_hidden_widths(hidden, exc):
    with pytest.raises(exc, match="hidden"):
        MLP(4, hidden, 1)


@pytest.mark.parametrize("dropout", [1.5, -0.1, float("nan")])
def test_bad_rates(dropout):
    with pytest.raises(ValueError, match="dropout"):
        MLP(4, [3], 1, dropout=dropout)


def test_wrong_number_of_rates():
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLP(4, [3, 3], 1, dropout=[0.1, 0.2, 0.3])


def test_bad_input_dropout():
    with pytest.raises(ValueError, match="input_dropout"):
        MLP(4, [3], 1, input_dropout=2.0)


def test_hidden_not_mutated():
    hidden = [4, 5]
    MLP(3, hidden, 1)
    assert hidden == [4, 5]


@settings(max_examples=25, deadline=None)
@given(
    in_f=st.integers(1, 12),
    hidden=st.lists(st.integers(1, 12), max_size=3),
    out_f=st.integers(1, 5),
    p=st.floats(0.0, 0.9),
)
def test_parameter_count_formula(in_f, hidden, out_f, p):
    """A Linear(a, b) holds (a + 1) * b parameters; dropout holds none."""
    model = MLP(in_f, hidden, out_f, dropout=p)
    widths = [in_f, *hidden, out_f]
    expected = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    assert sum(t.numel() for t in model.parameters()) == expected


def test_mlp_dropout_layers_in_forward_order_by_role():
    m = MLP(6, [5, 4, 3], 2, dropout=[0.1, 0.0, 0.3], input_dropout=0.2)
    rates = [layer.p for layer in m.dropout_layers]
    assert rates == [0.2, 0.1, 0.3]
    assert all(any(layer is child for child in m) for layer in m.dropout_layers)
    assert MLP(6, [5], 2).dropout_layers == ()
    # setting a rate through the property changes the model's own layer
    m.dropout_layers[1].p = 0.0
    assert [layer.p for layer in m.dropout_layers] == [0.2, 0.0, 0.3]
