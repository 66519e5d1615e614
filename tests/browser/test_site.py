"""The built website in a real browser (Debian's Chromium driven by Playwright).

For every page listed in ``_toc.yml``: it is served with status 200, logs no console
error, requests nothing outside 127.0.0.1, renders its math with the bundled MathJax (no
raw TeX left in the text, no MathJax error), loads every image, and its internal links
and anchors resolve. Chapter pages show the course-meta box (times, "Verified with"
versions equal to requirements.txt), learning objectives and prerequisites, the download
button for the notebook, and launch/repository buttons built from ``repository.url``.
Solutions are folded until clicked. The search page finds "dropout" and "variance
shift", and the Chinese words "暂退法" and "随机失活" find the Chinese landing page.
A full-page screenshot of each page is saved under ``_build/screenshots/``.

Run with ``make test-browser`` (builds the site first) or, on an already built site,
``.venv/bin/python -m pytest -q tests/browser``.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

import pytest
from sitetools import ROOT, repository_config, source_of, toc_pages

sys.path.insert(0, str(ROOT / "_ext"))
from course_meta import KEY_PACKAGES, pinned_versions

PAGES = toc_pages()
# Text the reader sees, minus code: raw TeX left here means MathJax did not typeset it.
RAW_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$\n]*\\[A-Za-z]+[^$\n]*\$"
)
LOAD_TIMEOUT_MS = 60_000
# Font families that draw Chinese: what Debian, macOS, Windows and Android ship.
CJK_FAMILY = re.compile(
    r"wenquanyi|noto \w* ?cjk|source han|droid sans fallback|ar pl|pingfang|"
    r"hiragino|heiti|songti|microsoft yahei|simsun|simhei",
    re.I,
)
# Bytes a first visit (empty cache, no compression) may transfer, on every page; chapter
# pages have test_layout.py's tighter budget (2.5 MB, with a table of what loads).
PAGE_WEIGHT_BUDGET = 4_000_000

VISIBLE_TEXT_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, '
    + '.highlight, .cell_input, .output, .cell_output, textarea')
    .forEach(e => e.remove());
  return copy.textContent;
}"""

MATH_JS = """async () => {
  const sources = document.querySelectorAll('.math, span.math, div.math').length;
  if (!window.MathJax) return {sources, loaded: false};
  if (MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return {
    sources,
    loaded: true,
    rendered: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
      .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
  };
}"""

IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); })));
  return imgs.map(i => ({src: i.currentSrc || i.src,
                         ok: i.complete && i.naturalWidth > 0}));
}"""


def page_url(base_url: str, page: str) -> str:
    return urljoin(base_url, page + ".html")


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


class Visit:
    """One page loaded in a fresh browser context, with all it logged and requested."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.bytes = 0
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on(
            "pageerror", lambda e: self.console_errors.append(f"uncaught: {e}")
        )
        self.page.on(
            "requestfailed",
            lambda r: (
                self.failed.append(f"{r.url} ({r.failure})")
                if is_local(r.url)
                else None
            ),
        )
        self.page.on("response", self._count)
        self.page.route("**/*", self._route)
        self.response = self.page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        self.page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)

    def _count(self, response):
        try:
            self.bytes += int(response.headers.get("content-length", 0))
        except ValueError:
            pass

    def _route(self, route):
        if is_local(route.request.url):
            route.continue_()
        else:  # record and block: the site must work with no network at all
            self.external.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, base_url):
    opened: list[Visit] = []

    def _open(url: str) -> Visit:
        opened.append(Visit(browser, url))
        return opened[-1]

    yield _open
    for v in opened:
        v.close()


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def test_toc_lists_pages_with_sources():
    assert PAGES[0] == "intro" and "glossary" in PAGES and "bibliography" in PAGES
    missing = []
    for page in PAGES:
        try:
            source_of(page)
        except FileNotFoundError:
            missing.append(page)
    assert not missing, f"_toc.yml lists pages with no .ipynb/.md source: {missing}"


@pytest.fixture(scope="session")
def page_weights(screenshots):
    """Each page's first-load weight, written to _build/screenshots/page-weight.tsv."""
    weights: dict[str, int] = {}
    yield weights
    if weights:
        lines = [f"{page}\t{n}" for page, n in weights.items()]
        (screenshots / "page-weight.tsv").write_text(
            "page\tbytes\n" + "\n".join(lines) + "\n"
        )


@pytest.mark.parametrize("page", PAGES)
def test_page(page, visit, base_url, screenshots, page_weights):
    """Status, console, network, math, images and (for chapters) the page furniture."""
    v = visit(page_url(base_url, page))
    problems: list[str] = []
    status = None if v.response is None else v.response.status
    assert status == 200, (
        f"{page}: HTTP {status} (is the page in the build? run `make book`)"
    )

    math = v.page.evaluate(MATH_JS)
    if math["sources"]:
        if not math["loaded"]:
            problems.append(f"{math['sources']} math elements but MathJax did not load")
        elif math["rendered"] < math["sources"]:
            problems.append(
                f"MathJax rendered {math['rendered']} of {math['sources']} formulas"
            )
        if math.get("errors"):
            problems.append(f"MathJax errors (bad TeX?): {math['errors']}")
    raw = RAW_TEX.findall(v.page.evaluate(VISIBLE_TEXT_JS))
    if raw:
        problems.append(f"raw TeX left in the text (math not rendered): {raw[:5]}")

    broken = [img["src"] for img in v.page.evaluate(IMAGES_JS) if not img["ok"]]
    if broken:
        problems.append(f"images that did not load: {broken}")

    page_weights[page] = v.bytes
    if v.bytes > PAGE_WEIGHT_BUDGET:
        problems.append(
            f"first load transfers {v.bytes / 1e6:.1f} MB "
            f"(budget {PAGE_WEIGHT_BUDGET / 1e6:.0f} MB)"
        )

    name = page.replace("/", "__")
    v.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)

    if v.console_errors:
        problems.append(f"console errors: {v.console_errors}")
    if v.external:
        problems.append(f"requests outside 127.0.0.1: {sorted(set(v.external))}")
    if v.failed:
        problems.append(f"failed requests: {v.failed}")

    source = source_of(page)
    if page.startswith("chapters/"):
        problems += chapter_furniture(v.page)
    if source.suffix == ".ipynb":
        problems += notebook_buttons(v.page, page, base_url)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def chapter_furniture(page) -> list[str]:
    """The course-meta box, objectives and prerequisites every chapter page shows."""
    problems = []
    meta = page.locator(".course-meta")
    if meta.count() != 1:
        return [f"expected one course-meta box, found {meta.count()}"]
    text = meta.inner_text()
    for label in ("Reading time", "Running time", "Verified with"):
        if label not in text:
            problems.append(f"course-meta box lacks {label!r}")
    for name, version in pinned_versions(
        ROOT / "requirements.txt", KEY_PACKAGES
    ).items():
        if f"{name} {version}" not in text:
            problems.append(
                f"'Verified with' does not show {name} {version} from requirements.txt"
            )
    # Citations link to this page's own reference list (rendered from references.bib).
    cites = page.eval_on_selector_all(
        "span.bibtex-citation a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    if cites:
        entries = page.locator(".citation-list .citation").count()
        if entries == 0:
            problems.append("the page cites sources but has no reference list")
        elsewhere = [h for h in cites if not h.startswith("#")]
        if elsewhere:
            problems.append(
                f"citations link to another page's reference list: {elsewhere[:3]}"
            )
    body = page.locator("main").inner_text()
    for heading in ("Learning objectives", "Prerequisites"):
        if heading.lower() not in body.lower():
            problems.append(f"no {heading!r} on the page")
    return problems


def notebook_buttons(page, name: str, base_url: str) -> list[str]:
    """Download offers the .ipynb (served with 200); Colab, Binder and repository
    buttons all point at the one repository URL in _config.yml."""
    problems = []
    nb = name + ".ipynb"
    download = page.locator("a.btn-download-source-button")
    hrefs = [download.nth(i).get_attribute("href") for i in range(download.count())]
    ipynb = [h for h in hrefs if h and h.split("?")[0].endswith(nb)]
    if not ipynb:
        problems.append(f"no download link to {nb} (found {hrefs})")
    else:
        status, body = fetch(urljoin(page.url, ipynb[0]))
        if status != 200:
            problems.append(f"download link {ipynb[0]} answers {status}")
        else:
            try:
                assert "cells" in json.loads(body)
            except (ValueError, AssertionError):
                problems.append(f"download link {ipynb[0]} is not a notebook")

    repo = repository_config()
    url = repo["url"].rstrip("/")
    owner_repo = urlsplit(url).path.strip("/")
    branch = repo.get("branch", "main")
    prefix = (repo.get("path_to_book") or "").strip("/")
    path = f"{prefix}/{nb}" if prefix else nb
    links = set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"))
    wanted = {
        "Colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{path}",
        "Binder": f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{path}",
        "repository": url,
    }
    for label, target in wanted.items():
        if target not in links:
            problems.append(f"no {label} button linking to {target}")
    return problems


def test_internal_links_resolve(site, base_url):
    """Every same-site href of every TOC page answers 200 and its #anchor exists."""
    parsed: dict[str, _Anchors] = {}

    def load(url: str) -> tuple[int, _Anchors | None]:
        if url not in parsed:
            status, body = fetch(url)
            if status != 200:
                return status, None
            anchors = _Anchors()
            if url.endswith(".html") or url.endswith("/"):
                anchors.feed(body.decode("utf-8", errors="replace"))
            parsed[url] = anchors
        return 200, parsed[url]

    problems, checked = [], set()
    for page in PAGES:
        url = page_url(base_url, page)
        status, anchors = load(url)
        if status != 200:
            problems.append(f"{page}: the page itself answers HTTP {status}")
            continue
        for href in anchors.hrefs:
            target = urljoin(url, href)
            if not target.startswith(base_url) or (url, href) in checked:
                continue
            checked.add((url, href))
            doc, fragment = urldefrag(target)
            doc = doc.split("?")[0]
            status, target_anchors = load(doc)
            if status != 200:
                problems.append(f"{page}: {href} -> HTTP {status}")
            elif fragment and unquote(fragment) not in target_anchors.ids:
                problems.append(
                    f"{page}: {href} -> no element with id {unquote(fragment)!r}"
                )
    assert checked, "no internal links found at all"
    assert not problems, "broken internal links:\n  " + "\n  ".join(problems)


def pages_with_solutions() -> list[str]:
    """Pages whose source has a solution (a missing source is reported by test_page)."""
    marker = re.compile(r"\{solution(-start)?\}")
    found = []
    for page in PAGES:
        try:
            text = source_of(page).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        if marker.search(text):
            found.append(page)
    return found


SOLUTION_PAGES = pages_with_solutions()


@pytest.mark.skipif(not SOLUTION_PAGES, reason="no page has exercise solutions yet")
@pytest.mark.parametrize("page", SOLUTION_PAGES)
def test_solutions_folded_until_clicked(page, visit, base_url):
    v = visit(page_url(base_url, page))
    solutions = v.page.locator("div.solution")
    n = solutions.count()
    assert n > 0, f"{page}: the source has solutions but the page shows none"
    for i in range(n):
        sol = solutions.nth(i)
        label = sol.get_attribute("id")
        content = sol.locator(
            ":scope > section, :scope > .cell, :scope > p:not(.admonition-title)"
        )
        assert "dropdown" in (sol.get_attribute("class") or ""), (
            f"{label}: not a dropdown"
        )
        assert content.count() > 0, f"{label}: solution has no content"
        assert not content.first.is_visible(), (
            f"{label}: solution is not folded on load"
        )
        # Click the title's left edge: its centre may fall on the link to the exercise,
        # which navigates instead of toggling.
        sol.locator(":scope > .admonition-title").click(position={"x": 6, "y": 6})
        content.first.wait_for(state="visible", timeout=5_000)
        assert content.first.is_visible(), f"{label}: solution did not open on click"


@pytest.mark.parametrize("query", ["dropout", "variance shift"])
def test_search_finds(query, visit, base_url):
    v = visit(urljoin(base_url, "search.html?q=" + query.replace(" ", "+")))
    results = v.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=LOAD_TIMEOUT_MS)
    assert results.count() >= 1
    summary = v.page.locator("#search-results .search-summary").inner_text()
    assert "found" in summary and "did not match" not in summary, summary
    # Results link to pages of this site.
    first = results.first.locator("a").first.get_attribute("href")
    assert first and not urlsplit(first).netloc, first
    assert not v.console_errors, v.console_errors
    assert not v.external, v.external


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("暂退法", "zh/index.html"),
        ("随机失活", "zh/index.html"),
        # Two-character words inside the chapters' 本章要点 boxes: found only because
        # the zh indexer cuts Chinese text into words (jieba), not as whole runs.
        ("掩码", "chapters/02_mask_math.html"),
        ("集成", "chapters/07_test_time.html"),
    ],
)
def test_search_finds_chinese_words(query, page, visit, base_url):
    """A Chinese word finds the page that uses it.

    The site indexes with Sphinx's Chinese search language (see _config.yml): jieba cuts
    Chinese text into words, and _ext/search_zh.py adds the glossary's terms to its
    dictionary, so a glossary term is one word and short words inside sentences are
    indexed too. English queries keep working (test_search_finds).
    """
    v = visit(urljoin(base_url, "search.html?q=" + quote(query)))
    results = v.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=LOAD_TIMEOUT_MS)
    summary = v.page.locator("#search-results .search-summary").inner_text()
    assert "did not match" not in summary, summary
    hrefs = [
        results.nth(i).locator("a").first.get_attribute("href") or ""
        for i in range(results.count())
    ]
    assert any(urlsplit(h).path.endswith(page) for h in hrefs), hrefs
    assert not v.console_errors, v.console_errors
    assert not v.external, v.external


@pytest.mark.parametrize("page", PAGES)
def test_page_works_from_file_url(page, browser, site):
    """Opened straight from disk (file://), the page renders its math with the bundled
    MathJax, logs no console error and requests nothing but local files."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        errors: list[str] = []
        remote: list[str] = []
        tab.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" else None
        )
        tab.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

        def route(r):
            if urlsplit(r.request.url).scheme in ("file", "data", "blob", "about"):
                r.continue_()
            else:
                remote.append(r.request.url)
                r.abort()

        tab.route("**/*", route)
        tab.goto(
            (site / (page + ".html")).as_uri(),
            wait_until="load",
            timeout=LOAD_TIMEOUT_MS,
        )
        math = tab.evaluate(MATH_JS)
        if math["sources"]:
            assert math["loaded"], f"{page}: MathJax did not load from file://"
            assert math["rendered"] >= math["sources"] and not math["errors"], (
                page,
                math,
            )
        assert not remote, f"{page}: remote requests from file://: {remote}"
        assert not errors, f"{page}: console errors from file://: {errors}"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("page", "selector"),
    [("zh/index.html", "article h1"), ("glossary.html", "article dl")],
)
def test_chinese_text_renders_with_a_cjk_font(page, selector, visit, base_url):
    """Every Chinese character is drawn by a font that has it, not as an empty box.

    Chromium's DevTools protocol reports which platform fonts drew a node's text
    (CSS.getPlatformFontsForNode). The site names no CJK font itself; the browser falls
    back to the reader's system font, and .ci/run installs one (WenQuanYi Micro Hei).
    """
    v = visit(urljoin(base_url, page))
    text = v.page.locator(selector).first.inner_text()
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    assert han, f"{page}: no Chinese text in {selector}"
    cdp = v.page.context.new_cdp_session(v.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    first = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
    inside = cdp.send(
        "DOM.querySelectorAll", {"nodeId": first["nodeId"], "selector": "*"}
    )
    # Each node reports the glyphs of its own text children: node plus descendants
    # count every glyph of the element once.
    fonts: dict[str, int] = {}
    for node_id in [first["nodeId"], *inside["nodeIds"]]:
        reply = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})
        for font in reply["fonts"]:
            name = font["familyName"]
            fonts[name] = fonts.get(name, 0) + font["glyphCount"]
    drawn = sum(n for name, n in fonts.items() if CJK_FAMILY.search(name))
    assert drawn >= han, (
        f"{page}: {han} Chinese characters in {selector}, {drawn} glyphs drawn by a "
        f"CJK font; fonts used: {fonts}"
    )
