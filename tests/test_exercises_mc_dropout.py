"""Checkers of chapter 7 accept the reference solutions and reject typical mistakes
(also under ``python -O``: they raise CheckFailed, never use assert)."""

import math

import numpy as np
import pytest
import torch

from dropout_lib.exercises._checking import CheckFailed
from dropout_lib.exercises.mc_dropout import check_ece, check_mutual_information
from dropout_lib.uncertainty import expected_calibration_error, mutual_information


def _h(p):
    return -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1)


def mi_reference(s):
    return _h(s.mean(0)) - _h(s).mean(0)


def test_mi_checker_accepts_reference_and_library():
    assert check_mutual_information(mi_reference) is True
    assert check_mutual_information(mutual_information) is True
    assert check_mutual_information(lambda s: mi_reference(s).numpy().tolist())


@pytest.mark.parametrize(
    "wrong, why",
    [
        (lambda s: _h(s.mean(0)), "predictive entropy only"),
        (lambda s: _h(s).mean(0), "expected entropy only"),
        (lambda s: mi_reference(s) / math.log(2), "bits instead of nats"),
        (lambda s: _h(s.mean(0)) - _h(s[0]), "entropy of the first pass only"),
        (lambda s: _h(s.mean(1)) - _h(s).mean(1), "averaged over the wrong axis"),
        (lambda s: mi_reference(s).mean(), "one number for all examples"),
    ],
)
def test_mi_checker_rejects_typical_mistakes(wrong, why):
    with pytest.raises(CheckFailed):
        check_mutual_information(wrong)


def test_mi_checker_rejects_mutation_and_errors():
    def mutating(s):
        s /= s.sum(-1, keepdim=True)
        s[0] = s[0] * 1.0 + 1e-3
        return mi_reference(s)

    with pytest.raises(CheckFailed, match="modified"):
        check_mutual_information(mutating)

    def crash(s):
        raise RuntimeError("boom")

    with pytest.raises(CheckFailed, match="boom"):
        check_mutual_information(crash)
    with pytest.raises(TypeError, match="fn"):
        check_mutual_information(3)


def ece_reference(probs, y, n_bins):
    conf, pred = probs.max(1)
    correct = (pred == y).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        inside = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if inside.any():
            gap = (correct[inside].mean() - conf[inside].mean()).abs()
            total += float(inside.double().mean() * gap)
    return total


def test_ece_checker_accepts_reference_and_library():
    assert check_ece(ece_reference) is True
    assert check_ece(expected_calibration_error) is True


def _unweighted(probs, y, n_bins):
    conf, pred = probs.max(1)
    correct = (pred == y).double()
    idx = (torch.ceil(conf * n_bins) - 1).clamp(0, n_bins - 1).long()
    gaps = [
        float((correct[idx == b].mean() - conf[idx == b].mean()).abs())
        for b in range(n_bins)
        if (idx == b).any()
    ]
    return float(np.mean(gaps))


def _signed(probs, y, n_bins):
    conf, pred = probs.max(1)
    return float(((pred == y).double() - conf).mean().abs())


def _per_example(probs, y, n_bins):
    conf, pred = probs.max(1)
    return float(((pred == y).double() - conf).abs().mean())


def _true_class_prob(probs, y, n_bins):
    conf = probs.gather(1, y[:, None]).squeeze(1)
    correct = torch.ones_like(conf)
    idx = (torch.ceil(conf * n_bins) - 1).clamp(0, n_bins - 1).long()
    out = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            out += float(m.double().mean() * (correct[m] - conf[m]).mean().abs())
    return out


@pytest.mark.parametrize(
    "wrong",
    [_unweighted, _signed, _per_example, _true_class_prob],
    ids=["unweighted-bins", "signed-global", "per-example", "true-class-prob"],
)
def test_ece_checker_rejects_typical_mistakes(wrong):
    with pytest.raises(CheckFailed):
        check_ece(wrong)


def test_ece_checker_rejects_mutation():
    def mutating(probs, y, n_bins):
        probs.clamp_(0.0, 0.99)
        return expected_calibration_error(probs.clone(), y, n_bins)

    with pytest.raises(CheckFailed):
        check_ece(mutating)
    with pytest.raises(TypeError, match="fn"):
        check_ece(None)
