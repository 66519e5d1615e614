"""Tests for dropout_lib.regularization: dropout as adaptive L2."""

import numpy as np
import pytest

from dropout_lib.regularization import (
    dropout_quadratic_penalty,
    expected_dropout_logistic_loss,
    logistic_loss,
    logistic_variance,
)


def problem(scale=0.5, d=6, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    beta = scale * rng.normal(size=d)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    return beta, X, y


def test_no_dropout_gives_the_plain_loss():
    beta, X, y = problem()
    assert expected_dropout_logistic_loss(beta, X, y, 0.0) == pytest.approx(
        logistic_loss(beta, X, y)
    )
    assert dropout_quadratic_penalty(beta, X, 0.0) == 0.0


def test_exact_expectation_matches_monte_carlo():
    beta, X, y = problem(d=5, n=40)
    p, q = 0.3, 0.7
    rng = np.random.default_rng(1)
    masks = (rng.random((50_000, 5)) < q).astype(float)
    eta = X @ (masks * beta).T / q
    per_mask = (np.logaddexp(0, eta) - y[:, None] * eta).mean(0)
    se = per_mask.std() / np.sqrt(len(masks))
    exact = expected_dropout_logistic_loss(beta, X, y, p)
    assert abs(per_mask.mean() - exact) < 5.5 * se


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_quadratic_penalty_approximates_the_excess_for_small_weights(p):
    beta, X, y = problem(scale=0.1)
    excess = expected_dropout_logistic_loss(beta, X, y, p) - logistic_loss(beta, X, y)
    assert dropout_quadratic_penalty(beta, X, p) == pytest.approx(excess, rel=0.02)


def test_penalty_is_label_free_and_weighted_by_fisher():
    beta, X, _ = problem()
    p = 0.4
    fisher = (logistic_variance(X @ beta)[:, None] * X**2).mean(0)
    want = p / (2 * (1 - p)) * np.sum(fisher * beta**2)
    assert dropout_quadratic_penalty(beta, X, p) == pytest.approx(want)
    assert np.all(logistic_variance(np.array([-3.0, 0.0, 3.0])) <= 0.25)


def test_excess_is_nonnegative_jensen():
    beta, X, y = problem(scale=1.0)
    for p in (0.1, 0.5, 0.9):
        assert expected_dropout_logistic_loss(beta, X, y, p) >= logistic_loss(
            beta, X, y
        )


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda b, X, y: expected_dropout_logistic_loss(b, X, y, 1.0), ValueError),
        (lambda b, X, y: dropout_quadratic_penalty(b, X, 1.0), ValueError),
        (lambda b, X, y: logistic_loss(b[:-1], X, y), ValueError),
        (lambda b, X, y: logistic_loss(b, X, y + 2), ValueError),
        (lambda b, X, y: logistic_loss(b, X, y[:-1]), ValueError),
        (lambda b, X, y: dropout_quadratic_penalty(b, X, "0.5"), TypeError),
    ],
)
def test_argument_errors(call, exc):
    beta, X, y = problem()
    with pytest.raises(exc):
        call(beta, X, y)
