"""Serve the built book on a local port and open it in headless Chromium.

The site directory defaults to ``_build/html`` at the top of the repository;
set ``BOOK_HTML`` to test another build (for example the student edition).
Every request that does not go to the local server is refused, so a page
that needs the network fails its test.
"""

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = Path(
    os.environ.get("BOOK_SCREENSHOTS", ROOT / "_build" / "screenshots")
)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# As root in a container: no sandbox, no GPU, nothing that phones home.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL (the 3D views) in software, since there is no GPU.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def site_pages():
    """Every HTML page of the built site, as paths relative to its root."""
    if not (SITE / "index.html").is_file():
        return []
    skip = ("_static", "_sources", "_images", "_downloads")
    return sorted(
        str(p.relative_to(SITE)).replace(os.sep, "/")
        for p in SITE.rglob("*.html")
        if not p.relative_to(SITE).parts[0] in skip
    )


def chapter_pages():
    """Pages that are chapters of the book (the ones under book/)."""
    return [p for p in site_pages() if p.startswith("book/")]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built book at {SITE}; build it first")
    return SITE


@pytest.fixture(scope="session")
def server(site):
    """A static file server for the site on 127.0.0.1, on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser_context(server):
    """A fresh Chromium profile whose only reachable host is the server."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    profile = tempfile.mkdtemp(prefix="book-browser-")
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        refused = []

        def only_local(route):
            url = route.request.url
            if url.startswith(server) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                refused.append(url)
                route.abort()

        context.route("**/*", only_local)
        context.refused = refused
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
