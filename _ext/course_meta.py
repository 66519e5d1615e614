"""Sphinx extension: the ``course-meta`` directive at the top of every chapter.

Usage in a notebook's first markdown cell::

    ```{course-meta}
    :read: 25 min
    :run: about 1 min on a 2-core CPU
    ```

It renders the reading and running time and a "verified with" line whose
versions are read from ``requirements.txt`` at build time, so the page can
never claim versions the environment does not pin.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

KEY_PACKAGES = ("torch", "numpy", "keras", "scikit-learn", "matplotlib", "jupyter-book")


def pinned_versions(requirements: Path, names=KEY_PACKAGES) -> dict[str, str]:
    """Versions pinned with ``==`` in ``requirements``, for the packages in ``names``."""
    pins: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = (s.strip() for s in line.split("==", 1))
            pins[name.lower().replace("_", "-")] = version
    missing = [n for n in names if n not in pins]
    if missing:
        raise ValueError(f"requirements.txt does not pin {missing}")
    return {n: pins[n] for n in names}


class CourseMeta(SphinxDirective):
    has_content = False
    option_spec = {"read": directives.unchanged_required, "run": directives.unchanged_required}

    def run(self):
        root = Path(self.env.srcdir)
        req = root / "requirements.txt"
        self.env.note_dependency(str(req))
        versions = pinned_versions(req)
        box = nodes.container(classes=["course-meta"])
        para = nodes.paragraph()
        for label, key in (("Reading time", "read"), ("Running time", "run")):
            if key in self.options:
                para += nodes.strong(text=f"{label}: ")
                para += nodes.Text(self.options[key] + ".  ")
        box += para
        ver = nodes.paragraph(classes=["verified-with"])
        ver += nodes.strong(text="Verified with: ")
        ver += nodes.Text(", ".join(f"{k} {v}" for k, v in versions.items()) + " (from requirements.txt).")
        box += ver
        return [box]


def setup(app):
    app.add_directive("course-meta", CourseMeta)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
