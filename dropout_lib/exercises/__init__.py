"""Code checkers for the course's exercises, one module per chapter.

`check_dropout` (in `.core`) checks a learner's NumPy dropout function; each
chapter's own checkers live in a module named for the chapter's slug
(`dropout_lib.exercises.overfitting`, `.mask_math`, `.expectation`, `.keras`,
`.d2l`, `.batchnorm`, `.mc_dropout`, `.modern`, `.scale`, `.practice`, `.faq`).
Everything they share is in `._checking`.

The contract of every checker: it returns `True` or raises
`dropout_lib.exercises._checking.CheckFailed`, a subclass of `AssertionError`,
whose message names the property that failed and gives a hint. An exception
raised by the learner's function is reported the same way
(chained, so its traceback stays visible). A checker raises `TypeError` only
when it is itself misused (for example, given something that is not callable).
Checkers never use the `assert` statement, so they work under `python -O`;
statistical checks allow `_checking.Z` = 5.5 standard deviations (the public
`dropout_lib.stats.Z_TOLERANCE`). The shared checks (`require_unmodified`,
`require_same_shape`, `require_independent_masks`, `within_z`, ...) are in
`_checking`; `template.py` is the smallest complete checker to copy.
"""

from ._checking import CheckFailed
from .core import check_dropout

__all__ = ["CheckFailed", "check_dropout"]
