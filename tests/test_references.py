"""references.bib parses, and every key the book cites is in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pybtex.database

ROOT = Path(__file__).resolve().parents[1]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def _texts() -> dict[str, str]:
    texts = {}
    for path in sorted(ROOT.glob("chapters/[0-9]*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        texts[path.name] = "\n".join(
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        )
    book_pages = ("intro.md", "glossary.md", "bibliography.md")
    for path in [*(ROOT / p for p in book_pages), *ROOT.glob("zh/**/*.md")]:
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return texts


def test_references_parse_and_every_cited_key_exists():
    db = pybtex.database.parse_file(str(ROOT / "references.bib"))
    keys = set(db.entries)
    assert len(keys) > 40
    missing = {
        (name, key.strip())
        for name, text in _texts().items()
        for group in CITE.findall(text)
        for key in group.split(",")
        if key.strip() not in keys
    }
    assert not missing, f"cited but not in references.bib: {sorted(missing)}"
