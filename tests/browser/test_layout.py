"""The built website at a phone's and a laptop's width (390 px and 1366 px).

Navigation: tapping ☰ opens the site navigation, tapping again (or Escape) closes it;
the "contents" button opens and closes the page's table of contents; one header, one
search bar. Layout, on every page in ``_toc.yml``: nothing scrolls the page sideways,
exercise and solution boxes clip nothing, display math fits its column or scrolls inside
its own box, and every figure has a caption and real alt text (not a file hash). Page
weight: every chapter page's first visit transfers at most 2.5 MB (the table is written
to ``_build/page_weight.md``). Screenshots: ``_build/screenshots/phone-menu-open.png``,
``phone-contents-open.png`` and ``phone-figure.png``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from sitetools import toc_pages

PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
# The page the navigation test taps through: the first chapter with a figure, if any.
NAV_PAGE = CHAPTERS[0] if CHAPTERS else PAGES[0]
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
PAGE_WEIGHT_BUDGET = 2_500_000  # bytes on a first visit, no compression (issue 12)
TIMEOUT_MS = 60_000
HASHY_ALT = re.compile(r"^[0-9a-f]{16,}(\.\w+)?$|^_images/|\.(png|svg|jpe?g)$", re.I)

# Is the element really on screen (size, display, visibility, inside the viewport)?
SHOWN_JS = """(sel) => Array.from(document.querySelectorAll(sel)).filter(e => {
  const b = e.getBoundingClientRect(), cs = getComputedStyle(e);
  return b.width > 0 && b.height > 0 && cs.visibility !== 'hidden'
    && cs.display !== 'none' && b.right > 0 && b.left < innerWidth;
}).length"""

DIALOG_JS = """(id) => { const d = document.getElementById(id);
  if (!d) return null;
  const b = d.getBoundingClientRect();
  return {open: d.open, width: b.width, height: b.height,
          links: d.querySelectorAll('a').length};
}"""

# Elements wider than the viewport that make the page scroll sideways (for the message).
WIDE_JS = """() => Array.from(document.querySelectorAll('main *')).filter(e => {
  const b = e.getBoundingClientRect();
  if (b.right <= innerWidth + 1) return false;
  for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') {
      if (a.getBoundingClientRect().right <= innerWidth + 1) return false;
    }
  }
  return true;
}).slice(0, 5).map(e => e.tagName.toLowerCase() + '.'
  + (e.className || '').toString().split(' ').slice(0, 2).join('.')
  + ' right=' + Math.round(e.getBoundingClientRect().right))"""

# Boxes whose content is cut sideways: wider than the box while its overflow is hidden.
# (Folded solutions hide their height on purpose; only width is checked.)
CLIPPED_JS = """(sel) => Array.from(document.querySelectorAll(sel)).filter(e => {
  const o = getComputedStyle(e).overflowX;
  return (o === 'hidden' || o === 'clip') && e.scrollWidth > e.clientWidth + 1;
}).slice(0, 5).map(e => (e.id || e.className) + ': '
  + e.scrollWidth + ' px of content in ' + e.clientWidth + ' px')"""

# Display math wider than its container must scroll inside its own box, not be cut.
MATH_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await MathJax.startup.promise;
  const bad = [];
  for (const m of document.querySelectorAll('mjx-container[display="true"]')) {
    let el = m, ok = false;
    const inner = m.firstElementChild;
    const w = inner ? inner.getBoundingClientRect().width : 0;
    // Find the nearest ancestor (or itself) that is narrower than the formula.
    for (; el && el !== document.body; el = el.parentElement) {
      const o = getComputedStyle(el).overflowX;
      if (o === 'auto' || o === 'scroll') { ok = true; break; }
      if (o === 'hidden' || o === 'clip') break;
    }
    const box = m.getBoundingClientRect();
    const fits = w <= box.width + 1 && box.right <= innerWidth + 1;
    if (!fits && !ok) bad.push((m.textContent || '').slice(0, 40)
      + ` (${Math.round(w)} px in ${Math.round(box.width)} px)`);
  }
  return bad.slice(0, 5);
}"""

FIGURES_JS = """() => Array.from(
    document.querySelectorAll('main figure, main .cell_output img'))
  .map(e => { const img = e.tagName === 'IMG' ? e : e.querySelector('img');
    const fig = e.tagName === 'FIGURE' ? e : e.closest('figure');
    return {alt: img ? (img.getAttribute('alt') || '') : null,
            caption: fig
              ? (fig.querySelector('figcaption') || {}).textContent || '' : '',
            id: fig ? fig.id : '', src: img ? img.getAttribute('src') : ''}; })"""


def open_page(browser, base_url: str, page: str, width: str):
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    tab.goto(urljoin(base_url, page + ".html"), wait_until="load", timeout=TIMEOUT_MS)
    tab.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    return context, tab, errors


def shown(tab, selector: str) -> int:
    return tab.evaluate(SHOWN_JS, selector)


def the_visible(tab, selector: str):
    loc = tab.locator(selector)
    visible = [loc.nth(i) for i in range(loc.count()) if loc.nth(i).is_visible()]
    assert len(visible) == 1, (
        f"expected exactly one visible {selector}, found {len(visible)} "
        f"(of {loc.count()} in the page): a second, hidden header?"
    )
    return visible[0]


@pytest.mark.parametrize("width", WIDTHS)
def test_navigation(width, browser, base_url, screenshots):
    """☰ and the contents button open and close their panels; one header and search."""
    context, tab, errors = open_page(browser, base_url, NAV_PAGE, width)
    try:
        assert shown(tab, ".search-button-field") <= 1, "more than one search bar shown"
        menu = the_visible(tab, ".primary-toggle")
        if width == "phone":
            assert shown(tab, "#pst-primary-sidebar") == 0, "navigation open on load"
            menu.click()
            tab.wait_for_timeout(400)
            state = tab.evaluate(DIALOG_JS, "pst-primary-sidebar-modal")
            assert state and state["open"] and state["width"] > 200, (
                f"tapping ☰ did not open the navigation: {state}"
            )
            assert state["links"] > len(CHAPTERS), "the navigation lists no chapters"
            tab.screenshot(path=str(screenshots / "phone-menu-open.png"))
            tab.keyboard.press("Escape")
            tab.wait_for_timeout(400)
            state = tab.evaluate(DIALOG_JS, "pst-primary-sidebar-modal")
            assert not state["open"], "the navigation did not close"

            toc = the_visible(tab, ".secondary-toggle")
            toc.click()
            tab.wait_for_timeout(400)
            state = tab.evaluate(DIALOG_JS, "pst-secondary-sidebar-modal")
            assert state and state["open"] and state["width"] > 200, (
                f"tapping the contents button did not open the page contents: {state}"
            )
            tab.screenshot(path=str(screenshots / "phone-contents-open.png"))
            # Tap outside the panel (on the dimmed page) to close it.
            tab.mouse.click(5, WIDTHS[width][1] - 5)
            tab.wait_for_timeout(400)
            if tab.evaluate(DIALOG_JS, "pst-secondary-sidebar-modal")["open"]:
                tab.keyboard.press("Escape")
                tab.wait_for_timeout(400)
            state = tab.evaluate(DIALOG_JS, "pst-secondary-sidebar-modal")
            assert not state["open"], "the page contents did not close"
        else:
            assert shown(tab, "#pst-primary-sidebar") == 1, "no navigation on load"
            menu.click()
            tab.wait_for_timeout(500)
            assert shown(tab, "#pst-primary-sidebar") == 0, (
                "☰ did not fold the sidebar"
            )
            menu.click()
            tab.wait_for_timeout(500)
            assert shown(tab, "#pst-primary-sidebar") == 1, "☰ did not unfold it again"
            # At this width the page contents stand beside the text; their button is
            # shown only where they do not fit.
            assert shown(tab, "#pst-secondary-sidebar") == 1, (
                "no page contents beside text"
            )
            toc = tab.locator(".secondary-toggle")
            if any(toc.nth(i).is_visible() for i in range(toc.count())):
                the_visible(tab, ".secondary-toggle").click()
                tab.wait_for_timeout(400)
                state = tab.evaluate(DIALOG_JS, "pst-secondary-sidebar-modal")
                assert state and state["open"], "contents button opened nothing"
        assert not errors, f"console errors: {errors}"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_layout(page, width, browser, base_url, screenshots):
    """No sideways scroll, no clipped boxes, math that fits or scrolls, real figures."""
    context, tab, errors = open_page(browser, base_url, page, width)
    try:
        problems: list[str] = []
        sw, iw = tab.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
        if sw > iw:
            wide = tab.evaluate(WIDE_JS)
            problems.append(f"page scrolls sideways: {sw} px > {iw} px, e.g. {wide}")
        clipped = tab.evaluate(
            CLIPPED_JS, "div.exercise, div.solution, div.admonition, .course-meta"
        )
        if clipped:
            problems.append(f"boxes that cut their content: {clipped}")
        math = tab.evaluate(MATH_JS)
        if math:
            problems.append(f"display math cut off (neither fits nor scrolls): {math}")
        for fig in tab.evaluate(FIGURES_JS):
            where = fig["id"] or fig["src"]
            if not fig["alt"] or HASHY_ALT.search(fig["alt"].strip()):
                problems.append(f"figure {where}: no real alt text ({fig['alt']!r})")
            if not fig["caption"].strip():
                problems.append(f"figure {where}: no caption")
        if width == "phone" and page == first_page_with_figure():
            fig = tab.locator("main figure").first
            fig.scroll_into_view_if_needed()
            fig.screenshot(path=str(screenshots / "phone-figure.png"))
        assert not errors, f"console errors: {errors}"
        assert not problems, f"{page} at {width} width:\n  " + "\n  ".join(problems)
    finally:
        context.close()


def first_page_with_figure() -> str | None:
    from sitetools import source_of

    for page in CHAPTERS:
        try:
            if '"figure"' in source_of(page).read_text(encoding="utf-8"):
                return page
        except FileNotFoundError:
            continue
    return None


@pytest.fixture(scope="module")
def weights(site):
    """Each chapter page's first-visit bytes; written to _build/page_weight.md."""
    measured: dict[str, tuple[int, dict[str, int]]] = {}
    yield measured
    if measured:
        rows = [
            "| page | total (MB) | HTML | scripts | styles | fonts | images | other |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for page, (total, kinds) in measured.items():
            cells = [
                f"{kinds.get(k, 0) / 1e6:.2f}"
                for k in ("document", "script", "stylesheet", "font", "image", "other")
            ]
            rows.append(f"| {page} | {total / 1e6:.2f} | " + " | ".join(cells) + " |")
        text = (
            "# Page weight: first visit, empty cache, no compression\n\n"
            f"Budget: {PAGE_WEIGHT_BUDGET / 1e6:.1f} MB per chapter page "
            "(measured by tests/browser/test_layout.py at 1366 px).\n\n"
            + "\n".join(rows)
            + "\n"
        )
        (site.parent / "page_weight.md").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("page", CHAPTERS)
def test_page_weight(page, browser, base_url, weights):
    """A chapter page's first visit transfers at most 2.5 MB."""
    w, h = WIDTHS["desktop"]
    context = browser.new_context(viewport={"width": w, "height": h})
    try:
        tab = context.new_page()
        kinds: dict[str, int] = {}

        def count(response):
            try:
                n = int(response.headers.get("content-length", 0))
            except ValueError:
                return
            kind = response.request.resource_type
            kind = (
                kind
                if kind in ("document", "script", "stylesheet", "font", "image")
                else "other"
            )
            kinds[kind] = kinds.get(kind, 0) + n

        tab.on("response", count)
        tab.goto(
            urljoin(base_url, page + ".html"), wait_until="load", timeout=TIMEOUT_MS
        )
        tab.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        total = sum(kinds.values())
        weights[page] = (total, kinds)
        assert total <= PAGE_WEIGHT_BUDGET, (
            f"{page}: first visit transfers {total / 1e6:.2f} MB "
            f"(budget {PAGE_WEIGHT_BUDGET / 1e6:.1f} MB): {kinds}"
        )
    finally:
        context.close()
