"""Library docstrings are plain text: chapters show them in listings and learners read
them with help(), where reStructuredText markup would stand raw."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "dropout_lib"
MODULES = sorted(LIB.rglob("*.py"))
MARKUP = re.compile(r":(?:math|func|class|mod|data|meth|attr|obj|exc):`|\.\. math::|``")


def _docstrings(tree: ast.AST):
    nodes = [tree, *ast.walk(tree)]
    for node in nodes:
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "name", "<module>"), doc


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_docstrings_have_no_rst_markup_or_control_characters(path: Path) -> None:
    bad = []
    for name, doc in _docstrings(ast.parse(path.read_text(encoding="utf-8"))):
        if MARKUP.search(doc):
            bad.append(f"{name}: {MARKUP.search(doc).group(0)!r}")
        if re.search(r"[\x00-\x08\x0b-\x1f]", doc):
            bad.append(f"{name}: a control character (an unescaped backslash?)")
    assert not bad, f"{path.name}: {bad}"
