import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dropout_lib.validation import (
    check_int,
    check_module,
    check_probability,
    check_real_array,
    check_seed,
    check_tensor,
    float_dtype_for,
)


@given(st.floats(0.0, 1.0))
def test_probabilities_pass_through(v):
    assert check_probability(v) == v


def test_message_names_argument_value_and_range():
    with pytest.raises(ValueError) as info:
        check_probability(1.5, "keep_prob")
    msg = str(info.value)
    assert "keep_prob" in msg and "1.5" in msg and "[0, 1]" in msg


@pytest.mark.parametrize("bad", [np.bool_(True), False, b"1", {}, np.array(0.5)])
def test_non_reals_rejected(bad):
    with pytest.raises(TypeError, match="p must be a real number"):
        check_probability(bad)


def test_float_dtype_for():
    assert float_dtype_for(np.dtype(np.float16)) == np.float16
    assert float_dtype_for(np.dtype(np.int16)) == np.float64
    assert float_dtype_for(np.dtype(np.bool_)) == np.float64


def test_check_real_array_ragged_list():
    with pytest.raises(TypeError, match="x must be"):
        check_real_array([[1, 2], [3]])


@pytest.mark.parametrize("value", [0, 3, np.int64(7), np.uint8(2)])
def test_check_int_accepts_integers(value):
    assert check_int(value, "n") == int(value) and type(check_int(value, "n")) is int


@pytest.mark.parametrize("bad", [True, np.bool_(False), 1.0, "3", None, np.array(2)])
def test_check_int_rejects_non_integers(bad):
    with pytest.raises(TypeError, match=r"n must be an integer >= 0; got n="):
        check_int(bad, "n")


def test_check_int_minimum_and_seed():
    assert check_int(-2, "axis", -3) == -2
    with pytest.raises(
        ValueError, match=r"epochs must be an integer >= 1; got epochs=0"
    ):
        check_int(0, "epochs", 1)
    assert check_seed(0) == 0
    with pytest.raises(ValueError, match="seed"):
        check_seed(-1)
    with pytest.raises(TypeError, match="seed"):
        check_seed(1.5)


def test_check_tensor_and_module():
    import torch

    t = torch.zeros(2, 3)
    assert check_tensor(t, "x", ndim=2) is t
    with pytest.raises(ValueError, match="x must have 3 axes"):
        check_tensor(t, "x", ndim=3)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        check_tensor(np.zeros(2), "x")
    m = torch.nn.Linear(2, 1)
    assert check_module(m) is m
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        check_module(t)


@pytest.mark.parametrize("name", ["p", "dropout1"])
def test_below_one_states_the_rule_once(name):
    assert check_probability(0.0, name, below_one=True) == 0.0
    assert check_probability(0.999, name, below_one=True) == 0.999
    with pytest.raises(ValueError, match=rf"{name} must be a probability below 1"):
        check_probability(1.0, name, below_one=True)
    with pytest.raises(ValueError, match=r"closed interval \[0, 1\]"):
        check_probability(1.5, name, below_one=True)
    assert check_probability(1.0, name) == 1.0


def _below_one_calls():
    import torch

    from dropout_lib import diagnostics, ensemble, equivalence, regularization
    from dropout_lib.exercises.mask_math import group_mean_variance
    from dropout_lib.studies.d2l import GaussianNoiseNet, gaussian_noise_layer

    x, w = torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)
    X, beta, y = np.ones((2, 2)), np.ones(2), np.array([0.0, 1.0])
    return {
        "next_layer_lr_scale": lambda: equivalence.next_layer_lr_scale(1.0, "sgd"),
        "next_layer_decay_scale": lambda: equivalence.next_layer_decay_scale(1.0),
        "side_by_side": lambda: equivalence.side_by_side(1.0),
        "variance_shift": lambda: diagnostics.variance_shift(0.0, 1.0, 1.0),
        "conv_variance_shift": lambda: diagnostics.conv_variance_shift(x, w, 1.0),
        "conv_variance_terms": lambda: diagnostics.conv_variance_terms(x, w, 1.0),
        "expected_loss": lambda: regularization.expected_dropout_logistic_loss(
            beta, X, y, 1.0
        ),
        "quadratic_penalty": lambda: regularization.dropout_quadratic_penalty(
            beta, X, 1.0
        ),
        "softmax_ensemble": lambda: ensemble.softmax_regression_ensemble(
            np.ones((2, 2)), np.zeros(2), X, 1.0
        ),
        "group_mean_variance": lambda: group_mean_variance(4, 2, 1.0),
        "gaussian_noise_layer": lambda: gaussian_noise_layer(torch.ones(3), 1.0),
        "GaussianNoiseNet": lambda: GaussianNoiseNet(0.2, 1.0),
    }


@pytest.mark.parametrize("name", sorted(_below_one_calls()))
def test_p_equal_one_gives_the_one_below_one_message(name):
    with pytest.raises(ValueError, match=r"must be a probability below 1, in \[0, 1\)"):
        _below_one_calls()[name]()
