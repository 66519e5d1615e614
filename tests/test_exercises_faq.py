"""`exercises.faq.check_locked_dropout` against the right answer and the wrong ones
learners write for variational (locked) dropout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dropout_lib.exercises import CheckFailed
from dropout_lib.exercises.faq import check_locked_dropout


def locked(x, p, generator):
    n, _, f = x.shape
    keep = torch.rand(n, 1, f, generator=generator, device=x.device) >= p
    return torch.where(
        keep, x / (1 - p) if p < 1 else x, torch.zeros((), dtype=x.dtype)
    )


def test_the_right_answer_passes():
    assert check_locked_dropout(locked) is True


def _shape_mask(shape_of):
    def fn(x, p, generator):
        keep = torch.rand(shape_of(x), generator=generator) >= p
        scale = 1 / (1 - p) if p < 1 else 0.0
        return torch.where(keep, x * scale, torch.zeros(()))

    return fn


WRONG = {
    # a fresh mask at every time step: ordinary dropout
    "per step": _shape_mask(lambda x: x.shape),
    # one mask for the whole batch
    "shared across sequences": _shape_mask(lambda x: (1, 1, x.shape[2])),
    # one coin per sequence: all features dropped together
    "one coin per sequence": _shape_mask(lambda x: (x.shape[0], 1, 1)),
    # ignores the generator: the global one
    "global generator": lambda x, p, g: locked(x, p, None),
    # re-seeds inside: the same mask whatever generator it is given
    "re-seeded": lambda x, p, g: locked(x, p, torch.Generator().manual_seed(0)),
    # keeps with probability p instead of 1 - p (and divides by p)
    "keep p": lambda x, p, g: (
        locked(x, 1 - p, g) * (1 - p) / p if p > 0 else torch.zeros_like(x)
    ),
    # no 1/(1 - p) scale
    "no scale": lambda x, p, g: locked(x, p, g) * (1 - p),
    # x * mask / (1 - p): NaN at p = 1 (and inf * 0 = NaN)
    "nan at p=1": lambda x, p, g: (
        x * (torch.rand(x.shape[0], 1, x.shape[2], generator=g) >= p) / (1 - p)
        if p < 1
        else x * 0.0 / 0.0
    ),
    # the right mask, written into its input
    "in place": lambda x, p, g: x.copy_(locked(x, p, g)),
    # a mask drawn from the data instead of the generator
    "mask from x": lambda x, p, g: F.dropout(x, p) if p < 1 else torch.zeros_like(x),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_the_wrong_answers_fail(name):
    with pytest.raises(CheckFailed):
        check_locked_dropout(WRONG[name])


def test_a_crash_is_a_failed_property_and_a_non_callable_a_type_error():
    def crashes(x, p, g):
        raise RuntimeError("boom")

    with pytest.raises(CheckFailed, match="boom"):
        check_locked_dropout(crashes)
    with pytest.raises(TypeError, match="callable"):
        check_locked_dropout(3)  # type: ignore[arg-type]


def test_each_wrong_answer_fails_for_its_own_reason():
    expected = {
        "per step": "time step",
        "shared across sequences": "neighbouring sequences",
        "one coin per sequence": "neighbouring features",
        "global generator": "generator",
        "re-seeded": "two generator seeds",
        "keep p": "p=0: the output must equal x",
        "no scale": "1 / (1 - p)",
        "nan at p=1": "p=1",
        "in place": "modified its input",
    }
    for name, words in expected.items():
        with pytest.raises(
            CheckFailed, match=words.replace("(", r"\(").replace(")", r"\)")
        ):
            check_locked_dropout(WRONG[name])
