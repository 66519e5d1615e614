"""Sphinx extension: the ``course-meta`` directive at the top of every chapter.

Usage in a notebook's first markdown cell::

    ```{course-meta}
    :read: 25 min
    :run: about 1 min on a 2-core CPU
    ```

It renders the reading and running time and a "verified with" line whose
versions are read from ``requirements.txt`` at build time, so the page can
never claim versions the environment does not pin. A requirements file that
does not pin one of the key packages with ``==`` fails the build.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

# Reading the pins is the library's job (chapter 0 reads them too, on Colab, without
# this extension): one parser, in dropout_lib.reproducibility.
from dropout_lib.reproducibility import normalize_name, parse_pins

#: The packages whose pinned versions every chapter page shows, in display order.
KEY_PACKAGES: tuple[str, ...] = (
    "torch",
    "numpy",
    "keras",
    "scikit-learn",
    "matplotlib",
    "jupyter-book",
)

__all__ = ["KEY_PACKAGES", "normalize_name", "parse_pins", "pinned_versions"]


def pinned_versions(
    requirements: Path, names: Iterable[str] = KEY_PACKAGES
) -> dict[str, str]:
    """Versions pinned with ``==`` in ``requirements``, for the packages in ``names``.

    Returns a dict in the order of ``names`` (keys as given). Raises ``ValueError``
    naming the packages that ``requirements`` does not pin, and ``FileNotFoundError``
    if the file does not exist.
    """
    requirements = Path(requirements)
    names = list(names)
    if not names:
        raise ValueError("names must list at least one package")
    pins = parse_pins(requirements.read_text(encoding="utf-8"))
    missing = [n for n in names if normalize_name(n) not in pins]
    if missing:
        raise ValueError(f"{requirements.name} does not pin {missing} with '=='")
    return {n: pins[normalize_name(n)] for n in names}


def verified_with_text(versions: dict[str, str]) -> str:
    """The sentence shown on every chapter page, e.g. ``torch 2.13.0, numpy 2.4.6``."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())


class CourseMeta(SphinxDirective):
    """``course-meta``: reading and running time, pinned key package versions."""

    has_content = False
    option_spec = {
        "read": directives.unchanged_required,
        "run": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        if not self.options:
            raise self.error(
                "course-meta needs at least one of the options :read: and :run:"
            )
        req = Path(self.env.srcdir) / "requirements.txt"
        self.env.note_dependency(str(req))
        try:
            versions = pinned_versions(req)
        except (OSError, ValueError) as err:
            raise self.error(f"course-meta: {err}") from err

        box = nodes.container(classes=["course-meta"])
        times = nodes.paragraph(classes=["course-meta-times"])
        for label, key, css in (
            ("Reading time", "read", "course-meta-read"),
            ("Running time", "run", "course-meta-run"),
        ):
            if key in self.options:
                item = nodes.inline(classes=["course-meta-item", css])
                item += nodes.strong(text=f"{label}: ")
                item += nodes.Text(self.options[key].strip().rstrip("."))
                times += item
        box += times
        ver = nodes.paragraph(classes=["verified-with"])
        ver += nodes.strong(text="Verified with: ")
        ver += nodes.Text(verified_with_text(versions))
        ver += nodes.Text(" (pinned in ")
        ver += nodes.literal(text="requirements.txt")
        ver += nodes.Text("; every output on this page is re-checked by ")
        ver += nodes.literal(text="make test")
        ver += nodes.Text(").")
        box += ver
        return [box]


def setup(app):
    app.add_directive("course-meta", CourseMeta)
    return {"version": "0.2", "parallel_read_safe": True, "parallel_write_safe": True}
