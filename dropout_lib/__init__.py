"""dropout_lib: the tested code behind the Dropout course.

Layout (`ls dropout_lib`), from the bottom up:

* plumbing: `dropout_lib.validation` (every argument check) and
  `dropout_lib.reproducibility` (seeds, threads, device, the pinned numerical
  code path);
* concepts, used by several chapters: `dropout_lib.masks` (drawing,
  storing, testing and reading back masks), `dropout_lib.functional`
  (NumPy dropout), `dropout_lib.nn` (PyTorch layers, `DROPOUT_TYPES` and the
  one way to switch modes), `dropout_lib.theory` (moments),
  `dropout_lib.ensemble` (thinned networks, geometric vs arithmetic mean),
  `dropout_lib.regularization` (dropout as adaptive L2),
  `dropout_lib.equivalence` (classic vs inverted training),
  `dropout_lib.inference` (weight scaling vs Monte Carlo),
  `dropout_lib.uncertainty` (entropies, calibration, batched MC passes),
  `dropout_lib.diagnostics` (activation probes);
* experiments: `dropout_lib.data` (Fashion-MNIST),
  `dropout_lib.synthetic` (the scikit-learn task), `dropout_lib.models`
  (MLP, SmallCNN), `dropout_lib.training` (the one run harness:
  `train`, `evaluate`, `Run`, `run_seeds`), `dropout_lib.stats`
  (the one standard for claims over seeds), `dropout_lib.plotting`;
* `dropout_lib.studies`: code that serves one chapter, one module per
  chapter slug (`overfitting`, `keras`, `d2l`, `batchnorm`, `mc_dropout`,
  `modern`, `practice`, ...); a chapter's study may be split into `slug` and
  `slug_<part>` (`d2l` and `d2l_pitfalls`), which may import each other; a study
  never imports another chapter's study (tests/test_studies_layering.py);
* `dropout_lib.exercises`: the exercise checkers, one module per chapter,
  all built on `exercises._checking`.

NumPy dropout is re-exported at the top level. Conventions: `p` is always the
DROP probability and `q = 1 - p` the keep probability.
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
