"""The study behind `chapters/_template.ipynb`: a chapter's experiment in miniature.

A chapter keeps its experiment here, in `dropout_lib/studies/<slug>.py` (the
template's slug is `template`), tested in `tests/test_studies_<slug>.py`; the
notebook only calls it and states what the results support through
`dropout_lib.stats`.

The experiment: dropout with drop probability p applied, in training mode, to a
vector of n ones, once per seed. Inverted dropout keeps the mean:
E[(1/n) Σᵢ mᵢ/q] = 1. Classic dropout shrinks it to
E[(1/n) Σᵢ mᵢ] = q. Both draw their mask from a generator seeded with the
same seed, so for k kept units the paired difference of the two means is
(1/q − 1)·k/n, with expectation p and standard deviation
(p/q)·√(pq/n) over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..functional import classic_dropout, dropout
from ..validation import check_int, check_probability, check_seed

__all__ = ["MeanRuns", "mean_after_dropout"]


class MeanRuns(NamedTuple):
    """One value per seed: the mean output of inverted and of classic dropout."""

    seeds: tuple[int, ...]
    inverted: np.ndarray
    classic: np.ndarray


def mean_after_dropout(p: float, seeds: Sequence[int], n: int = 2000) -> MeanRuns:
    """The mean of dropout's output on n ones, for each seed, in training mode.

    For seed s, `inverted[s]` = (1/n) Σᵢ mᵢ/q and `classic[s]` =
    (1/n) Σᵢ mᵢ, with the same mask m drawn from
    `numpy.random.default_rng(s)`; q = 1 − p, and p must be below 1 (at
    p = 1 inverted dropout has no finite scale to compare).
    """
    p = check_probability(p, "p", below_one=True)
    n = check_int(n, "n", 1)
    chosen = tuple(check_seed(s, "seeds entries") for s in seeds)
    if not chosen:
        raise ValueError("seeds must hold at least one seed")
    ones = np.ones(n)
    inverted = [dropout(ones, p, rng=np.random.default_rng(s)).mean() for s in chosen]
    classic = [
        classic_dropout(ones, p, rng=np.random.default_rng(s)).mean() for s in chosen
    ]
    return MeanRuns(chosen, np.array(inverted), np.array(classic))
