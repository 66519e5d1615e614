"""Sphinx extension: keep every page's <script> list clean and local.

Two problems of the Jupyter Book 1 stack (Sphinx 7.4, sphinx-thebe 0.3.1) that a browser
sees on every page:

1. sphinx-thebe registers its inline configuration script on each
   ``env-before-read-docs`` event, and Sphinx then writes it into the page twice. The
   second copy re-declares ``const THEBE_JS_URL`` and throws an uncaught
   ``SyntaxError`` in the console.
2. That configuration names a CDN address (unpkg.com) for thebe's runtime. The course
   has no thebe button (``launch_buttons.thebe: false``): the scripts are dead weight.

This extension removes exact duplicate script entries on every page and, when thebe is
not enabled, drops sphinx-thebe's scripts altogether, so pages reference no remote
script.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _filename(asset: Any) -> str:
    """File name of a Sphinx asset (``_JavaScript``/``_CascadingStyleSheet`` or str)."""
    # vars() avoids the deprecated str interface of Sphinx's asset objects.
    filename = (
        vars(asset).get("filename", asset) if hasattr(asset, "__dict__") else asset
    )
    return "" if filename is None else str(filename)


def _key(script: Any) -> tuple:
    """Identity of a script entry: file name and attributes (including an inline body).

    The priority is ignored: the same script registered twice at two priorities is still
    a duplicate.
    """
    filename = _filename(script)
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _is_thebe(script: Any) -> bool:
    filename = _filename(script)
    body = str((getattr(script, "attributes", {}) or {}).get("body", ""))
    return (
        "sphinx-thebe" in filename
        or "THEBE_JS_URL" in body
        or "unpkg.com/thebe" in filename
    )


def clean_scripts(scripts: Iterable[Any], drop_thebe: bool) -> list[Any]:
    """``scripts`` minus exact duplicates (first kept) and thebe's (``drop_thebe``)."""
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key in seen or (drop_thebe and _is_thebe(script)):
            continue
        seen.add(key)
        kept.append(script)
    return kept


def thebe_enabled(app) -> bool:
    """True if a thebe launch button is configured or thebe loads on every page."""
    options = app.config.html_theme_options or {}
    launch = options.get("launch_buttons", {}) or {}
    thebe_config = getattr(app.config, "thebe_config", {}) or {}
    return bool(launch.get("thebe")) or bool(
        isinstance(thebe_config, dict) and thebe_config.get("always_load")
    )


SPHINX_DESIGN_ASSETS = ("sphinx-design", "design-tabs.js")


def uses_sphinx_design(body: str) -> bool:
    """Whether a page's HTML body uses sphinx-design (cards, tabs, grids: ``sd-``)."""
    return 'class="sd-' in body or " sd-" in body


def _on_page_context(app, pagename, templatename, context, doctree):
    # sphinx-design's CSS and JS (62 KB) are loaded on every page; keep them only where
    # a page uses one of its components.
    if not uses_sphinx_design(str(context.get("body", ""))):
        for key in ("script_files", "css_files"):
            if key in context:
                context[key] = [
                    a
                    for a in context[key]
                    if not any(n in _filename(a) for n in SPHINX_DESIGN_ASSETS)
                ]
    if "script_files" in context:
        context["script_files"] = clean_scripts(
            context["script_files"], not thebe_enabled(app)
        )
    if "css_files" in context and not thebe_enabled(app):
        context["css_files"] = [
            c for c in context["css_files"] if "sphinx-thebe" not in _filename(c)
        ]


# MathJax from the bundled copy, loaded as components rather than the combined
# tex-chtml.js (1.16 MB, of which 0.43 MB is the right-click menu): startup + core +
# TeX input + CommonHTML output + assistive MathML for screen readers, about 0.66 MB.
# TeX extensions a page needs are still autoloaded from the same folder.
MATHJAX_PATH = "mathjax/startup.js"
MATHJAX_COMPONENTS = ["core", "input/tex", "output/chtml", "a11y/assistive-mml"]


def _use_mathjax_components(app, config):
    """Point Sphinx at MathJax's startup component and list the components it loads.

    Runs on ``config-inited``, after sphinx-mathjax-offline's ``setup`` has set
    ``mathjax_path`` to the combined file.
    """
    if str(config.mathjax_path).endswith("tex-chtml.js"):
        config.mathjax_path = MATHJAX_PATH
    options = dict(config.mathjax3_config or {})
    loader = dict(options.get("loader", {}))
    loader.setdefault("load", list(MATHJAX_COMPONENTS))
    options["loader"] = loader
    config.mathjax3_config = options


# `make pdf` (_ext/make_pdf.py) writes the course to _build/pdf/dropout-course.pdf;
# when it exists, the site serves it at its root and intro.md's {course-pdf} links it.
PDF_DIR = Path("_build") / "pdf"
PDF_NAME = "dropout-course.pdf"


def _serve_pdf(app, config):
    """Add _build/pdf to ``html_extra_path`` when ``make pdf`` has written it."""
    pdf_dir = Path(app.srcdir) / PDF_DIR
    if (pdf_dir / PDF_NAME).is_file() and str(PDF_DIR) not in config.html_extra_path:
        config.html_extra_path = [*config.html_extra_path, str(PDF_DIR)]


class CoursePdf(SphinxDirective):
    """``course-pdf``: a link to the whole course as a PDF, or how to make one."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        pdf = Path(self.env.srcdir) / PDF_DIR / PDF_NAME
        # Re-read the page when the PDF appears, changes or goes.
        self.env.note_dependency(str(pdf))
        if pdf.is_file():
            href = "../" * self.env.docname.count("/") + PDF_NAME
            size = pdf.stat().st_size / 1e6
            html = (
                f'<p class="course-pdf"><a class="reference external" href="{href}">'
                f'<i class="fa-solid fa-file-pdf"></i> The whole course as one PDF</a> '
                f"({size:.1f} MB, printed from these pages with code wrapped and "
                "solutions unfolded).</p>"
            )
            return [nodes.raw("", html, format="html")]
        text = "A PDF of the whole course is made with `make pdf` (see the README)."
        return [nodes.paragraph(text, text)]


def setup(app):
    app.add_directive("course-pdf", CoursePdf)
    app.connect("config-inited", _serve_pdf)
    app.connect("config-inited", _use_mathjax_components, priority=900)
    # Run after the other extensions have added their scripts to the page context.
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
