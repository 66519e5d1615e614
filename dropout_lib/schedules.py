"""Dropout schedules over training: none, standard, early and late dropout.

Liu et al. (2023, "Dropout Reduces Underfitting") turn dropout on for part of
training only. With E training epochs numbered e = 0, …, E − 1, a target drop
probability p and a cutoff epoch c (0 ≤ c ≤ E), the drop probability of epoch
e is

    none:          0
    standard:      p
    early:         p                     for e < c, then 0
    early_linear:  p·(1 − e/(c − 1))     for e < c (p when c = 1), then 0
    late:          0                     for e < c, then p

The authors' `drop_scheduler` works per *iteration*: with n iterations per
epoch, early dropout with the linear schedule is `np.linspace(p, 0, c·n)`
for the first c·n iterations, then zeros; late dropout is c·n zeros, then
p. `iteration_schedule` builds that array. `dropout_schedule` is its form
with one iteration per epoch (n = 1): `early_linear` starts at p and
reaches 0 on the last early epoch c − 1. With few epochs the two differ
much: for c = 2 the per-epoch ramp is p for one epoch and then 0, while
the authors' ramp falls linearly over both epochs' iterations. Training
code should set the rate per iteration (`iteration_schedule`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .validation import check_int, check_probability

__all__ = [
    "SCHEDULE_KINDS",
    "ScheduleKind",
    "dropout_schedule",
    "iteration_schedule",
]

ScheduleKind = Literal["none", "standard", "early", "early_linear", "late"]

#: The schedule kinds `dropout_schedule` knows.
SCHEDULE_KINDS: tuple[str, ...] = ("none", "standard", "early", "early_linear", "late")


def dropout_schedule(
    kind: str, epoch: int, epochs: int, p: float, cutoff: int = 0
) -> float:
    """The drop probability of epoch `epoch` (0-based) under schedule `kind`.

    With e = `epoch`, E = `epochs`, c = `cutoff`:
    none → 0; standard → p; early → p if e < c else 0;
    early_linear → p·(1 − e/(c − 1)) if e < c (p when c = 1) else 0;
    late → 0 if e < c else p.

    Requires 0 ≤ e < E, 0 ≤ c ≤ E and 0 ≤ p ≤ 1; raises `ValueError` (or
    `TypeError` for a non-integer epoch, epochs or cutoff, or a non-real p)
    naming the argument otherwise. The cutoff is checked for every kind,
    although "none" and "standard" do not use it.
    """
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        raise ValueError(f"kind must be one of {SCHEDULE_KINDS}; got kind={kind!r}")
    epochs = check_int(epochs, "epochs", 1)
    epoch = check_int(epoch, "epoch", 0)
    if epoch >= epochs:
        raise ValueError(
            f"epoch must lie in [0, epochs - 1] = [0, {epochs - 1}]; got epoch={epoch}"
        )
    cutoff = check_int(cutoff, "cutoff", 0)
    if cutoff > epochs:
        raise ValueError(
            f"cutoff must lie in [0, epochs] = [0, {epochs}]; got cutoff={cutoff}"
        )
    p = check_probability(p, "p")
    if kind == "none":
        return 0.0
    if kind == "standard":
        return p
    if kind == "late":
        return 0.0 if epoch < cutoff else p
    if epoch >= cutoff:
        return 0.0
    if kind == "early" or cutoff == 1:
        return p
    return p * (1.0 - epoch / (cutoff - 1))


def iteration_schedule(
    kind: str, epochs: int, iters_per_epoch: int, p: float, cutoff: int = 0
) -> np.ndarray:
    """The drop probability of every training iteration under schedule `kind`.

    The authors' `drop_scheduler` (facebookresearch/dropout), per iteration.
    With E = `epochs`, n = `iters_per_epoch`, c = `cutoff` and K = c·n early
    iterations, the array has E·n entries:
    none → zeros; standard → p everywhere;
    early → p for the first K iterations, then 0;
    early_linear → linspace(p, 0, K), i.e. p·(1 − i/(K − 1)) at iteration
    i < K (p when K = 1), then 0;
    late → 0 for the first K iterations, then p.
    With n = 1 it equals `dropout_schedule` epoch by epoch.

    Requires E ≥ 1, n ≥ 1, 0 ≤ c ≤ E and 0 ≤ p ≤ 1; raises `ValueError` (or
    `TypeError`) naming the argument otherwise.
    """
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        raise ValueError(f"kind must be one of {SCHEDULE_KINDS}; got kind={kind!r}")
    epochs = check_int(epochs, "epochs", 1)
    n = check_int(iters_per_epoch, "iters_per_epoch", 1)
    cutoff = check_int(cutoff, "cutoff", 0)
    if cutoff > epochs:
        raise ValueError(
            f"cutoff must lie in [0, epochs] = [0, {epochs}]; got cutoff={cutoff}"
        )
    p = check_probability(p, "p")
    early, late = cutoff * n, (epochs - cutoff) * n
    if kind == "none":
        return np.zeros(epochs * n)
    if kind == "standard":
        return np.full(epochs * n, p)
    if kind == "late":
        return np.concatenate([np.zeros(early), np.full(late, p)])
    head = np.full(early, p) if kind == "early" else np.linspace(p, 0.0, early)
    return np.concatenate([head, np.zeros(late)])
