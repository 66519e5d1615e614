"""`.pre-commit-config.yaml` runs exactly what `make lint` runs, with the pinned ruff.

The Makefile's `lint` recipe is the source of truth (CI runs it); the hooks
are a convenience for contributors. This test reads both and fails when one
gains, loses or changes a command, a path or the ruff version.
"""

import re
import shlex
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]

# what each hook of astral-sh/ruff-pre-commit runs, before its `args`
HOOK_COMMANDS = {"ruff-check": ("ruff", "check"), "ruff-format": ("ruff", "format")}


def _lint_recipe() -> list[list[str]]:
    """The commands of the Makefile's `lint` target, as argument lists."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^lint\s*:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(shlex.split(line.strip()))
    return recipe


def _makefile_commands() -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(command and flags, paths) of each lint line, with `$(VENV)/bin/` dropped."""
    out = set()
    for argv in _lint_recipe():
        tool = argv[0].rsplit("/", 1)[-1]
        words = [tool, *argv[1:]]
        flags = tuple(
            w for w in words if w.startswith("-") or w in ("ruff", "check", "format")
        )
        paths = tuple(sorted(w for w in words if w not in flags))
        out.add((flags, paths))
    return out


def _hook_commands() -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    out = set()
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            cmd = HOOK_COMMANDS[hook["id"]]  # an unknown hook fails here
            files = re.fullmatch(r"\^\(([^()]+)\)/", hook["files"])
            assert files, f"hook {hook['id']}: files must be ^(dir|dir|...)/"
            paths = tuple(sorted(files.group(1).split("|")))
            out.add(((*cmd, *hook.get("args", [])), paths))
            assert "jupyter" in hook["types_or"], "make lint checks notebooks too"
    return out


def test_makefile_lint_has_commands():
    assert len(_lint_recipe()) >= 2


def test_hooks_run_exactly_the_lint_commands():
    assert _hook_commands() == _makefile_commands()


def test_hook_rev_is_the_pinned_ruff():
    pins = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    ruff = re.search(r"^ruff==(\S+)$", pins, flags=re.MULTILINE)
    assert ruff, "requirements.txt must pin ruff"
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    (repo,) = [r for r in config["repos"] if r["repo"].endswith("ruff-pre-commit")]
    assert repo["rev"] == f"v{ruff.group(1)}"
