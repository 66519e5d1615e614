"""No page of the built website shows MyST or Sphinx markup as text.

A directive the parser did not recognise (for example a backtick fence whose title
holds backticks, which CommonMark does not parse as a fence) is printed verbatim,
and its stray closing fence can turn the prose after it into a code block. The -W
build does not catch this. This test reads every built HTML page of the book and
fails on any directive fence, directive or role name, or directive option left as
text, inside or outside code blocks. Run after `make book` (it is part of
`make test-browser`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sitetools import ROOT, toc_pages

HTML = ROOT / "_build" / "html"
PAGES = toc_pages()

DIRECTIVES = (
    "admonition|literalinclude|exercise|solution|solution-start|solution-end|"
    "bibliography|course-meta|figure|glossary|note|warning|tip|important|"
    "math|proof:[a-z]+|prf:[a-z]+|code-cell|dropdown|glue:figure|glue|toctree"
)
ROLES = "glue:text|glue|term|doc|numref|ref|cite|cite:[a-z]+|eq|math|download"
RAW = [
    (
        re.compile(rf"(`{{3,}}|~{{3,}}|:{{3,}})\s*\{{({DIRECTIVES})\}}"),
        "directive fence",
    ),
    (re.compile(rf"\{{({ROLES})\}}`"), "role"),
    (re.compile(rf"(?<![\w`]){{({DIRECTIVES})\}}"), "directive name"),
    (
        re.compile(
            r"^\s*:(pyobject|language|class|label|filter|caption|name):\s", re.M
        ),
        "directive option",
    ),
    (re.compile(r"^\s*`{4,}\s*$", re.M), "stray closing fence"),
]


class _Text(HTMLParser):
    """All text of the page's main content; scripts, styles and inline code
    (`<code>` outside `<pre>`, where a page shows markup on purpose) left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._in_main = 0
        self._pre = 0

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self._pre += 1
        if tag in ("script", "style") or (tag == "code" and not self._pre):
            self._skip += 1
        if tag == "main":
            self._in_main += 1

    def handle_endtag(self, tag):
        if tag == "pre" and self._pre:
            self._pre -= 1
        if (tag in ("script", "style") or (tag == "code" and not self._pre)) and (
            self._skip
        ):
            self._skip -= 1
        if tag == "main" and self._in_main:
            self._in_main -= 1

    def handle_data(self, data):
        if self._in_main and not self._skip:
            self.parts.append(data)


def raw_markup(html: str) -> list[str]:
    """The pieces of raw markup visible in `html`, with what kind each is."""
    parser = _Text()
    parser.feed(html)
    text = "".join(parser.parts)
    found = []
    for pattern, kind in RAW:
        for m in pattern.finditer(text):
            found.append(f"{kind}: {m.group(0).strip()[:60]!r}")
    return found


def test_raw_markup_detector_sees_what_it_must():
    page = "<main><p>{term}`Dropout` and</p><pre>````{admonition} Listing: `x`\n"
    page += ":class: dropdown\n````\n</pre><p>:::{note}</p></main>"
    kinds = {f.split(":")[0] for f in raw_markup(page)}
    assert kinds == {
        "role",
        "directive fence",
        "directive name",
        "directive option",
        "stray closing fence",
    }
    clean = "<main><p>Dropout</p><pre>print({'a': 1})\nx = f'{y}'</pre>"
    clean += "<p>Write <code>{term}`dropout`</code> to link.</p></main>"
    assert raw_markup(clean) == []
    hidden = "<main><script>var a = '{term}`x`';</script></main><p>{doc}`y`</p>"
    assert raw_markup(hidden) == []


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_markup_on_the_page(page):
    path = HTML / f"{page}.html"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make book` first")
    found = raw_markup(path.read_text(encoding="utf-8"))
    assert not found, f"{page}.html shows raw markup: {found[:8]}"
