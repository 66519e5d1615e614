"""The book's claims ledger: every asserted claim replicates, within one budget.

`dropout_lib.stats.assert_claim` prints one line per asserted claim,
``claim ✓ <name>: <interval>; <statement>: <tier> (re-run risk R)``. This test
reads those lines from the *stored* outputs (what `make refresh` recorded) and
requires:

- every asserted claim was in the tier "replicates" when it was recorded
  (re-run risk at most `MAX_REPLICATION_RISK`);
- the risks of all asserted claims in the book sum to at most
  `BOOK_RISK_BUDGET`: by the union bound, the chance that any asserted claim
  fails when the book is re-executed on a new machine;
- no chapter asserts a comparison over seeds by hand (`assert d.a_better`,
  `assert eq.equivalent`, ...): every such claim goes through `assert_claim`,
  so it is in the ledger.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dropout_lib.stats import BOOK_RISK_BUDGET, MAX_REPLICATION_RISK

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
LINE = re.compile(
    r"^claim ✓ (?P<name>.+?): .*: (?P<tier>\w+) \(re-run risk (?P<risk>[^)]+)\)$"
)
BY_HAND = re.compile(
    r"^\s*assert\b.*\.(a_better|b_better|decisive|equivalent|lo|hi)\b", re.MULTILINE
)


def _text(cell: dict) -> str:
    out = []
    for o in cell.get("outputs", []):
        t = o.get("text", "")
        out.append("".join(t) if isinstance(t, list) else t)
    return "".join(out)


def _source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def ledger(path: Path) -> list[tuple[str, str, float]]:
    """(name, tier, risk) of every claim the stored outputs of `path` assert."""
    rows = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        for line in _text(cell).splitlines():
            if line.startswith("claim ✓ "):
                m = LINE.match(line)
                assert m, f"{path.name}: unreadable ledger line {line!r}"
                risk_text = m["risk"].replace("< ", "")
                rows.append((m["name"], m["tier"], float(risk_text)))
    return rows


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_asserted_claim_replicates(path: Path) -> None:
    for name, tier, risk in ledger(path):
        assert tier == "replicates" and risk <= MAX_REPLICATION_RISK, (
            f"{path.name}: '{name}' was asserted in tier {tier!r} with re-run risk "
            f"{risk:.1e} > {MAX_REPLICATION_RISK:g}: give it more seeds or report it "
            "with stats.claim instead of asserting it"
        )


def test_the_book_stays_within_its_risk_budget() -> None:
    per_chapter = {p.name: sum(r for _, _, r in ledger(p)) for p in NOTEBOOKS}
    total = sum(per_chapter.values())
    assert total <= BOOK_RISK_BUDGET, (
        f"asserted claims' re-run risks sum to {total:.2e} > {BOOK_RISK_BUDGET:g}: "
        f"{ {k: f'{v:.1e}' for k, v in per_chapter.items()} }"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_claim_over_seeds_is_asserted_by_hand(path: Path) -> None:
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "code":
            m = BY_HAND.search(_source(cell))
            assert m is None, (
                f"{path.name} cell {i}: {m.group(0).strip()!r}: assert a claim over "
                "seeds with dropout_lib.stats.assert_claim, so the ledger sees it"
            )
