"""dropout_lib: the tested code behind the Dropout course.

NumPy functions live at the top level; PyTorch layers in :mod:`dropout_lib.nn`.
Conventions: ``p`` is always the DROP probability and ``q = 1 - p`` the keep
probability.
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
