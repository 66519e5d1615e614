"""Helpers for the browser test: the site, the pages of the TOC, finding Chromium."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "_ext"))
from make_pdf import toc_pages as _toc_pages  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def skip_or_fail(message: str) -> None:
    """Skip locally, fail in CI: a missing browser must never pass silently there."""
    if in_ci():
        pytest.fail(
            message + " (CI=true, so this is a failure, not a skip)", pytrace=False
        )
    pytest.skip(message)


def find_chromium() -> str | None:
    """Debian's Chromium: $CHROMIUM if set (only it), else /usr/bin/chromium or PATH."""
    override = os.environ.get("CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document in ``_toc.yml`` (root first, then reading order), no suffix.

    The PDF builder reads the book in the same order, so both use one reader.
    """
    return _toc_pages(toc_path)


def source_of(page: str) -> Path:
    """The source file of a page: the .ipynb or .md next to it in the repository."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / (page + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(f"no .ipynb or .md source for {page!r} listed in _toc.yml")


def repository_config() -> dict:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]
