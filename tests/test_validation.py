import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dropout_lib.validation import check_probability, check_real_array, float_dtype_for


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
