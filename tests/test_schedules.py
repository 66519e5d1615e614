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


def authors_drop_scheduler(
    drop_rate, epochs, niter_per_ep, cutoff_epoch, mode, schedule
):
    # facebookresearch/dropout drop_scheduler.py, restated for the test
    if mode == "standard":
        return np.full(epochs * niter_per_ep, drop_rate)
    early_iters = cutoff_epoch * niter_per_ep
    late_iters = (epochs - cutoff_epoch) * niter_per_ep
    if mode == "early":
        if schedule == "constant":
            head = np.full(early_iters, drop_rate)
        else:
            head = np.linspace(drop_rate, 0, early_iters)
        return np.concatenate((head, np.full(late_iters, 0)))
    return np.concatenate((np.full(early_iters, 0), np.full(late_iters, drop_rate)))


def test_iteration_schedule_is_the_authors_drop_scheduler():
    from dropout_lib.schedules import iteration_schedule

    cases = {
        "standard": ("standard", "constant"),
        "early": ("early", "constant"),
        "early_linear": ("early", "linear"),
        "late": ("late", "constant"),
    }
    for epochs in (1, 3, 6):
        for n in (1, 2, 157):
            for cutoff in range(epochs + 1):
                for kind, (mode, sched) in cases.items():
                    got = iteration_schedule(kind, epochs, n, 0.25, cutoff)
                    want = authors_drop_scheduler(0.25, epochs, n, cutoff, mode, sched)
                    assert got.shape == want.shape
                    assert np.allclose(got, want, atol=1e-12, rtol=0)
                assert not iteration_schedule("none", epochs, n, 0.25, cutoff).any()


def test_iteration_schedule_with_one_iteration_per_epoch_is_dropout_schedule():
    from dropout_lib.schedules import iteration_schedule

    for kind in SCHEDULE_KINDS:
        for cutoff in range(7):
            got = iteration_schedule(kind, 6, 1, 0.3, cutoff)
            assert np.allclose(got, curve(kind, 6, 0.3, cutoff), atol=1e-12, rtol=0)
    # with many iterations per epoch the linear ramp is not a per-epoch step
    ramp = iteration_schedule("early_linear", 6, 100, 0.25, 2).reshape(6, 100)
    assert ramp[0].mean() == pytest.approx(0.25 * (1 - 49.5 / 199))
    assert 0 < ramp[1].mean() < ramp[0].mean() and not ramp[2:].any()


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("middle", 5, 2, 0.1, 1), ValueError, "kind"),
        (("early", 0, 2, 0.1, 0), ValueError, "epochs"),
        (("early", 5, 0, 0.1, 1), ValueError, "iters_per_epoch"),
        (("late", 5, 2, 0.1, 6), ValueError, "cutoff"),
        (("late", 5, 2, 1.5, 1), ValueError, "p"),
        (("late", 5, 2.0, 0.1, 1), TypeError, "iters_per_epoch"),
    ],
)
def test_iteration_schedule_argument_errors(args, exc, match):
    from dropout_lib.schedules import iteration_schedule

    with pytest.raises(exc, match=match):
        iteration_schedule(*args)
