"""Exhibits: three small, plausible mistakes in hand-written dropout code, kept for teaching.

Each exhibit is a deliberately flawed variant of :mod:`dropout_lib.scratch`; the
course shows the failure and the fix side by side. Do not use them in models.

* :func:`cpu_mask_dropout` draws its mask with ``torch.rand(X.shape)``, which
  always lives on the CPU, so it fails (or silently copies) for inputs on any
  other device.
* :class:`FlaggedNet` decides whether to drop from its own ``is_training``
  attribute, which ``model.eval()`` does not know about.
* :func:`assert_checked_dropout` validates ``p`` with ``assert``, which Python
  removes when run with ``-O``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .scratch import D2LNet, _check_tensor
from .validation import check_probability

__all__ = ["FlaggedNet", "assert_checked_dropout", "cpu_mask_dropout", "run_python"]


def cpu_mask_dropout(X: torch.Tensor, p: float) -> torch.Tensor:
    """PITFALL: inverted dropout whose mask is made on the CPU, whatever ``X.device`` is.

    Computes :math:`[u > p] \\odot X / (1 - p)` with ``u = torch.rand(X.shape)``.
    ``torch.rand`` without ``device=`` allocates on the CPU, so for a GPU (or
    ``meta``) tensor the product mixes devices and PyTorch raises a
    ``RuntimeError``. The fix is :func:`dropout_lib.scratch.dropout_layer`,
    which passes ``device=X.device``.
    """
    p = check_probability(p, "p")
    X = _check_tensor(X, "X")
    if p == 0.0:
        return X
    if p == 1.0:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > p).float()  # the bug: no device=X.device
    return mask * X / (1.0 - p)


def assert_checked_dropout(X: torch.Tensor, p: float) -> torch.Tensor:
    """PITFALL: inverted dropout that checks ``0 <= p <= 1`` with a bare ``assert``.

    Under ``python -O`` the ``assert`` statement is compiled away, so a wrong
    ``p`` goes through: for ``p < 0`` every draw :math:`u \\ge 0 > p` is kept and
    the output is :math:`X / (1 - p)`, silently shrunk; for ``p > 1`` every entry
    is dropped. The fix raises ``ValueError`` (see
    :func:`dropout_lib.validation.check_probability`), which no flag removes.
    """
    assert 0 <= p <= 1, "p must be in [0, 1]"  # noqa: S101 -- the exhibit itself
    if p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape, device=X.device, dtype=X.dtype) > p).to(X.dtype)
    return mask * X / (1.0 - p)


class FlaggedNet(D2LNet):
    """PITFALL: :class:`~dropout_lib.scratch.D2LNet` with a hand-rolled ``is_training`` flag.

    The forward pass drops when ``self.is_training`` is true. ``model.eval()``
    only sets ``nn.Module.training`` (on this module and its children), so after
    ``eval()`` this network still drops units and rescales the survivors: its
    "evaluation" is a single random thinned network. The parameters and their
    names are those of ``D2LNet``, so ``load_state_dict`` moves weights between
    the two. The fix is to ask ``self.training`` (what ``D2LNet`` does).
    """

    def __init__(
        self,
        dropout1: float = 0.2,
        dropout2: float = 0.5,
        *,
        is_training: bool = True,
        num_inputs: int = 784,
        num_hiddens: Sequence[int] = (256, 256),
        num_outputs: int = 10,
    ) -> None:
        super().__init__(
            dropout1,
            dropout2,
            num_inputs=num_inputs,
            num_hiddens=num_hiddens,
            num_outputs=num_outputs,
        )
        if not isinstance(is_training, bool):
            raise TypeError(
                f"is_training must be a bool; got {type(is_training).__name__}"
            )
        self.is_training = is_training

    def dropping(self) -> bool:
        """The bug: consult the private flag, not ``self.training``."""
        return self.is_training

    def extra_repr(self) -> str:
        return super().extra_repr() + f", is_training={self.is_training}"


def run_python(
    code: str, *, optimize: bool = False, timeout: float = 900.0
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (``sys.executable``), with ``-O`` if ``optimize``.

    The course's checkout is put on ``PYTHONPATH`` so the snippet can import
    ``dropout_lib``. Returns the completed process with text ``stdout`` and
    ``stderr``; a non-zero exit status is not an error here (the caller inspects
    ``returncode``).
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be a str; got {type(code).__name__}")
    if not isinstance(optimize, bool):
        raise TypeError(f"optimize must be a bool; got {type(optimize).__name__}")
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("PYTHONOPTIMIZE", None)
    cmd = [sys.executable] + (["-O"] if optimize else []) + ["-c", code]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
