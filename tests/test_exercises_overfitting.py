"""Chapter-1 checkers accept reference solutions and reject typical wrong answers."""

import numpy as np
import pytest
import torch

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.overfitting import (
    check_early_stopping,
    check_param_count,
    reference_early_stopping,
    reference_param_count,
)

# ------------------------------------------------------------ parameter count


def test_reference_param_count_known_values():
    assert reference_param_count(20, [64, 64], 1) == 5569
    assert reference_param_count(784, [256, 256], 10) == 269322
    assert reference_param_count(20, [], 1) == 21


def test_param_count_accepts_reference_and_equivalent_forms():
    assert check_param_count(reference_param_count)

    def loop_version(n_in, hidden, n_out):
        total, prev = 0, n_in
        for w in list(hidden) + [n_out]:
            total += prev * w + w
            prev = w
        return total

    assert check_param_count(loop_version)
    assert check_param_count(lambda a, h, b: np.int64(reference_param_count(a, h, b)))


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (
            lambda a, h, b: sum(x * y for x, y in zip([a, *h], [*h, b], strict=True)),
            "biases are missing",
        ),
        (
            lambda a, h, b: sum((x + 1) * y for x, y in zip([a, *h], h, strict=False)),
            "output layer",
        ),  # forgets the output layer
        (
            lambda a, h, b: (
                sum((x + 1) * y for x, y in zip([a, *h], [*h, b], strict=True))
                + 2 * len(h)
            ),
            "output layer",
        ),
        (lambda a, h, b: float(reference_param_count(a, h, b)), "return an int"),
    ],
)
def test_param_count_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        check_param_count(wrong)


def test_param_count_reports_exceptions():
    def broken(a, h, b):
        raise RuntimeError("boom")

    with pytest.raises(CheckFailed, match="boom"):
        check_param_count(broken)


def test_checkers_reject_non_callables_with_type_error():
    with pytest.raises(TypeError):
        check_param_count(3)
    with pytest.raises(TypeError):
        check_early_stopping("f")


def test_early_stopping_reports_exceptions_and_bad_returns():
    def broken(losses, patience):
        raise ZeroDivisionError("oops")

    with pytest.raises(CheckFailed, match="ZeroDivisionError: oops"):
        check_early_stopping(broken)
    with pytest.raises(CheckFailed, match="pair"):
        check_early_stopping(lambda losses, patience: None)


@pytest.mark.parametrize(
    "args", [(0, [4], 1), (3, [0], 1), (3, [4], 2.0), (True, [], 1)]
)
def test_reference_param_count_rejects_bad_widths(args):
    with pytest.raises((TypeError, ValueError)):
        reference_param_count(*args)


def test_reference_early_stopping_rejects_bad_patience():
    with pytest.raises(ValueError):
        reference_early_stopping([1.0, 0.9], 0)
    with pytest.raises(TypeError):
        reference_early_stopping([1.0, 0.9], 1.5)


# ------------------------------------------------------------ early stopping


def test_reference_early_stopping_cases():
    assert reference_early_stopping([1.0, 0.8, 0.7, 0.75, 0.9, 1.0], 2) == (3, 5)
    assert reference_early_stopping([1.0, 0.8, 0.8, 0.8], 2) == (2, 4)
    assert reference_early_stopping([1.0, 0.9], 5) == (2, 2)
    assert reference_early_stopping([0.5, 0.6, 0.7], 1) == (1, 2)


def test_early_stopping_accepts_reference_and_a_numpy_solution():
    assert check_early_stopping(reference_early_stopping)

    def numpy_version(losses, patience):
        losses = np.asarray(losses)
        best = 0
        for e in range(1, len(losses)):
            if losses[e] < losses[best]:
                best = e
            elif e - best >= patience:
                return best + 1, e + 1
        return best + 1, len(losses)

    assert check_early_stopping(numpy_version)


def zero_based(losses, patience):
    b, s = reference_early_stopping(losses, patience)
    return b - 1, s - 1


def ties_improve(losses, patience):
    best_e, best = 0, float("inf")
    for e, loss in enumerate(losses, start=1):
        if loss <= best:
            best, best_e = loss, e
        elif e - best_e >= patience:
            return best_e, e
    return best_e, len(losses)


def global_argmin(losses, patience):  # ignores stopping when choosing the best epoch
    return int(np.argmin(losses)) + 1, reference_early_stopping(losses, patience)[1]


def off_by_one_stop(losses, patience):
    best_e, best = 0, float("inf")
    for e, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_e = loss, e
        elif e - best_e > patience:
            return best_e, e
    return best_e, len(losses)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (zero_based, "counted from 1"),
        (ties_improve, "STRICTLY"),
        (global_argmin, "STRICTLY|first epoch|best_epoch"),
        (off_by_one_stop, "best_epoch \\+ patience"),
        (
            lambda losses, patience: reference_early_stopping(losses, patience)[0],
            "pair",
        ),
    ],
)
def test_early_stopping_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        check_early_stopping(wrong)


# --- check_decay_builder: weight decay instead of dropout ---------------------

from dropout_lib.exercises.overfitting import check_decay_builder  # noqa: E402
from dropout_lib.models import MLP  # noqa: E402


def good_decay(weight_decay):
    def build(seed):
        net = MLP(20, [256, 256], 1)
        return net, torch.optim.AdamW(net.parameters(), weight_decay=weight_decay)

    return build


def coupled_decay(weight_decay):  # Adam's L2 penalty is accepted too
    def build(seed):
        net = MLP(20, [256, 256], 1, dropout=0.0)
        return net, torch.optim.Adam(net.parameters(), weight_decay=weight_decay)

    return build


def dropout_left_on(weight_decay):
    def build(seed):
        net = MLP(20, [256, 256], 1, dropout=0.5)
        return net, torch.optim.AdamW(net.parameters(), weight_decay=weight_decay)

    return build


def decay_forgotten(weight_decay):
    def build(seed):
        net = MLP(20, [256, 256], 1)
        return net, torch.optim.Adam(net.parameters())

    return build


_SHARED = MLP(20, [256, 256], 1)


def one_model_for_all_seeds(weight_decay):
    def build(seed):
        return _SHARED, torch.optim.AdamW(
            _SHARED.parameters(), weight_decay=weight_decay
        )

    return build


def optimizer_on_other_model(weight_decay):
    def build(seed):
        net = MLP(20, [256, 256], 1)
        other = MLP(20, [256, 256], 1)
        return net, torch.optim.AdamW(other.parameters(), weight_decay=weight_decay)

    return build


def wrong_widths(weight_decay):
    def build(seed):
        net = MLP(20, [64, 64], 1)
        return net, torch.optim.AdamW(net.parameters(), weight_decay=weight_decay)

    return build


def returns_pair_directly(weight_decay):
    net = MLP(20, [256, 256], 1)
    return net, torch.optim.AdamW(net.parameters(), weight_decay=weight_decay)


def test_decay_builder_accepts_coupled_and_decoupled():
    assert check_decay_builder(good_decay)
    assert check_decay_builder(coupled_decay)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (dropout_left_on, "dropout"),
        (decay_forgotten, "weight_decay"),
        (one_model_for_all_seeds, "same model"),
        (optimizer_on_other_model, "does not update"),
        (wrong_widths, "20-256-256-1"),
        (returns_pair_directly, "build"),
    ],
)
def test_decay_builder_rejects_typical_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_decay_builder(wrong)


def test_decay_builder_rejects_non_callable():
    with pytest.raises(TypeError):
        check_decay_builder(0.1)
