"""``make pdf``: the whole course as one PDF, printed by the browser test's Chromium.

Sphinx's single-page builder cannot be used: MyST-NB resolves ``{glue:text}`` per
document, so every glued number would be missing. Instead this script joins the article
of every page of the built website (``_build/html``, in ``_toc.yml`` order) into one
HTML file next to it, with the site's own styles and MathJax, unfolds every folded box
(solutions, hidden code, listings), wraps long code lines, waits for MathJax and prints
to A4 with page numbers. Usage::

    python _ext/make_pdf.py [SITE_DIR] [OUT_PDF]

(defaults ``_build/html`` and ``_build/pdf/dropout-course.pdf``).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "dropout-course.pdf"
COMBINED = "_print-course.html"

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
html, body { background: white !important; }
.bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-footer, .bd-footer-article, .prev-next-area, .headerlink, .copybtn,
.toggle-button, button.toggle-button, #pst-skip-link, .pst-back-to-top,
dialog, .bd-search, .search-button, .theme-switch-button { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-page-width, .bd-container,
.bd-container__inner, .bd-article { max-width: none !important; width: auto !important;
  padding: 0 !important; margin: 0 !important; display: block !important; }
section.print-page { break-before: page; }
section.print-page:first-of-type { break-before: auto; }
pre, .highlight pre, div.highlight pre { white-space: pre-wrap !important;
  overflow-wrap: anywhere !important; overflow: visible !important; font-size: 8.5pt; }
div.math, mjx-container[display="true"], table, .admonition, div.exercise,
div.solution { overflow: visible !important; }
figure, img, .cell_output img { break-inside: avoid; max-width: 100% !important; }
details > summary { display: none !important; }
.toggle-hidden, .toggle-hidden > * { display: block !important;
  visibility: visible !important; height: auto !important; }
section.print-page h1 { display: block !important; }
"""


def toc_pages(toc_path: Path) -> list[str]:
    """Documents of ``_toc.yml`` in reading order (root first), without suffix."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    pages = [str(toc["root"])]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(str(entry["file"]))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", p) for p in pages]


def article(html: str) -> str:
    """The inner HTML of the page's ``<article class="bd-article">``."""
    start = re.search(r'<article class="bd-article"[^>]*>', html)
    if not start:
        raise ValueError("no <article class='bd-article'> in the page")
    end = html.rfind("</article>")
    return html[start.end() : end]


def rebase(fragment: str, page: str) -> str:
    """Relative links of a page ``a/b.html`` rewritten for a file at the site root."""
    depth = page.count("/")
    if depth == 0:
        return fragment
    prefix = "../" * depth
    here = page.rsplit("/", 1)[0] + "/"

    def fix(match: re.Match[str]) -> str:
        attr, quote, url = match.group(1), match.group(2), match.group(3)
        if re.match(r"^[a-z]+:|^#|^/|^data:", url):
            return match.group(0)
        url = url[len(prefix) :] if url.startswith(prefix) else here + url
        return f"{attr}={quote}{url}{quote}"

    return re.sub(r'\b(src|href)=(["\'])([^"\']*)\2', fix, fragment)


def combined_html(site: Path, pages: list[str]) -> str:
    root_html = (site / f"{pages[0]}.html").read_text(encoding="utf-8")
    head = root_html[: root_html.index("<body")]
    head = head.replace("</head>", f"<style>{PRINT_CSS}</style>\n</head>")
    sections = []
    for page in pages:
        path = site / f"{page}.html"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `make book` first")
        body = rebase(article(path.read_text(encoding="utf-8")), page)
        sections.append(
            f'<section class="print-page" data-page="{page}">{body}</section>'
        )
    return (
        head
        + '<body><div class="bd-container"><main class="bd-main">'
        + '<div class="bd-content"><div class="bd-article-container">'
        + '<article class="bd-article">'
        + "\n".join(sections)
        + "</article></div></div></main></div></body></html>"
    )


UNFOLD_JS = """async () => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  document.querySelectorAll('.toggle-hidden')
    .forEach(e => e.classList.remove('toggle-hidden'));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) await MathJax.typesetPromise();
  }
  await Promise.all(Array.from(document.images).map(i => i.complete ? null :
    new Promise(r => { i.addEventListener('load', r);
                       i.addEventListener('error', r); })));
  return {images: document.images.length,
          math: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('mjx-merror').length};
}"""


def find_chromium() -> str | None:
    override = os.environ.get("CHROMIUM")
    if override:
        return override
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name) if not name.startswith("/") else name
        if found and os.access(found, os.X_OK):
            return found
    return None


def print_pdf(site: Path, out: Path) -> dict:
    from playwright.sync_api import sync_playwright

    pages = toc_pages(ROOT / "_toc.yml")
    combined = site / COMBINED
    combined.write_text(combined_html(site, pages), encoding="utf-8")
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("make pdf needs Chromium: apt-get install chromium")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, args=["--headless", "--no-sandbox"]
            )
            tab = browser.new_page()
            # Nothing but local files: the course prints offline.
            tab.route(
                "**/*",
                lambda r: (
                    r.continue_()
                    if r.request.url.startswith(("file:", "data:"))
                    else r.abort()
                ),
            )
            tab.goto(combined.as_uri(), wait_until="load", timeout=120_000)
            info = tab.evaluate(UNFOLD_JS)
            tab.emulate_media(media="print")
            tab.pdf(
                path=str(out),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center;">'
                    "Dropout, from first principles to practice &middot; "
                    '<span class="pageNumber"></span> / '
                    '<span class="totalPages"></span>'
                    "</div>"
                ),
                margin={
                    "top": "14mm",
                    "bottom": "16mm",
                    "left": "12mm",
                    "right": "12mm",
                },
            )
            browser.close()
    finally:
        combined.unlink(missing_ok=True)
    info["pages"] = len(pages)
    return info


def main(argv: list[str]) -> int:
    site = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "html"
    out = Path(argv[2]) if len(argv) > 2 else ROOT / "_build" / "pdf" / PDF_NAME
    info = print_pdf(site.resolve(), out.resolve())
    if info["errors"]:
        raise SystemExit(f"MathJax reported {info['errors']} errors while printing")
    size = out.stat().st_size / 1e6
    print(
        f"wrote {out} ({size:.1f} MB): {info['pages']} pages of the site, "
        f"{info['math']} formulas, {info['images']} images"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
