"""Kernel fingerprints: do this machine's kernels give the stored outputs' bits?

A stored output reproduces digit for digit only where every floating-point
kernel the chapter calls returns the same bits as on the machine that recorded
it. Which kernels run is decided at run time, by libraries this course does not
control: torch dispatches by instruction set (AVX-512, AVX2, NEON), oneDNN and
MKL pick their own branches, NumPy's bundled OpenBLAS chooses a kernel per CPU
model ("Haswell", "SkylakeX", ...) and NumPy's own SIMD loops for exp and log
do too. Pinning can narrow this (`reproducibility.pin_cpu_code_path`) but not
close it, so the course measures instead of assuming.

`kernel_fingerprint` runs each operation the chapters rely on (torch and NumPy
matrix products in float32 and float64, exp, log, tanh, log_softmax,
convolution forward and backward, batch norm, an SGD and an Adam step, the
random streams of torch and NumPy) on fixed inputs and hashes the result's
bytes; it also records the package versions. `make refresh` stores the
fingerprint of the recording machine in each notebook's metadata
(`record_in_notebook`). `make test` compares it with the fingerprint of the
machine it runs on (`python -m dropout_lib.fingerprint partition`):

* same fingerprint: the stored outputs are compared strictly (nbval), so a
  wrong output fails;
* another fingerprint: the run says which kernels differ, and each notebook is
  re-executed with only its assertions deciding (nbval-lax), so a broken claim
  fails and digits that cannot reproduce are not compared.

The fingerprint is a necessary condition, not a proof: an operation it does
not cover could still differ. Keep `KERNELS` in step with what the chapters
use.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .reproducibility import pin_cpu_code_path

__all__ = [
    "KERNELS",
    "Verdict",
    "compare",
    "kernel_fingerprint",
    "main",
    "read_from_notebook",
    "record_in_notebook",
]

#: The key under a notebook's metadata that holds the recording machine's fingerprint.
METADATA_KEY = "dropout_course"

_VERSIONED = ("torch", "numpy", "scipy", "scikit-learn", "keras")


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if hasattr(a, "detach"):
            a = a.detach().cpu().contiguous().numpy()
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _np_inputs(dtype: type, *shape: int) -> np.ndarray:
    # Inputs from a fixed integer recipe: no random generator involved.
    n = int(np.prod(shape))
    return (
        (np.sin(np.arange(n, dtype=np.float64) * 0.7311) * 1.7)
        .astype(dtype)
        .reshape(shape)
    )


def _t(*shape: int, dtype: str = "float32") -> Any:
    import torch

    return torch.from_numpy(_np_inputs(np.float64, *shape)).to(getattr(torch, dtype))


def _torch_matmul32() -> str:
    return _digest(_t(256, 784) @ _t(784, 256), _t(33, 17) @ _t(17, 9))


def _torch_matmul64() -> str:
    return _digest(_t(64, 100, dtype="float64") @ _t(100, 50, dtype="float64"))


def _torch_linear_backward() -> str:
    import torch

    x = _t(128, 784)
    w = _t(256, 784).requires_grad_()
    b = _t(256).requires_grad_()
    out = torch.nn.functional.linear(x, w, b).relu().sum()
    torch.autograd.backward(out)
    return _digest(w.grad, b.grad)


def _torch_elementwise() -> str:
    import torch

    x = _t(100_003)
    return _digest(
        torch.exp(x), torch.log(x.abs() + 0.5), torch.tanh(x), torch.sigmoid(x)
    )


def _torch_softmax_loss() -> str:
    import torch
    import torch.nn.functional as F

    logits = _t(256, 10).requires_grad_()
    target = torch.arange(256) % 10
    loss = F.cross_entropy(logits, target)
    torch.autograd.backward(loss)
    return _digest(F.log_softmax(_t(300, 10), dim=1), loss, logits.grad)


def _torch_reductions() -> str:
    x = _t(1_000_003)
    return _digest(x.sum(), x.mean(), x.var(), _t(512, 300).sum(dim=0))


def _torch_conv() -> str:
    import torch
    import torch.nn.functional as F

    x = _t(32, 8, 14, 14).requires_grad_()
    w = _t(16, 8, 3, 3).requires_grad_()
    y = F.conv2d(x, w, padding=1)
    torch.autograd.backward(y.square().sum())
    return _digest(y, x.grad, w.grad, F.max_pool2d(y.detach(), 2))


def _torch_batchnorm() -> str:
    import torch
    import torch.nn.functional as F

    x = _t(64, 16, 7, 7).requires_grad_()
    g = torch.ones(16, requires_grad=True)
    y = F.batch_norm(x, None, None, g, None, training=True)
    torch.autograd.backward(y.square().sum())
    return _digest(y, x.grad, g.grad)


def _torch_optimisers() -> str:
    import torch

    out = []
    for make in (
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda p: torch.optim.Adam(p, lr=1e-3),
    ):
        w = torch.nn.Parameter(_t(300, 200))
        opt = make([w])
        for _ in range(3):
            opt.zero_grad()
            torch.autograd.backward(w.square().sum() * 0.5 + w.sum())
            opt.step()
        out.append(w.detach().clone())
    return _digest(*out)


def _torch_random() -> str:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    return _digest(
        torch.rand(1001, generator=g),
        torch.randn(1001, generator=g),
        torch.bernoulli(torch.full((1001,), 0.3), generator=g),
        torch.randperm(1001, generator=g),
        F.dropout(torch.ones(4097), p=0.5, training=True),
        torch.nn.init.kaiming_uniform_(torch.empty(64, 64)),
    )


def _numpy_matmul() -> str:
    return _digest(
        _np_inputs(np.float64, 300, 200) @ _np_inputs(np.float64, 200, 100),
        _np_inputs(np.float32, 300, 200) @ _np_inputs(np.float32, 200, 100),
        _np_inputs(np.float64, 7, 5) @ _np_inputs(np.float64, 5, 3),
    )


def _numpy_elementwise() -> str:
    x64 = _np_inputs(np.float64, 100_003)
    x32 = x64.astype(np.float32)
    return _digest(
        np.exp(x64),
        np.log(np.abs(x64) + 0.5),
        np.tanh(x64),
        np.exp(x32),
        np.log(np.abs(x32) + 0.5),
        np.tanh(x32),
        np.sum(x64),
        np.sum(x32),
    )


def _numpy_random() -> str:
    g = np.random.default_rng(1234)
    legacy = np.random.RandomState(1234)
    return _digest(
        g.random(1001),
        g.normal(size=1001),
        g.integers(0, 256, 1001, dtype=np.uint8),
        g.binomial(1, 0.7, 1001),
        legacy.binomial(1, 0.7, 1001),
        legacy.normal(size=1001),
    )


def _scipy_special() -> str:
    from scipy import stats

    q = np.linspace(0.01, 0.99, 197)
    return _digest(stats.t.ppf(q, 4), stats.norm.cdf(q * 6 - 3), stats.chi2.ppf(q, 9))


#: The operations the fingerprint covers, by name.
KERNELS: dict[str, Callable[[], str]] = {
    "torch float32 matmul": _torch_matmul32,
    "torch float64 matmul": _torch_matmul64,
    "torch linear backward": _torch_linear_backward,
    "torch exp/log/tanh/sigmoid": _torch_elementwise,
    "torch log_softmax/cross_entropy": _torch_softmax_loss,
    "torch sum/mean/var": _torch_reductions,
    "torch conv2d forward/backward": _torch_conv,
    "torch batch_norm": _torch_batchnorm,
    "torch SGD/Adam step": _torch_optimisers,
    "torch random streams": _torch_random,
    "numpy matmul (BLAS)": _numpy_matmul,
    "numpy exp/log/tanh/sum": _numpy_elementwise,
    "numpy random streams": _numpy_random,
    "scipy t/norm/chi2": _scipy_special,
}


def _versions() -> dict[str, str]:
    out = {"python": ".".join(map(str, sys.version_info[:2]))}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def kernel_fingerprint() -> dict[str, str]:
    """Hashes of every operation in `KERNELS` on this machine, plus versions.

    Runs as the chapters do: the CPU code path pinned where that is safe
    (`pin_cpu_code_path`, before torch's first operation) and one torch
    thread. Keys are "kernel: <name>" and "version: <package>"; values are
    short SHA-256 digests of the results' bytes, or version strings. Takes
    about a second.
    """
    pin_cpu_code_path()
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    state = torch.random.get_rng_state()
    try:
        fp = {f"kernel: {name}": fn() for name, fn in KERNELS.items()}
    finally:
        torch.random.set_rng_state(state)
        torch.set_num_threads(threads)
    fp.update({f"version: {k}": v for k, v in _versions().items()})
    return fp


@dataclass(frozen=True)
class Verdict:
    """How this machine's fingerprint compares with a recorded one."""

    recorded: bool
    differing: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """True when digits can be compared: recorded, and nothing differs."""
        return self.recorded and not self.differing

    def __str__(self) -> str:
        if not self.recorded:
            return "no recorded fingerprint: digits are not compared, only claims"
        if self.matches:
            return (
                "kernels match the recording machine: stored digits are compared "
                "exactly"
            )
        names = ", ".join(d.split(": ", 1)[1] for d in self.differing)
        return (
            f"{len(self.differing)} of {len(KERNELS) + len(_VERSIONED) + 1} "
            f"fingerprint entries differ ({names}): digits are not compared, "
            "only claims"
        )


def compare(recorded: dict[str, str] | None, current: dict[str, str]) -> Verdict:
    """Compare a recorded fingerprint with the current one, entry by entry.

    An entry present on one side only counts as differing.
    """
    if not recorded:
        return Verdict(False, ())
    keys = sorted(set(recorded) | set(current))
    return Verdict(True, tuple(k for k in keys if recorded.get(k) != current.get(k)))


def read_from_notebook(path: str | Path) -> dict[str, str] | None:
    """The fingerprint `record_in_notebook` stored in a notebook, or None."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    value = nb.get("metadata", {}).get(METADATA_KEY, {}).get("kernel_fingerprint")
    return dict(value) if isinstance(value, dict) else None


def record_in_notebook(path: str | Path, fingerprint: dict[str, str]) -> None:
    """Store `fingerprint` in the notebook's metadata, leaving its cells alone.

    The file is rewritten with nbformat's layout (one-space indent, sorted
    keys, a final newline), as Jupyter writes it.
    """
    p = Path(path)
    nb = json.loads(p.read_text(encoding="utf-8"))
    nb.setdefault("metadata", {}).setdefault(METADATA_KEY, {})["kernel_fingerprint"] = (
        dict(sorted(fingerprint.items()))
    )
    p.write_text(
        json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `record NB...`, `check NB...`, `partition NB...`, `show`.

    * `record`: store this machine's fingerprint in each notebook.
    * `check`: print one line per notebook; exit 1 if any differs.
    * `partition`: print the notebooks whose fingerprint matches on the first
      line and the others on the second (space-separated; either may be empty),
      and the verdicts on standard error. The Makefile runs strict nbval on the
      first list and nbval-lax on the second.
    * `show`: print this machine's fingerprint as JSON.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("record", "check", "partition", "show"):
        print(main.__doc__, file=sys.stderr)
        return 2
    command, paths = args[0], args[1:]
    current = kernel_fingerprint()
    if command == "show":
        print(json.dumps(current, indent=1, sort_keys=True))
        return 0
    if command == "record":
        for path in paths:
            record_in_notebook(path, current)
        return 0
    verdicts = {p: compare(read_from_notebook(p), current) for p in paths}
    if command == "check":
        for p, v in verdicts.items():
            print(f"{p}: {v}")
        return 0 if all(v.matches for v in verdicts.values()) else 1
    strict = [p for p, v in verdicts.items() if v.matches]
    lax = [p for p, v in verdicts.items() if not v.matches]
    for p, v in verdicts.items():
        print(f"fingerprint: {p}: {v}", file=sys.stderr)
    print(" ".join(strict))
    print(" ".join(lax))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
