"""`dropout_lib.keras_bridge`: one home for Keras beside PyTorch.

The behaviour of `import_keras` and `mlp_from_keras` is tested in
`tests/test_studies_keras.py` through chapter 4's study, which re-exports them;
this file checks the one-home rule and that importing the package needs no Keras.
"""

import subprocess
import sys

from dropout_lib import keras_bridge
from dropout_lib.studies import keras as keras_study


def test_the_study_re_exports_the_bridge():
    assert keras_study.import_keras is keras_bridge.import_keras
    assert keras_study.mlp_from_keras is keras_bridge.mlp_from_keras


def test_importing_the_bridge_does_not_import_keras():
    code = "import sys, dropout_lib.keras_bridge; print('keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
