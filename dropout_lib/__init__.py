"""dropout_lib: the tested code behind the Dropout course.

Layout (``ls dropout_lib``):

* argument checks in :mod:`~dropout_lib.validation`; seeds, threads, device and
  the numerical environment in :mod:`~dropout_lib.reproducibility`;
* the concepts: :mod:`~dropout_lib.masks` (drawing, storing, testing and reading
  back masks), :mod:`~dropout_lib.functional` (NumPy dropout),
  :mod:`~dropout_lib.nn` (PyTorch layers and mode switches),
  :mod:`~dropout_lib.theory` (moments), :mod:`~dropout_lib.stats` (claims over
  seeds), data, models and the training harness;
* :mod:`dropout_lib.studies`: code that serves one chapter, one module per
  chapter slug (for example :mod:`dropout_lib.studies.keras`);
* :mod:`dropout_lib.exercises`: the exercise checkers, one module per chapter.

NumPy dropout is re-exported at the top level. Conventions: ``p`` is always the
DROP probability and ``q = 1 - p`` the keep probability.
"""

from .functional import classic_dropout, dropout
from .masks import bernoulli_mask
from .reproducibility import get_device, seed_everything

__all__ = [
    "bernoulli_mask",
    "classic_dropout",
    "dropout",
    "get_device",
    "seed_everything",
]
__version__ = "0.1.0"
