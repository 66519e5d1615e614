"""The chapters' setup cell, run where dropout_lib is missing (Colab, Binder), offline.

The test builds a wheel of dropout_lib from a copy of the package sources, makes a fresh
virtual environment that sees every package of the course's ``.venv`` EXCEPT dropout_lib
(a ``.pth`` file adds a directory of links to ``.venv``'s site-packages, minus
dropout_lib's files), and runs chapter 0's setup cell and imports cell there with
``DROPOUT_LIB_SOURCE=file://<wheel>`` and ``PIP_NO_INDEX=1``: the cell must install the
wheel with its ``[course]`` extras (all already satisfied, so nothing is downloaded) and
``import dropout_lib`` must work afterwards. A second run of the setup cell must install
nothing (it is silent where dropout_lib is importable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from setup_cell import SETUP_CELL

ROOT = Path(__file__).resolve().parents[1]
CHAPTER0 = ROOT / "chapters" / "00_setup.ipynb"


def _is_dropout_lib(name: str) -> bool:
    n = name.lower().replace("-", "_")
    return n.startswith(
        ("dropout_lib", "__editable__.dropout_lib", "__editable___dropout")
    )


def chapter0_first_code_cells(n: int = 2) -> list[str]:
    cells = json.loads(CHAPTER0.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"][:n]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "dropout_lib",
        src / "dropout_lib",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-q", "-w", str(out), str(src)],
        check=True,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    (found,) = out.glob("dropout_lib-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    """A new venv that sees .venv's packages (pip included) but not dropout_lib.

    Made without ensurepip: its own setuptools 65 would shadow the course's newer one.
    """
    base = tmp_path_factory.mktemp("venv")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    ours = Path(sysconfig.get_paths()["purelib"])
    links = base / "course-site-packages"
    links.mkdir()
    for entry in ours.iterdir():
        if not _is_dropout_lib(entry.name) and entry.name != "__pycache__":
            (links / entry.name).symlink_to(entry)
    new_site = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # An "import" line in a .pth file runs at start-up: addsitedir also processes the
    # linked .pth files (setuptools' distutils shim and the like).
    (Path(new_site) / "zz_course_packages.pth").write_text(
        f"import site; site.addsitedir({str(links)!r})\n", encoding="utf-8"
    )
    return python


def run(python: Path, code: str, env: dict[str, str], cwd: Path):
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_setup_cell_installs_the_wheel_offline(wheel, fresh_python, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))
    }
    env.update(
        DROPOUT_LIB_SOURCE=wheel.as_uri(),
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        MPLBACKEND="Agg",
    )
    missing = run(
        fresh_python,
        "import importlib.util as u; print(u.find_spec('dropout_lib') is None)",
        env,
        tmp_path,
    )
    assert missing.stdout.strip() == "True", (
        "the fresh environment already sees dropout_lib: the test would prove nothing\n"
        + missing.stdout
        + missing.stderr
    )
    assert run(fresh_python, "import torch, numpy", env, tmp_path).returncode == 0, (
        "the fresh environment does not see the course's packages"
    )

    setup, imports = chapter0_first_code_cells()
    assert setup == SETUP_CELL, "chapter 0 does not start with the setup cell"
    first = run(fresh_python, setup + "\n" + imports, env, tmp_path)
    assert first.returncode == 0, (
        f"chapter 0's first cells failed:\n{first.stdout}\n{first.stderr[-3000:]}"
    )
    assert "dropout_lib" in first.stdout and "imports" in first.stdout, first.stdout

    where = run(
        fresh_python,
        "import dropout_lib, pathlib; print(pathlib.Path(dropout_lib.__file__).parent)",
        env,
        tmp_path,
    )
    assert where.returncode == 0, where.stderr
    installed = Path(where.stdout.strip())
    assert ROOT not in installed.parents, (
        f"dropout_lib was imported from the checkout ({installed}), not the wheel"
    )

    again = run(fresh_python, setup, env, tmp_path)
    assert again.returncode == 0 and not again.stdout.strip(), (
        f"the setup cell should be silent once dropout_lib is installed:\n"
        f"{again.stdout}\n{again.stderr}"
    )
