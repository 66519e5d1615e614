"""Code checkers for the course's exercises.

``check_dropout`` (in :mod:`.core`) checks a learner's dropout function; each
chapter's own checkers live in a module named for the chapter
(``dropout_lib.exercises.expectation``, ``dropout_lib.exercises.d2l``, ...).
Every checker returns True or raises ``AssertionError`` with a message that
names the property that failed and gives a hint.
"""

from .core import check_dropout

__all__ = ["check_dropout"]
