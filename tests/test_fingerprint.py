"""Tests for dropout_lib.fingerprint and for the way `make test-notebooks` uses it.

The design promises two things (issue 16): where this machine's kernels match the
recording machine's, a wrong stored output fails; everywhere, a broken claim fails.
`test_make_test_notebooks_*` prove both on a small notebook through the real Makefile
target, so the wiring is tested, not only the functions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dropout_lib import fingerprint as fp

ROOT = Path(__file__).resolve().parents[1]


def test_fingerprint_is_deterministic_and_covers_every_kernel():
    a, b = fp.kernel_fingerprint(), fp.kernel_fingerprint()
    assert a == b
    assert {f"kernel: {k}" for k in fp.KERNELS} <= set(a)
    assert {"version: torch", "version: numpy", "version: python"} <= set(a)
    assert all(isinstance(v, str) and v for v in a.values())


def test_fingerprint_leaves_torch_state_alone():
    import torch

    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    threads = torch.get_num_threads()
    fp.kernel_fingerprint()
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_compare_names_what_differs():
    current = {"kernel: a": "1", "kernel: b": "2", "version: torch": "2.13.0"}
    assert fp.compare(dict(current), current).matches
    v = fp.compare({**current, "kernel: b": "3"}, current)
    assert not v.matches and v.differing == ("kernel: b",)
    assert "(b)" in str(v) and "only claims" in str(v)
    missing = fp.compare({"kernel: a": "1"}, current)
    assert set(missing.differing) == {"kernel: b", "version: torch"}
    nothing = fp.compare(None, current)
    assert not nothing.recorded and not nothing.matches
    assert "no recorded fingerprint" in str(nothing)


def test_a_kernel_on_another_code_path_changes_the_fingerprint():
    # torch's unvectorised kernels round differently from its AVX2 ones: the
    # fingerprint must see that (in a fresh process: torch reads the variable once).
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "DROPOUT_NO_PIN": "1"}
    code = "import json; from dropout_lib import fingerprint as f; "
    code += "print(json.dumps(f.kernel_fingerprint()))"
    other = json.loads(
        subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    here = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    import torch

    if str(torch.backends.cpu.get_cpu_capability()) == "DEFAULT":
        pytest.skip("this machine runs torch's default kernels already")
    assert fp.compare(here, other).differing


def test_record_and_read_round_trip(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert fp.read_from_notebook(path) is None
    fp.record_in_notebook(path, {"kernel: a": "1"})
    assert fp.read_from_notebook(path) == {"kernel: a": "1"}
    assert nbformat.read(path, as_version=4).cells[0].source == "1 + 1"


def test_cli_partition_and_check(tmp_path, capsys):
    here = fp.kernel_fingerprint()
    same, other, bare = (tmp_path / f"{n}.ipynb" for n in ("same", "other", "bare"))
    for path in (same, other, bare):
        nbformat.write(nbformat.v4.new_notebook(), path)
    fp.record_in_notebook(same, here)
    fp.record_in_notebook(other, {**here, "kernel: numpy matmul (BLAS)": "0"})
    assert fp.main(["partition", str(same), str(other), str(bare)]) == 0
    strict, lax = capsys.readouterr().out.splitlines()
    assert strict.split() == [str(same)]
    assert lax.split() == [str(other), str(bare)]
    assert fp.main(["check", str(same)]) == 0
    assert fp.main(["check", str(same), str(other)]) == 1
    assert "numpy matmul (BLAS)" in capsys.readouterr().out
    assert fp.main(["bogus"]) == 2


# --- the Makefile target, end to end -----------------------------------------------

TOY = [
    "from dropout_lib.stats import assert_claim, paired_diff\n"
    "print(f'{sum(i * 0.1 for i in range(10)):.3f}')",
    "a = [0.90, 0.91, 0.92, 0.90, 0.91, 0.92, 0.90, 0.91, 0.92, 0.91]\n"
    "b = [0.80, 0.80, 0.81, 0.80, 0.80, 0.81, 0.80, 0.80, 0.81, 0.80]\n"
    "_ = assert_claim('toy: A beats B', paired_diff(a, b), '>')",
]


def _toy_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in TOY])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, path)
    _record_in_fresh_process(path)


def _record_in_fresh_process(path: Path) -> None:
    # As `make refresh` does: a new process pins the code path before torch's
    # first kernel. (This test process may have run torch on another path already.)
    subprocess.run(
        [sys.executable, "-m", "dropout_lib.fingerprint", "record", str(path)],
        check=True,
    )


def _fresh_fingerprint() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "dropout_lib.fingerprint", "show"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def _edit(path: Path, cell: int, change) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    change(nb["cells"][cell])
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _make_test_notebooks(path: Path) -> subprocess.CompletedProcess:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        [
            make,
            "-s",
            "-C",
            str(ROOT),
            "-o",
            "setup",
            "-o",
            "data",
            "test-notebooks",
            f"NOTEBOOKS={path}",
            "JOBS=0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy.ipynb"
    _toy_notebook(path)
    return path


def test_make_test_notebooks_passes_a_faithful_notebook(toy, tmp_path):
    path = tmp_path / "faithful.ipynb"
    shutil.copy(toy, path)
    run = _make_test_notebooks(path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "stored digits compared" in run.stdout


def test_make_test_notebooks_fails_a_wrong_output_where_digits_reproduce(toy, tmp_path):
    path = tmp_path / "perturbed.ipynb"
    shutil.copy(toy, path)

    def perturb(cell):
        cell["outputs"][0]["text"] = "4.501\n"  # the true output is 4.500

    _edit(path, 0, perturb)
    run = _make_test_notebooks(path)
    assert run.returncode != 0 and "stored digits compared" in run.stdout


def test_make_test_notebooks_skips_digits_on_other_kernels(toy, tmp_path):
    path = tmp_path / "elsewhere.ipynb"
    shutil.copy(toy, path)
    _edit(path, 0, lambda cell: cell["outputs"][0].update(text="4.501\n"))
    other = {**_fresh_fingerprint(), "kernel: numpy matmul (BLAS)": "another"}
    fp.record_in_notebook(path, other)
    run = _make_test_notebooks(path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "claims only" in run.stdout


def test_make_test_notebooks_fails_a_broken_claim_everywhere(toy, tmp_path):
    for kernels in ("same", "other"):
        path = tmp_path / f"broken-{kernels}.ipynb"
        shutil.copy(toy, path)

        def break_claim(cell):
            source = "".join(cell["source"])
            cell["source"] = source.replace("'>')", "'<')")  # claims B beats A

        _edit(path, 1, break_claim)
        if kernels == "other":
            fp.record_in_notebook(path, {"kernel: torch float32 matmul": "another"})
        run = _make_test_notebooks(path)
        assert run.returncode != 0, (kernels, run.stdout)
