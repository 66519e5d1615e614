"""Early, late and standard dropout schedules (Liu et al. 2023)."""

import numpy as np
import pytest

from dropout_lib.schedules import SCHEDULE_KINDS, dropout_schedule


def curve(kind, epochs, p, cutoff):
    return [dropout_schedule(kind, e, epochs, p, cutoff) for e in range(epochs)]


def test_early_linear_is_the_authors_linspace_then_zeros():
    for epochs in range(1, 9):
        for cutoff in range(epochs + 1):
            want = np.concatenate(
                [np.linspace(0.3, 0, cutoff), np.zeros(epochs - cutoff)]
            )
            assert np.allclose(curve("early_linear", epochs, 0.3, cutoff), want)
    assert curve("early_linear", 10, 0.3, 4)[:5] == pytest.approx([0.3, 0.2, 0.1, 0, 0])


def test_late_early_none_standard():
    assert curve("late", 6, 0.2, 2) == [0, 0, 0.2, 0.2, 0.2, 0.2]
    assert curve("early", 6, 0.2, 2) == [0.2, 0.2, 0, 0, 0, 0]
    assert curve("standard", 3, 0.2, 1) == [0.2] * 3
    assert curve("none", 3, 0.2, 1) == [0.0] * 3
    # the edges: cutoff 0 and cutoff = epochs
    assert curve("late", 3, 0.2, 0) == [0.2] * 3
    assert curve("late", 3, 0.2, 3) == [0.0] * 3
    assert curve("early", 3, 0.2, 0) == [0.0] * 3
    assert curve("early_linear", 3, 0.2, 1) == [0.2, 0, 0]
    assert set(SCHEDULE_KINDS) == {"none", "standard", "early", "early_linear", "late"}


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("middle", 0, 5, 0.1, 1), ValueError, "kind"),
        ((None, 0, 5, 0.1, 1), ValueError, "kind"),
        (("early", 5, 5, 0.1, 1), ValueError, "epoch"),
        (("early", -1, 5, 0.1, 1), ValueError, "epoch"),
        (("early", 0, 0, 0.1, 0), ValueError, "epochs"),
        (("late", 0, 5, 0.1, 6), ValueError, "cutoff"),
        (("late", 0, 5, 0.1, -1), ValueError, "cutoff"),
        (("standard", 0, 5, 0.1, 6), ValueError, "cutoff"),
        (("late", 0, 5, 1.5, 1), ValueError, "p"),
        (("late", 0, 5, -0.1, 1), ValueError, "p"),
        (("late", 1.0, 5, 0.1, 1), TypeError, "epoch"),
        (("late", True, 5, 0.1, 1), TypeError, "epoch"),
        (("late", 0, 5, "0.1", 1), TypeError, "p"),
    ],
)
def test_argument_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        dropout_schedule(*args)
