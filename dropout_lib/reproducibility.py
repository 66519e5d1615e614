"""Seeds, threads, devices and the numerical code path: what makes outputs reproduce.

Bit-for-bit reproduction of a stored output needs the same seed, the same
pinned package versions, one torch thread, and the same *numerical code path*.
PyTorch's CPU build picks its kernels by the processor's instruction set
(ATen's vectorised kernels, oneDNN's convolutions, MKL's matrix products), and
kernels for different instruction sets round differently. The course pins the
AVX2 path (`PINNED_CPU_PATH`) on x86-64 processors that have AVX2, which
narrows the spread between machines; it does not close it (NumPy's OpenBLAS and
its SIMD loops, and MKL's branches, still choose by CPU model), so whether a
machine reproduces the stored digits is measured, not assumed
(`dropout_lib.fingerprint`). ARM processors and GPUs take other paths: their
numbers differ in the last digits and, through training, by more; the
chapters' *claims* are asserted so that they hold there as well.
"""

from __future__ import annotations

import os
import platform
import random
import re
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .validation import check_int, check_seed

if TYPE_CHECKING:
    import torch

__all__ = [
    "NO_PIN_VARIABLE",
    "PINNED_CPU_PATH",
    "cpu_has_avx2",
    "normalize_name",
    "parse_pins",
    "pin_report",
    "get_device",
    "numerical_environment",
    "on_pinned_path",
    "pin_cpu_code_path",
    "seed_everything",
]

#: Environment variables that select torch's AVX2 code path on any x86-64 CPU.
PINNED_CPU_PATH: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2",
}

#: Set this environment variable (to anything but "" or "0") to pin nothing.
NO_PIN_VARIABLE = "DROPOUT_NO_PIN"

_warned = False


def _is_x86_64() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def cpu_has_avx2() -> bool:
    """True when the processor reports AVX2 (and FMA3, which torch's AVX2
    kernels use too), as NumPy's run-time CPU detection sees it."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import (  # type: ignore[no-redef]
                __cpu_features__ as features,
            )
        except ImportError:
            return False
    return bool(features.get("AVX2")) and bool(features.get("FMA3"))


def pin_cpu_code_path() -> bool:
    """Set `PINNED_CPU_PATH` in `os.environ` where it is not set yet and safe.

    Call it before the first torch operation (the chapters' setup cell does):
    torch reads the variables when it first dispatches a kernel. A variable the
    caller has set already is left alone, so a deliberate other path wins.
    Does nothing off x86-64 (the variables have no meaning there), on an
    x86-64 processor without AVX2 (forcing a path the processor lacks is not
    safe), or when the environment variable `DROPOUT_NO_PIN` is set (the
    robustness pass runs every library on its own default path). Returns True
    when the pinned values are in force.
    """
    if os.environ.get(NO_PIN_VARIABLE, "") not in ("", "0"):
        return False
    if not (_is_x86_64() and cpu_has_avx2()):
        return False
    for key, value in PINNED_CPU_PATH.items():
        os.environ.setdefault(key, value)
    return all(os.environ.get(k) == v for k, v in PINNED_CPU_PATH.items())


def numerical_environment() -> dict[str, str]:
    """What decides the digits: machine, CPU capability, the pins, threads, GPU."""
    env = {"machine": platform.machine(), "python": sys.version.split()[0]}
    env.update({k: os.environ.get(k, "(unset)") for k in PINNED_CPU_PATH})
    try:
        import torch
    except ImportError:
        return env
    env["torch"] = torch.__version__
    env["cpu_capability"] = str(torch.backends.cpu.get_cpu_capability())
    env["threads"] = str(torch.get_num_threads())
    env["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return env


def on_pinned_path() -> bool:
    """True when the chapters run the code path the stored outputs were made with.

    That is: x86-64, the variables of `PINNED_CPU_PATH` set, torch's CPU
    capability AVX2, and no GPU (with a GPU present, `get_device` trains on
    it).
    """
    env = numerical_environment()
    pinned = all(env.get(k) == v for k, v in PINNED_CPU_PATH.items())
    cpu_only = env.get("cuda", "none") == "none"
    return _is_x86_64() and pinned and env.get("cpu_capability") == "AVX2" and cpu_only


def _warn_if_other_path() -> None:
    """Warn once per process when the digits cannot match the stored outputs."""
    global _warned
    if _warned or on_pinned_path():
        return
    _warned = True
    env = numerical_environment()
    where = f"{env['machine']}, torch CPU capability {env.get('cpu_capability', '?')}"
    if env.get("cuda", "none") != "none":
        where += f", GPU {env['cuda']}"
    warnings.warn(
        f"dropout_lib: torch runs another numerical code path than the stored outputs "
        f"({where}); printed numbers may differ from the book's in their last digits, "
        "and the chapters' asserted claims still hold.",
        RuntimeWarning,
        stacklevel=3,
    )


def seed_everything(seed: int, threads: int = 1) -> np.random.Generator:
    """Seed Python's `random`, NumPy's global state and PyTorch, fix torch's
    thread count and turn on torch's deterministic algorithms.

    Side effects on the whole process, not undone on return: besides the seeds
    and the thread count, it calls `torch.use_deterministic_algorithms(True,
    warn_only=True)`, so every later torch operation picks its deterministic
    implementation where one exists and warns (a `UserWarning`, no error) where
    none does. It also sets `PYTHONHASHSEED` in `os.environ` if unset (which
    only affects child processes).

    PyTorch's CPU results depend on the number of threads (floating-point sums
    are split differently), so stored outputs only reproduce with a fixed count.
    The default is one thread: the course's models are small, so a second thread
    buys little, and one thread per process keeps the results independent of the
    machine's core count and avoids oversubscription when tests run notebooks in
    parallel. Warns once (a `RuntimeWarning`) when torch runs another numerical
    code path than the pinned one (`on_pinned_path`):
    ARM, a GPU, or the variables of `PINNED_CPU_PATH` unset. Returns a fresh
    `numpy.random.Generator` seeded with `seed` for code that takes an explicit
    `rng`.
    """
    seed = check_seed(seed)
    threads = check_int(threads, "threads", 1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch
    except ImportError:  # NumPy-only use of the library
        pass
    else:
        torch.manual_seed(seed)
        torch.set_num_threads(int(threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
        _warn_if_other_path()
    return np.random.default_rng(seed)


def get_device(prefer_gpu: bool = True) -> torch.device:
    """`torch.device('cuda')` when a GPU is present (and wanted), else the CPU."""
    import torch

    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


# --------------------------------------------------------------------------
# Pinned versions: requirements.txt against what is installed
# --------------------------------------------------------------------------

_PIN = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)"
)


def normalize_name(name: str) -> str:
    """Canonical distribution name (PEP 503): lower case, runs of `-_.` become `-`."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(text: str) -> dict[str, str]:
    """Map each distribution pinned exactly (`name==version`) to its version.

    Comments, blank lines, options (`-r`, `--index-url`), unpinned or range
    requirements are ignored; extras (`name[extra]==v`) and environment markers
    (`name==v ; python_version > "3"`) are allowed. Names are normalised with
    `normalize_name`, so `scikit_learn==1.0` is found as `scikit-learn`.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(line.split("#", 1)[0])
        if match:
            pins[normalize_name(match.group(1))] = match.group(2)
    return pins


def pin_report(requirements: str | Path) -> dict[str, list[str]]:
    """Compare every exact pin in `requirements` with the installed distributions.

    Returns three lists of package names, each sorted: "installed at the pinned
    version", "at another version" (entries read `name: pinned X, has Y`) and
    "not installed". A local version label is ignored (torch's CPU wheel reports
    `2.13.0+cpu` for the pin `2.13.0`). Every pin lands in exactly one list.
    Raises `FileNotFoundError` when the file does not exist.
    """
    pins = parse_pins(Path(requirements).read_text(encoding="utf-8"))
    installed = {
        normalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]  # broken installs can lack a name
    }
    report: dict[str, list[str]] = {
        "installed at the pinned version": [],
        "at another version": [],
        "not installed": [],
    }
    for name, pinned in sorted(pins.items()):
        version = installed.get(name)
        if version is None:
            report["not installed"].append(name)
        elif version.split("+")[0] != pinned:
            report["at another version"].append(
                f"{name}: pinned {pinned}, has {version}"
            )
        else:
            report["installed at the pinned version"].append(name)
    return report
