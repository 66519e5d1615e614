"""Tests for dropout_lib.exercises.practice (chapter 10's checkers)."""

import pytest
import torch
from torch import nn

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.practice import check_keep_to_drop


class ClassicDropout(nn.Module):
    """Drops with probability p but does not rescale (classic dropout)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (torch.rand_like(x) >= self.p)


def test_reference_passes_and_leaves_the_rng_alone():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    assert check_keep_to_drop(nn.Dropout(p=1 - 0.9), nn.Dropout(p=1 - 0.6))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_layers_in_eval_mode_are_measured_in_training_mode_and_restored():
    a, b = nn.Dropout(0.1).eval(), nn.Dropout(0.4).eval()
    assert check_keep_to_drop(a, b)
    assert not a.training and not b.training


@pytest.mark.parametrize(
    "inputs_layer, hidden_layer",
    [
        (nn.Dropout(0.9), nn.Dropout(0.6)),  # keep probabilities used as p
        (nn.Dropout(0.4), nn.Dropout(0.1)),  # the two layers swapped
        (nn.Identity(), nn.Dropout(0.4)),  # no input dropout
        (ClassicDropout(0.1), ClassicDropout(0.4)),  # right zeros, no 1/q scale
        (nn.Dropout(0.1), nn.Dropout(0.5)),  # hidden rate off by 0.1
    ],
)
def test_wrong_answers_fail(inputs_layer, hidden_layer):
    with pytest.raises(CheckFailed):
        check_keep_to_drop(inputs_layer, hidden_layer)


def test_other_keep_probabilities():
    assert check_keep_to_drop(nn.Dropout(0.2), nn.Dropout(0.5), 0.8, 0.5)
    with pytest.raises(CheckFailed):
        check_keep_to_drop(nn.Dropout(0.8), nn.Dropout(0.5), 0.8, 0.5)


@pytest.mark.parametrize(
    "kwargs, exc",
    [({"keep_inputs": 0.0}, ValueError), ({"keep_hidden": "0.5"}, TypeError)],
)
def test_checker_misuse(kwargs, exc):
    with pytest.raises(exc):
        check_keep_to_drop(nn.Dropout(0.1), nn.Dropout(0.4), **kwargs)
    with pytest.raises(TypeError):
        check_keep_to_drop(lambda x: x, nn.Dropout(0.4))  # type: ignore[arg-type]
