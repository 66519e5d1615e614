"""No number in a chapter's prose can drift from what its code prints.

Every decimal number written in a chapter's markdown (``0.875``, ``1.5``, ``12.3``)
must appear in that chapter's code or in its stored outputs, or be inserted with
MyST-NB's glue (``{glue:text}`name```, which is not a literal and so is not
checked here). Numbers quoted from a source (a paper's figure, an article's
training log) belong in a code cell too, as data the chapter compares against;
the few that cannot are listed in :data:`ALLOWED` with the reason.

Integers are not checked: they are counts, epochs, seeds, years and section
numbers, which the prose legitimately repeats.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CHAPTERS = sorted(Path(__file__).resolve().parents[1].glob("chapters/[0-9]*.ipynb"))

#: Decimal numbers that may stand in prose without appearing in code or outputs,
#: per chapter file name, each with the reason.
ALLOWED: dict[str, dict[str, str]] = {}

DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d+)(?![\w.])")
# Things that look like decimals but are not measurements.
SKIP_CONTEXT = [
    re.compile(r"\{glue:[a-z]+\}`[^`]*`"),  # glued values
    re.compile(r"\{cite[a-z:]*\}`[^`]*`"),  # citation keys
    re.compile(r"\{(?:ref|numref|term|doc|prf:ref)\}`[^`]*`"),
    re.compile(r"https?://\S+"),  # URLs carry version numbers
    re.compile(r"`[^`]*`"),  # inline code: versions, identifiers, literals
    re.compile(
        r"\b(?:v|version|torch|keras|Keras|Python|PyTorch|Sphinx)\s*\d+(?:\.\d+)+"
    ),
    re.compile(r"§\s*\d+(?:\.\d+)*"),  # section numbers
    re.compile(
        r"(?:Section|section|Sec\.|sec\.|Figure|Fig\.|Table|Eq\.)\s*\d+(?:\.\d+)*"
    ),
    re.compile(r"```.*?```", re.S),  # code blocks in markdown
]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _outputs_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(
                "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
            )
        for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
            data = out.get("data", {}).get(mime)
            if data:
                parts.append("".join(data) if isinstance(data, list) else data)
    return "\n".join(parts)


def _forms(number: str) -> set[str]:
    """Spellings under which a prose number may appear in code or outputs."""
    forms = {number}
    whole, frac = number.split(".")
    forms.add(f"{whole}.{frac}".lstrip("0") or "0")  # .5 for 0.5
    if whole == "0":
        forms.add("." + frac)
    # 0.50 in prose, 0.5 in code
    forms.add(f"{whole}.{frac.rstrip('0')}" if frac.rstrip("0") else whole)
    return forms


def _prose_numbers(markdown: str) -> set[str]:
    for pattern in SKIP_CONTEXT:
        markdown = pattern.sub(" ", markdown)
    return set(DECIMAL.findall(markdown))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_prose_decimal_appears_in_code_or_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    prose = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = "\n".join(
        _source(c) + "\n" + _outputs_text(c)
        for c in nb["cells"]
        if c["cell_type"] == "code"
    )
    allowed = ALLOWED.get(path.name, {})
    missing = sorted(
        n
        for n in _prose_numbers(prose)
        if n not in allowed and not any(f in code for f in _forms(n))
    )
    assert not missing, (
        f"{path.name}: these numbers in the prose appear in no code cell or output: "
        f"{missing}. Glue them ({{glue:text}}), print them, or hold quoted figures as "
        "data in a code cell."
    )


def test_the_check_sees_numbers_and_skips_glue_code_and_citations() -> None:
    text = (
        "Accuracy rose to 0.875 while {glue:text}`acc:.3f` and `0.1234` and "
        "{cite:p}`hinton2012improving` and §7.4 do not count; 12 epochs neither."
    )
    assert _prose_numbers(text) == {"0.875"}
    assert "0.5" in _forms("0.50") and ".5" in _forms("0.5")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_glued_numbers_are_plain_python_numbers(path: Path) -> None:
    """A glued ``np.float64`` is stored as ``np.float64(0.8)`` and MyST-NB cannot format
    it (``{glue:text}`x:.3f``), so the number silently vanishes from the page."""
    nb = json.loads(path.read_text())
    bad = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = data.get("application/papermill.record/text/plain")
            if text is not None:
                value = "".join(text) if isinstance(text, list) else text
                if value.startswith(("np.", "array(", "tensor(")):
                    bad.append(value[:40])
    assert not bad, f"{path.name}: glue plain numbers (float(x), int(x)); got {bad}"
