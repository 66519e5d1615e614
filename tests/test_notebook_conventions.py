"""Static checks of every chapter notebook against the conventions in CONTRIBUTING.md.

Each check reads ``chapters/*.ipynb`` as JSON (nothing is executed) and names the cell
that breaks a rule:

- the first code cell is the setup cell (``tests/setup_cell.py``), tagged
  ``remove-cell``;
- no ``# NBVAL_*`` comment markers (use the cell tag ``nbval-ignore-output``);
- every cell with a figure output has ``mystnb`` figure name + caption and image alt;
- no solution code stands outside its fold: a code cell tagged ``solution``, or one
  that calls a checker imported from ``dropout_lib.exercises``, lies between a
  ``{solution-start}`` and its ``{solution-end}`` (a learner's scaffold cell that calls
  a checker outside a fold is tagged ``exercise``);
- at least one ``{term}`` link to the glossary, and every linked term exists;
- the ``course-meta`` box in the title cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from setup_cell import SETUP_CELL, SETUP_CELL_TAGS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
IMAGE_MIMES = ("image/png", "image/svg+xml", "image/jpeg")
TERM_ROLE = re.compile(r"\{term\}`([^`<]+?)(?:\s*<([^>]+)>)?`")
SOLUTION_START = re.compile(r"```+\{solution-start\}")
SOLUTION_END = re.compile(r"```+\{solution-end\}")
CHECKER_IMPORT = re.compile(
    r"from\s+dropout_lib\.exercises(?:\.\w+)?\s+import\s+\(?([\w\s,]+)\)?"
)


def checker_calls(cells: list[dict]) -> re.Pattern[str]:
    """Calls of any name the notebook imports from dropout_lib.exercises."""
    names = {
        name.strip()
        for cell in cells
        if cell["cell_type"] == "code"
        for match in CHECKER_IMPORT.finditer(source(cell))
        for name in match.group(1).split(",")
        if name.strip() and name.strip() != "as"
    }
    alternatives = "|".join(sorted(re.escape(n) for n in names)) or "(?!x)x"
    return re.compile(rf"\b(?:{alternatives})\(|\bexercises\.\w+\.\w+\(")


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def label(path: Path, index: int, cell: dict) -> str:
    first = source(cell).strip().splitlines()[:1]
    return f"{path.name} cell {index} ({first[0][:50] if first else 'empty'!r})"


def glossary_terms() -> set[str]:
    """Terms defined in glossary.md's ``{glossary}`` block, lower-cased."""
    text = (ROOT / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[-1].split("\n```", 1)[0]
    return {
        line.strip().lower()
        for line in block.splitlines()
        if line and not line[0].isspace() and not line.startswith(":")
    }


pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no chapter notebooks")
ids = [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_first_code_cell_is_the_setup_cell(path):
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name}: no code cell"
    first = code[0]
    assert source(first) == SETUP_CELL, (
        f"{path.name}: the first code cell is not tests/setup_cell.py's SETUP_CELL "
        "(paste it exactly, right after the title/objectives cell)"
    )
    assert tags(first) == SETUP_CELL_TAGS, (
        f"{path.name}: the setup cell's tags are {tags(first)}, "
        f"expected {SETUP_CELL_TAGS}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_nbval_comment_markers(path):
    bad = [
        label(path, i, c)
        for i, c in enumerate(load(path)["cells"])
        if c["cell_type"] == "code" and re.search(r"#\s*NBVAL_", source(c))
    ]
    assert not bad, (
        "`# NBVAL_*` markers show on the page; use the cell tag "
        f"'nbval-ignore-output' instead: {bad}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_figures_have_name_caption_and_alt(path):
    bad = []
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        if not any(
            mime in out.get("data", {})
            for out in cell.get("outputs", [])
            for mime in IMAGE_MIMES
        ):
            continue
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        figure, image = mystnb.get("figure", {}), mystnb.get("image", {})
        missing = [
            what
            for what, ok in (
                ("figure.name", str(figure.get("name", "")).startswith("fig-")),
                ("figure.caption", bool(str(figure.get("caption", "")).strip())),
                ("image.alt", len(str(image.get("alt", "")).strip()) >= 10),
            )
            if not ok
        ]
        if missing:
            bad.append(f"{label(path, i, cell)} lacks mystnb {', '.join(missing)}")
    assert not bad, (
        "figure cells need metadata {'mystnb': {'figure': {'name': 'fig-...', "
        "'caption': ...}, 'image': {'alt': ...}}}:\n  " + "\n  ".join(bad)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_solution_code_stays_inside_its_fold(path):
    cells = load(path)["cells"]
    calls = checker_calls(cells)
    inside, bad = False, []
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            for match in re.finditer(
                f"{SOLUTION_START.pattern}|{SOLUTION_END.pattern}", text
            ):
                opening = "solution-start" in match.group(0)
                if opening == inside:
                    bad.append(
                        f"{label(path, i, cell)}: "
                        + ("nested solution-start" if opening else "stray solution-end")
                    )
                inside = opening
        elif cell["cell_type"] == "code" and not inside:
            scaffold = "exercise" in tags(cell)
            if "solution" in tags(cell) or (calls.search(text) and not scaffold):
                bad.append(f"{label(path, i, cell)}: solution code outside a fold")
    if inside:
        bad.append(f"{path.name}: a solution-start without its solution-end")
    assert not bad, (
        "put solution code cells between {solution-start} and {solution-end}:\n  "
        + "\n  ".join(bad)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_links_glossary_terms_that_exist(path):
    text = "\n".join(
        source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"
    )
    used = [(m.group(2) or m.group(1)).strip() for m in TERM_ROLE.finditer(text)]
    assert used, f"{path.name}: no {{term}} link; link glossary terms at first use"
    known = glossary_terms()
    unknown = sorted({t for t in used if t.lower() not in known})
    assert not unknown, f"{path.name}: terms not in glossary.md: {unknown}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_title_cell_has_course_meta(path):
    cells = load(path)["cells"]
    first = cells[0] if cells else {}
    assert first.get("cell_type") == "markdown" and source(first).startswith("# "), (
        f"{path.name}: the first cell is not the '# N. Title' markdown cell"
    )
    assert "{course-meta}" in source(first), (
        f"{path.name}: the title cell has no course-meta box"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_learning_objectives_are_listed_once_each(path):
    """No bullet of the title cell (objectives, prerequisites) is repeated."""
    cells = load(path)["cells"]
    text = source(cells[0]) if cells else ""
    items: list[str] = []
    for line in text.splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
    repeated = sorted({i for i in items if items.count(i) > 1})
    assert not repeated, (
        f"{path.name}: list items repeated in the title cell: {repeated}"
    )


def test_every_chapter_is_in_the_home_pages_chapter_map():
    """intro.md's chapter map names every chapter the table of contents lists."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    chapters = re.findall(r"file:\s*(chapters/\d\d_\w+)", toc)
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    section = intro.split("## Chapter map", 1)[-1].split("\n## ", 1)[0]
    missing = [c for c in chapters if f"{{doc}}`{c}`" not in section]
    assert chapters and not missing, f"chapters missing from intro.md's map: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapter_has_its_chinese_summary(path):
    """Each chapter shows its 本章要点 box (zh/summaries/NN.md) after its title."""
    number = path.name[:2]
    summary = ROOT / "zh" / "summaries" / f"{number}.md"
    assert summary.is_file(), f"{path.name}: no Chinese summary {summary.name}"
    cells = load(path)["cells"]
    box = source(cells[1]) if len(cells) > 1 else ""
    assert "本章要点" in box and f"../zh/summaries/{number}.md" in box, (
        f"{path.name}: the second cell is not the folded 本章要点 box including "
        f"zh/summaries/{number}.md"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_cells_stay_thin(path):
    """No code cell has more than 40 non-blank lines: experiments live in studies/."""
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = [line for line in source(cell).splitlines() if line.strip()]
        assert len(lines) <= 40, (
            f"{label(path, i, cell)}: {len(lines)} non-blank lines > 40; "
            "move the experiment into dropout_lib/studies"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_glued_name_in_the_text_is_stored(path):
    """A {glue:text} name the prose uses was glued by the notebook's stored outputs
    (a missing one fails the -W build with 'No key ... found in glue data')."""
    used, stored = set(), set()
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            used |= set(re.findall(r"\{glue(?::text)?\}`([^`:]+)", source(cell)))
        for out in cell.get("outputs", []):
            if "application/papermill.record/text/plain" in out.get("data", {}):
                stored.add(out.get("metadata", {}).get("scrapbook", {}).get("name"))
    missing = sorted(used - stored)
    assert not missing, f"{path.name}: glued names used but not stored: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_warning_or_error_text_on_the_page(path):
    """No stored stderr output: a warning printed by a cell shows on the website as a
    red box with the kernel's temporary path. A cell that demonstrates a warning
    catches it (warnings.catch_warnings) and prints what it needs. The figures use
    constrained layout (chapters/matplotlibrc), so tight_layout is never called: it
    warns that it overrides the layout."""
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert "tight_layout" not in source(cell), (
            f"{label(path, i, cell)}: calls tight_layout; the course's figures use "
            "constrained layout (chapters/matplotlibrc)"
        )
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            assert not (
                out.get("output_type") == "stream" and out.get("name") == "stderr"
            ), f"{label(path, i, cell)}: stores stderr output: {text[:120]!r}"
