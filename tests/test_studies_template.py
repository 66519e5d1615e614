"""The template chapter's study (`dropout_lib.studies.template`)."""

import numpy as np
import pytest

from dropout_lib import stats
from dropout_lib.studies.template import mean_after_dropout


def test_means_are_exact_per_seed_and_reproducible():
    r = mean_after_dropout(0.5, [0, 1, 2], n=1000)
    assert r.seeds == (0, 1, 2)
    # same mask for both: inverted = classic / q, entry by entry
    np.testing.assert_allclose(r.inverted, r.classic / 0.5, rtol=1e-12)
    again = mean_after_dropout(0.5, [0, 1, 2], n=1000)
    np.testing.assert_array_equal(r.inverted, again.inverted)


def test_expectations_hold_within_five_and_a_half_sd():
    p, n = 0.3, 2000
    r = mean_after_dropout(p, range(40), n=n)
    q = 1 - p
    sd = np.sqrt(p * q / n) / np.sqrt(40)  # of the mean of the classic means
    assert abs(r.classic.mean() - q) < stats.Z_TOLERANCE * sd
    assert abs(r.inverted.mean() - 1) < stats.Z_TOLERANCE * sd / q


def test_the_template_claim_replicates_at_five_seeds():
    r = mean_after_dropout(0.5, range(5))
    c = stats.claim("inverted - classic", stats.paired_diff(r.inverted, r.classic), ">")
    assert c.holds and c.risk <= stats.MAX_REPLICATION_RISK


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"p": 1.0, "seeds": [0]}, ValueError),
        ({"p": -0.1, "seeds": [0]}, ValueError),
        ({"p": 0.5, "seeds": []}, ValueError),
        ({"p": 0.5, "seeds": [-1]}, ValueError),
        ({"p": 0.5, "seeds": [0], "n": 0}, ValueError),
    ],
)
def test_argument_errors(kwargs, exc):
    with pytest.raises(exc):
        mean_after_dropout(**kwargs)
