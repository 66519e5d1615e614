"""The course as one PDF (``make pdf``): every page is in it, Chinese text included.

The PDF is printed by Chromium from the built site (``_ext/make_pdf.py``). Chinese text
is printed with whatever CJK font the machine has (``.ci/run`` installs WenQuanYi Micro
Hei); without one Chromium prints empty boxes, so the test requires an embedded CJK font
and reads the Chinese text back out of the PDF with poppler's ``pdftotext``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sitetools import ROOT, skip_or_fail, toc_pages

# _ext/make_pdf.py, importable once sitetools has put _ext on the path.
make_pdf = importlib.import_module("make_pdf")

CJK_FONT = re.compile(
    r"wenquanyi|noto\w*cjk|sourcehan|droidsansfallback|\bar\w*ming|ukai|uming", re.I
)


@pytest.fixture(scope="module")
def pdf(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if make_pdf.find_chromium() is None:
        skip_or_fail("Chromium not found: the PDF cannot be printed")
    for tool in ("pdftotext", "pdffonts"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} not found: install poppler-utils")
    out = tmp_path_factory.mktemp("pdf") / "course.pdf"
    # A process of its own, as `make pdf` runs it: Playwright's sync API cannot start
    # inside the event loop the other browser tests' session already runs.
    done = subprocess.run(
        [sys.executable, str(ROOT / "_ext" / "make_pdf.py"), str(site), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_pdf_embeds_a_cjk_font(pdf: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    assert CJK_FONT.search(fonts), f"no CJK font embedded in the PDF:\n{fonts}"


def test_pdf_has_every_chinese_summary_and_the_chinese_page(pdf: Path) -> None:
    text = _text(pdf)
    chapters = [p for p in toc_pages(ROOT / "_toc.yml") if p.startswith("chapters/")]
    boxes = text.count("本章要点（中文摘要）")
    assert boxes == len(chapters), (
        f"{boxes} Chinese summary boxes for {len(chapters)} chapters"
    )
    heading = (ROOT / "zh" / "index.md").read_text(encoding="utf-8")
    title = next(
        line[2:].strip() for line in heading.splitlines() if line.startswith("# ")
    )
    assert title in text, f"the Chinese landing page ({title!r}) is not in the PDF"
    for term in ("暂退法", "随机失活", "丢弃法"):
        assert term in text, f"{term} not readable in the PDF"


def test_pdf_has_every_page_of_the_book(pdf: Path, site: Path) -> None:
    """Each page of ``_toc.yml`` is in the PDF: its title is in the printed text."""
    from bs4 import BeautifulSoup

    text = " ".join(_text(pdf).split())
    missing = []
    for page in toc_pages(ROOT / "_toc.yml"):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        h1 = BeautifulSoup(html, "html.parser").select_one("article h1")
        assert h1 is not None, f"{page}: no <h1> in the built page"
        title = " ".join(h1.get_text(" ").replace("#", "").split())
        if title not in text:
            missing.append((page, title))
    assert not missing, f"pages whose title is not in the PDF: {missing}"
