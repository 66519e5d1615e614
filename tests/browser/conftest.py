"""Fixtures for the browser test: serve the built site on 127.0.0.1 and drive Chromium.

Nothing is built here: `make test-browser` runs `make book` first, and this conftest
serves the existing ``_build/html`` from a thread on a free port. Debian's Chromium
(``apt-get install chromium``) is driven by Playwright; the bundled Playwright browsers
are never downloaded. Without Chromium (or without a built site) the tests skip locally
with a message saying what to do, and FAIL when the environment variable ``CI`` is
``true``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from sitetools import (
    CHROMIUM_ARGS,
    ROOT,
    find_chromium,
    skip_or_fail,
)

# The built site; SITE_DIR=/some/_build/html tests a build made elsewhere (e.g. with
# `jupyter-book build . --path-output DIR`). Screenshots go next to it, in
# _build/screenshots.
SITE = Path(os.environ.get("SITE_DIR") or ROOT / "_build" / "html").resolve()
SCREENSHOTS = SITE.parent / "screenshots"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        skip_or_fail(
            f"no built site at {SITE}: run `make book` first (or `make test-browser`)"
        )
    return SITE


@pytest.fixture(scope="session")
def base_url(site: Path):
    """http://127.0.0.1:<free port>/ serving the built site from a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail(
            "Chromium not found, so the browser test cannot run. Install Debian's "
            "Chromium with `sudo apt-get install chromium` (or set "
            "CHROMIUM=/path/to/chromium); "
            "do not run `playwright install`"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the Python package playwright is not installed: run `make setup`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
