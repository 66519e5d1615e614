"""`dropout_lib.keras_bridge`: one home for Keras beside PyTorch.

The behaviour of `import_keras` and `mlp_from_keras` is tested in
`tests/test_studies_keras.py` through chapter 4's study, which re-exports them;
this file checks the one-home rule and that importing the package needs no Keras.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from dropout_lib import keras_bridge
from dropout_lib.studies import keras as keras_study
from dropout_lib.studies.mc_dropout import build_bn_mlp


def test_the_study_re_exports_the_bridge():
    assert keras_study.import_keras is keras_bridge.import_keras
    assert keras_study.mlp_from_keras is keras_bridge.mlp_from_keras


def test_importing_the_bridge_does_not_import_keras():
    code = "import sys, dropout_lib.keras_bridge; print('keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_keras_from_torch_agrees_with_the_bn_mlp_in_eval():
    pytest.importorskip("keras")
    import keras

    torch.manual_seed(0)
    model = build_bn_mlp(n_classes=8, hidden=16, p=0.3)
    model.train()
    model(torch.rand(64, 28, 28))  # non-trivial running statistics
    model.eval()
    x = torch.rand(5, 28, 28)
    twin = keras_bridge.keras_from_torch(model, keras.layers.Dropout)
    ours = model(x).detach().numpy()
    theirs = np.asarray(twin(x.numpy(), training=False).detach().cpu())
    assert np.allclose(ours, theirs, atol=1e-5)
    with pytest.raises(TypeError, match="Conv"):
        keras_bridge.keras_from_torch(
            nn.Sequential(nn.Conv2d(1, 1, 3)), keras.layers.Dropout
        )
    with pytest.raises(TypeError, match="Sequential"):
        keras_bridge.keras_from_torch(nn.Linear(2, 2), keras.layers.Dropout)
