"""The layering rule of `dropout_lib.studies` (see its package docstring).

A study module serves one chapter. A chapter's study may be split into parts
named `slug` and `slug_<part>` (chapter 5: `d2l` and `d2l_pitfalls`), which may
import each other; a study never imports another chapter's study; concept
modules never import a study.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dropout_lib"
STUDIES = sorted(p for p in (PACKAGE / "studies").glob("*.py") if p.stem != "__init__")


def same_chapter(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "_") or b.startswith(a + "_")


def imported_studies(path: Path) -> set[str]:
    """The study modules `path` imports, by name (relative or absolute imports)."""
    in_studies = path.parent.name == "studies"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 and in_studies:
                parts = module.split(".") if module else [a.name for a in node.names]
                found.add(parts[0])
            elif node.level >= 1 and module.startswith("studies"):
                rest = module.split(".")[1:] or [a.name for a in node.names]
                found.add(rest[0])
            elif module.startswith("dropout_lib.studies"):
                rest = module.split(".")[2:] or [a.name for a in node.names]
                found.add(rest[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dropout_lib.studies."):
                    found.add(alias.name.split(".")[2])
    return found


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_a_study_imports_only_its_own_chapters_studies(path):
    other = sorted(m for m in imported_studies(path) if not same_chapter(path.stem, m))
    assert not other, f"studies/{path.name} imports another chapter's study: {other}"


def test_concept_modules_import_no_study():
    offenders = {
        p.name: sorted(imported_studies(p))
        for p in PACKAGE.glob("*.py")
        if imported_studies(p)
    }
    assert not offenders, f"concept modules importing studies: {offenders}"


def test_the_rule_sees_the_d2l_split():
    assert "d2l" in imported_studies(PACKAGE / "studies" / "d2l_pitfalls.py")
    assert same_chapter("d2l_pitfalls", "d2l")
    assert not same_chapter("mc_dropout", "modern")
