"""Every page of the built book, opened in Chromium with no network."""

import io
import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

from conftest import SITE, chapter_pages, site_pages

# Seconds to wait for scripts (MathJax, widgets, 3D views) to finish.
SETTLE_MS = 20_000


class PageVisit:
    """Open one page and collect everything that went wrong while loading."""

    def __init__(self, context, base, rel, before=None, settle=True):
        self.rel = rel
        self.problems = []
        self.page = context.new_page()
        refused_before = len(context.refused)
        page = self.page
        if before is not None:  # a script run before the page's own
            page.add_init_script(before)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(
            f"JavaScript error: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.goto(base + rel, wait_until="load", timeout=60_000)
        try:
            page.wait_for_load_state("networkidle", timeout=60_000)
        except Exception:  # a busy machine: the checks below still wait
            pass
        if settle:
            self._settle()
        self.problems += [f"request outside the local server: {url}"
                          for url in context.refused[refused_before:]]

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request):
        if not request.url.endswith("/favicon.ico"):
            self.problems.append(
                f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        # Browsers ask for /favicon.ico on their own; the book has none.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _wait(self, what, condition):
        try:
            self.page.wait_for_function(condition, timeout=SETTLE_MS)
        except Exception as exc:  # a timeout: report it with the rest
            self.problems.append(f"{what} did not finish: {exc.__class__.__name__}")

    def _settle(self):
        """Wait until MathJax has typeset and the widget manager has run."""
        page = self.page
        if page.evaluate("() => !!window.MathJax"):
            self._wait(
                "MathJax",
                "() => { const s = window.MathJax.startup;"
                " if (s && s.promise && !window.__typeset) {"
                "   window.__typeset = 'waiting';"
                "   s.promise.then(() => { window.__typeset = 'done'; }); }"
                " return window.__typeset === 'done'; }",
            )
        if page.locator(
                'script[type="application/vnd.jupyter.widget-view+json"]'
        ).count():
            self._wait(
                "widget rendering",
                "() => [...document.querySelectorAll("
                "'script[type=\"application/vnd.jupyter.widget-view+json\"]')]"
                ".every(s => s.parentElement.querySelector('.widget-subarea "
                "*'))",
            )
        if page.locator('div[id^="3dmolviewer_"]').count():
            self._wait(
                "3D view",
                "() => [...document.querySelectorAll("
                "'div[id^=\"3dmolviewer_\"]')].every(d => d.querySelector("
                "'canvas'))",
            )
        page.wait_for_timeout(500)

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser_context, server):
    visits = []

    def _open(rel, **options):
        v = PageVisit(browser_context, server, rel, **options)
        visits.append(v)
        return v

    yield _open
    for v in visits:
        v.close()


def _distinct_colours(png_bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    image = image.resize((64, 48))
    return len(set(image.tobytes()[k:k + 3] for k in range(0, 64 * 48 * 3, 3)))


@pytest.mark.parametrize("rel", site_pages())
def test_page_loads_cleanly(visit, rel, screenshots):
    """No console error, failed request, remote request, raw math or
    formula cut off at the page's edge."""
    v = visit(rel)
    page = v.page
    problems = list(v.problems)

    unrendered = page.evaluate(
        "() => [...document.querySelectorAll('.math, span.math, div.math')]"
        ".filter(e => !e.querySelector('mjx-container')).length"
    )
    if unrendered:
        problems.append(f"{unrendered} formulas left untypeset")
    errors = page.locator("mjx-merror").count()
    if errors:
        problems.append(f"{errors} formulas with MathJax errors")

    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('div.math mjx-container')]
          .filter(c => c.getClientRects().length)
          .filter(c => c.scrollWidth > c.clientWidth + 1)
          .map(c => c.closest('div.math').id || c.textContent.slice(0, 40))"""
    )
    problems += [f"display formula wider than the page: {f}" for f in too_wide]

    broken = page.evaluate(
        "() => [...document.images].filter(i => i.getClientRects().length"
        " && i.complete && i.naturalWidth === 0).map(i => i.src)"
    )
    problems += [f"image does not load: {src}" for src in broken]

    empty = page.evaluate(
        """() => [...document.querySelectorAll(
                  '.cell_output > .output, .cell_output > div')]
          .filter(o => o.getClientRects().length)
          .filter(o => !o.innerText.trim() &&
                   !o.querySelector('img, svg, canvas, .widget-subarea *'))
          .map(o => o.className)"""
    )
    problems += [f"empty output box ({cls})" for cls in empty]

    if rel.startswith("book/"):
        name = PurePosixPath(rel).stem
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert not problems, "\n".join([rel] + problems)


def _pages_with(selector):
    pattern = {
        "3dmol": 'id="3dmolviewer_',
    }[selector]
    return [rel for rel in chapter_pages()
            if pattern in (SITE / rel).read_text(encoding="utf-8")]


@pytest.mark.parametrize("rel", _pages_with("3dmol"))
def test_3d_views_draw_and_rotate(visit, rel):
    """Each 3D view draws a picture, and dragging the mouse turns it."""
    v = visit(rel)
    assert not v.problems, "\n".join(v.problems)
    viewers = v.page.locator('div[id^="3dmolviewer_"]')
    for i in range(viewers.count()):
        viewer = viewers.nth(i)
        viewer.scroll_into_view_if_needed()
        canvas = viewer.locator("canvas").first
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        before = viewer.screenshot()
        assert _distinct_colours(before) > 8, f"3D view {i} of {rel} is blank"

        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        mouse = v.page.mouse
        mouse.move(x, y)
        mouse.down()
        mouse.move(x + 120, y + 40, steps=8)
        mouse.up()
        v.page.wait_for_timeout(300)
        after = viewer.screenshot()
        assert after != before, f"3D view {i} of {rel} does not rotate"


# A browser without WebGL: every canvas, on screen or off, refuses a WebGL
# context (3Dmol.js draws through an OffscreenCanvas where there is one).
_NO_WEBGL = """
for (const kind of [HTMLCanvasElement, self.OffscreenCanvas]) {
  if (!kind) continue;
  const plain = kind.prototype.getContext;
  kind.prototype.getContext = function (type, ...rest) {
    return /webgl/i.test(type) ? null : plain.call(this, type, ...rest);
  };
}
"""


@pytest.mark.parametrize("rel", _pages_with("3dmol")[:1])
def test_3d_views_without_webgl_keep_their_still_picture(visit, rel):
    """Where the viewer cannot draw, its box shows the still picture."""
    v = visit(rel, before=_NO_WEBGL, settle=False)
    v.page.wait_for_function("() => typeof $3Dmol !== 'undefined'",
                             timeout=SETTLE_MS)
    v.page.wait_for_timeout(1000)  # the viewers' scripts have run
    viewers = v.page.locator('div[id^="3dmolviewer_"]')
    assert viewers.count()
    for i in range(viewers.count()):
        still = viewers.nth(i).locator('xpath=..').locator(
            'span[id^="packing-still-"] img')
        assert still.count() == 1, f"3D view {i} of {rel} lost its still picture"
        still.scroll_into_view_if_needed()
        assert still.is_visible()
        # the picture is what shows in the box, not a canvas drawn over it
        box = viewers.nth(i).bounding_box()
        on_top = v.page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)?.tagName",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top == "IMG", f"3D view {i} of {rel}: {on_top} on top"
        assert _distinct_colours(still.screenshot()) > 8


def _sources_using(name):
    """Chapters whose page source (Markdown or notebook) mentions name."""
    found = []
    for rel in chapter_pages():
        for suffix in (".md", ".ipynb"):
            source = (SITE / "_sources" / rel).with_suffix(suffix)
            if source.is_file() and name in source.read_text(
                    encoding="utf-8", errors="replace"):
                found.append(rel)
                break
    return found


@pytest.mark.parametrize("rel", _sources_using("slider_with_tabs"))
def test_sliders_give_way_to_their_tabs(visit, rel):
    """A static page shows no slider that cannot run (their outputs are
    removed from the page), and shows the tabs of precomputed figures."""
    v = visit(rel)
    assert not v.problems, "\n".join(v.problems)
    page = v.page
    assert page.locator(".slider-container, .widget-slider").count() == 0
    tabs = page.locator(".pl-tabs")
    assert tabs.count() >= 1
    for i in range(tabs.count()):
        shown = tabs.nth(i).locator(".pl-tab-panel img").evaluate_all(
            "imgs => imgs.filter(i => i.getClientRects().length).length")
        assert shown == 1, f"tab set {i} of {rel} shows {shown} figures"
    # widgets still saved in the page (if any) are drawn, not empty boxes
    heights = page.evaluate(
        "() => [...document.querySelectorAll("
        "'script[type=\"application/vnd.jupyter.widget-view+json\"]')]"
        ".map(s => { const a = s.parentElement.querySelector("
        "'.widget-subarea'); return a ? a.getBoundingClientRect().height"
        " : 0; })"
    )
    assert all(h > 20 for h in heights), heights


def _notebook_pages():
    """Chapters that are notebooks (their source is kept as .ipynb)."""
    return [rel for rel in chapter_pages()
            if (SITE / "_sources" / rel).with_suffix(".ipynb").is_file()]


@pytest.mark.parametrize("rel", _notebook_pages())
def test_chapter_has_launch_and_repository_buttons(rel):
    """Binder opens the chapter in JupyterLab; the repository is linked."""
    text = (SITE / rel).read_text(encoding="utf-8")
    source = re.escape(PurePosixPath(rel).with_suffix(".md").as_posix())
    assert re.search(r'href="https://mybinder\.org/v2/gh/[^"]*'
                     rf'urlpath=lab/tree/{source}"', text), rel
    assert re.search(r'href="https://github\.com/[^"]+"', text), rel


def test_search_finds_chapter_content(visit):
    """The search box finds a word that only the chapters use."""
    v = visit("search.html?q=hinge")
    page = v.page
    page.wait_for_selector("#search-results li, ul.search li",
                           timeout=SETTLE_MS)
    hits = page.eval_on_selector_all(
        "#search-results li a, ul.search li a", "as => as.map(a => a.href)")
    assert any("book/hinge_loss.html" in h for h in hits), hits
    assert not v.problems, "\n".join(v.problems)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])


def test_no_broken_internal_links(site):
    """Every link inside the site points at a file and anchor that exist."""
    parsed = {}
    for rel in site_pages():
        parser = _Links()
        parser.feed((site / rel).read_text(encoding="utf-8"))
        parsed[rel] = parser
    broken = []
    for rel, parser in parsed.items():
        for href in parser.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(
                    ("mailto:", "javascript:")):
                continue
            path = unquote(parts.path)
            target = (PurePosixPath(rel).parent / path) if path else \
                PurePosixPath(rel)
            resolved = (site / target).resolve()
            if resolved.is_dir():
                resolved = resolved / "index.html"
            if not resolved.is_file():
                broken.append(f"{rel}: {href}")
                continue
            if parts.fragment and resolved.suffix == ".html":
                key = str(resolved.relative_to(site)).replace("\\", "/")
                ids = parsed[key].ids if key in parsed else set()
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{rel}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_pages_without_widgets_load_no_widget_manager(site):
    """The widget manager (3.6 MB) and saved widget state come only with a
    widget the page shows."""
    loaded = []
    for rel in site_pages():
        text = (site / rel).read_text(encoding="utf-8")
        if "application/vnd.jupyter.widget-view+json" in text:
            continue
        if "embed-amd.js" in text or "widget-state+json" in text:
            loaded.append(rel)
    assert not loaded, loaded
