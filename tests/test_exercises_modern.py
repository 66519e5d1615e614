"""Checkers of chapter 8 accept the reference solutions and reject the mistakes
learners make (also under python -O: they raise CheckFailed, never use assert)."""

import pytest
import torch
import torch.nn.functional as F

from dropout_lib.droppath import drop_path
from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.modern import (
    check_drop_path,
    check_dropout_schedule,
    check_expected_depth,
    check_gated_attention,
    check_symmetric_kl,
)
from dropout_lib.rdrop import symmetric_kl
from dropout_lib.schedules import dropout_schedule

# ---- DropPath ---------------------------------------------------------------


def dp_reference(x, p, training):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return x * (torch.rand(shape) < 1 - p).to(x.dtype) / (1 - p)


def dp_per_element(x, p, training):  # element dropout, not DropPath
    return F.dropout(x, p, training)


def dp_unscaled(x, p, training):
    if not training or p == 0:
        return x
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return x * (torch.rand(shape) < 1 - p).to(x.dtype)


def dp_keep_drop_confused(x, p, training):
    if not training or p == 0 or p == 1:
        return dp_reference(x, p, training)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return x * (torch.rand(shape) < p).to(x.dtype) / p


def dp_nan_at_one(x, p, training):
    if not training or p == 0:
        return x
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return x * (torch.rand(shape) < 1 - p).to(x.dtype) / (1 - p)


def dp_one_mask_for_batch(x, p, training):
    if not training or p == 0 or p == 1:
        return dp_reference(x, p, training)
    shape = (1,) * x.ndim
    return x * (torch.rand(shape) < 1 - p).to(x.dtype) / (1 - p)


def dp_reseeded(x, p, training):
    torch.manual_seed(0)
    return dp_reference(x, p, training)


def dp_always_on(x, p, training):
    return dp_reference(x, p, True)


def dp_in_place(x, p, training):
    if not training or p == 0 or p == 1:
        return dp_reference(x, p, training)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    x.mul_((torch.rand(shape) < 1 - p).to(x.dtype) / (1 - p))
    return x


def dp_mask_on_last_axis(x, p, training):
    if not training or p == 0 or p == 1:
        return dp_reference(x, p, training)
    shape = (1,) * (x.ndim - 1) + (x.shape[-1],)
    return x * (torch.rand(shape) < 1 - p).to(x.dtype) / (1 - p)


def test_drop_path_checker_accepts_reference_and_library():
    assert check_drop_path(dp_reference) is True
    assert check_drop_path(lambda x, p, t: drop_path(x, p, t)) is True


@pytest.mark.parametrize(
    "wrong",
    [
        dp_per_element,
        dp_unscaled,
        dp_keep_drop_confused,
        dp_nan_at_one,
        dp_one_mask_for_batch,
        dp_reseeded,
        dp_always_on,
        dp_in_place,
        dp_mask_on_last_axis,
        lambda x, p, t: x,
        lambda x, p, t: x.numpy(),
    ],
)
def test_drop_path_checker_rejects_typical_mistakes(wrong):
    with pytest.raises(CheckFailed):
        check_drop_path(wrong)


def test_drop_path_checker_reports_crash_and_misuse():
    def crash(x, p, t):
        raise RuntimeError("boom")

    with pytest.raises(CheckFailed, match="boom"):
        check_drop_path(crash)
    with pytest.raises(TypeError, match="fn"):
        check_drop_path(None)


# ---- gated SDPA -------------------------------------------------------------


def attend_reference(q, k, v, p, training):
    return F.scaled_dot_product_attention(q, k, v, dropout_p=p if training else 0.0)


def test_gated_attention_checker_accepts_reference():
    assert check_gated_attention(attend_reference) is True


@pytest.mark.parametrize(
    "wrong",
    [
        lambda q, k, v, p, t: F.scaled_dot_product_attention(q, k, v, dropout_p=p),
        lambda q, k, v, p, t: F.scaled_dot_product_attention(q, k, v),
        lambda q, k, v, p, t: F.scaled_dot_product_attention(
            q, k, v, dropout_p=p if not t else 0.0
        ),
        lambda q, k, v, p, t: F.scaled_dot_product_attention(
            q, k, v, dropout_p=1 - p if t else 0.0
        ),
        lambda q, k, v, p, t: F.dropout(
            F.scaled_dot_product_attention(q, k, v), p, t
        ),  # dropout on the output, not on the probabilities
        lambda q, k, v, p, t: F.scaled_dot_product_attention(
            q, k, v, dropout_p=p if t else 0.0, is_causal=True
        ),
    ],
)
def test_gated_attention_checker_rejects_typical_mistakes(wrong):
    with pytest.raises(CheckFailed):
        check_gated_attention(wrong)


# ---- expected depth ---------------------------------------------------------


def test_expected_depth_checker():
    assert check_expected_depth(lambda r, d: d * (1 - r / 2)) is True
    assert check_expected_depth(
        lambda r, d: float(sum(1 - x for x in torch.linspace(0, r, d).tolist()))
    )


@pytest.mark.parametrize(
    "wrong",
    [
        lambda r, d: d - (1 - r) * (d + 1) / 2,  # Huang's rule, rate read as survival
        lambda r, d: d - r * (d + 1) / 2,  # l/L for l = 1..L instead of linspace
        lambda r, d: d * (1 - r),  # every block at the last block's rate
        lambda r, d: d * r / 2,  # expected number DROPPED
        lambda r, d: "many",
    ],
)
def test_expected_depth_checker_rejects(wrong):
    with pytest.raises(CheckFailed):
        check_expected_depth(wrong)


# ---- symmetric KL -----------------------------------------------------------


def test_symmetric_kl_checker():
    assert check_symmetric_kl(symmetric_kl) is True

    def by_kl_div(a, b):
        la, lb = a.log_softmax(-1), b.log_softmax(-1)
        return 0.5 * (
            F.kl_div(lb, la, log_target=True, reduction="batchmean")
            + F.kl_div(la, lb, log_target=True, reduction="batchmean")
        )

    assert check_symmetric_kl(by_kl_div) is True


def _kl(a, b):
    la, lb = a.log_softmax(-1), b.log_softmax(-1)
    return (la.exp() * (la - lb)).sum(-1).mean()


@pytest.mark.parametrize(
    "wrong",
    [
        _kl,  # one direction only
        lambda a, b: _kl(a, b) + _kl(b, a),  # sum, not average, of the directions
        lambda a, b: (
            0.5
            * (
                F.kl_div(b.softmax(-1), a.softmax(-1), reduction="batchmean")
                + F.kl_div(a.softmax(-1), b.softmax(-1), reduction="batchmean")
            )
        ),  # probabilities where kl_div wants log-probabilities
        lambda a, b: (
            0.5
            * (
                (a.softmax(-1) * (a.softmax(-1).log() - b.softmax(-1).log())).sum()
                + (b.softmax(-1) * (b.softmax(-1).log() - a.softmax(-1).log())).sum()
            )
        ),  # summed over rows
        lambda a, b: (
            0.5
            * (
                (a.softmax(-1) * (a.softmax(-1) / b.softmax(-1)).log()).sum(-1)
                + (b.softmax(-1) * (b.softmax(-1) / a.softmax(-1)).log()).sum(-1)
            ).mean()
        ),  # log of a ratio of probabilities: underflows for large logits
        lambda a, b: ((a - b) ** 2).mean(),
    ],
)
def test_symmetric_kl_checker_rejects(wrong):
    with pytest.raises(CheckFailed):
        check_symmetric_kl(wrong)


def test_symmetric_kl_checker_rejects_mutation():
    def mutating(a, b):
        a -= a.max(-1, keepdim=True).values
        return symmetric_kl(a, b)

    with pytest.raises(CheckFailed, match="modified"):
        check_symmetric_kl(mutating)


# ---- early and late dropout schedules -----------------------------------------


def sched_reference(kind, epoch, epochs, p, cutoff):
    if kind == "late":
        return 0.0 if epoch < cutoff else p
    if epoch >= cutoff:
        return 0.0
    return p if cutoff == 1 else p * (1 - epoch / (cutoff - 1))


def sched_off_by_one(kind, epoch, epochs, p, cutoff):  # early still on at the cutoff
    if kind == "late":
        return 0.0 if epoch < cutoff else p
    if epoch > cutoff:
        return 0.0
    return p * (1 - epoch / cutoff) if cutoff else p


def sched_never_off(kind, epoch, epochs, p, cutoff):  # the early ramp never ends
    if kind == "late":
        return 0.0 if epoch < cutoff else p
    return p if cutoff <= 1 else abs(p * (1 - epoch / (cutoff - 1)))


def sched_standard(kind, epoch, epochs, p, cutoff):  # dropout on throughout
    return p


def sched_ramp_by_cutoff(kind, epoch, epochs, p, cutoff):  # linspace(p, 0, c + 1)
    if kind == "late":
        return 0.0 if epoch < cutoff else p
    return p * (1 - epoch / cutoff) if epoch < cutoff else 0.0


def sched_keep(kind, epoch, epochs, p, cutoff):  # keep probability
    return 1.0 - sched_reference(kind, epoch, epochs, p, cutoff)


def sched_late_one_late(kind, epoch, epochs, p, cutoff):  # late on from c + 1
    if kind == "late":
        return 0.0 if epoch <= cutoff else p
    return sched_reference(kind, epoch, epochs, p, cutoff)


def sched_swapped(kind, epoch, epochs, p, cutoff):  # early and late swapped
    other = "late" if kind == "early_linear" else "early_linear"
    return sched_reference(other, epoch, epochs, p, cutoff)


def test_schedule_checker_accepts_the_reference():
    assert check_dropout_schedule(sched_reference) is True
    assert check_dropout_schedule(dropout_schedule) is True


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        (sched_off_by_one, "off by one at the cutoff"),
        (sched_never_off, "never turns off"),
        (sched_standard, "never turns off"),
        (sched_ramp_by_cutoff, "linspace"),
        (sched_keep, "DROP probability"),
        (sched_late_one_late, "late dropout is on from epoch"),
        (sched_swapped, "never turns off|late dropout is on at the start"),
    ],
)
def test_schedule_checker_rejects_wrong_answers(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_dropout_schedule(wrong)


def test_schedule_checker_reports_errors_and_types():
    def raises(kind, epoch, epochs, p, cutoff):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_dropout_schedule(raises)
    with pytest.raises(CheckFailed, match="expected a float"):
        check_dropout_schedule(lambda *a: "0.3")
    with pytest.raises(TypeError, match="callable"):
        check_dropout_schedule(0.3)
