"""Serve every script the book needs from the book's own static files.

Out of the box, a Jupyter Book page fetches require.js, the ipywidgets HTML
manager, 3Dmol.js and MathJax from content delivery networks; without a
network, widgets and 3D views render as blank space. This extension makes the
built HTML self-contained:

- it adds ``_ext/static`` (the vendored files under ``vendor/``, each with
  its licence) to the static path, so they are copied to ``_static/vendor``;
- it points MathJax and the widget manager at those copies;
- after the build it rewrites the 3Dmol.js address that py3Dmol writes into
  each view's HTML to the local copy;
- it checks that the vendored versions are the ones the notebooks are
  executed with (py3Dmol and ipywidgets), and that no page still loads a
  script, style sheet or image from another host;
- it drops repeated inline scripts from each page's head (sphinx-thebe
  declares its settings twice, an error in every page's console);
- it leaves out the widget manager and the saved widget state on pages that
  show no widget (a chapter's widgets may all sit in outputs removed from
  the page), which saves every such page 3.6 MB of scripts.

Every problem is reported as a Sphinx warning, so a build run with
``--warningiserror`` fails on it. ``tools/vendor_assets.py`` refreshes the
vendored files when the Python packages move to new versions.
"""

import os
import re
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

# Vendored packages from the npm registry: name -> (version, main file).
REQUIREJS = ("requirejs", "2.3.8", "require.js")
# (offline/widget_setup.js names this version too.)
HTML_MANAGER = ("html-manager", "1.0.15", "embed-amd.js")
THREEDMOL = ("3dmol", "2.5.5", "3Dmol-min.js")
MATHJAX = ("mathjax", "3.2.2", "tex-svg-full.js")

# The HTML manager release that belongs to each ipywidgets release: they are
# published together, and the manager must know the widget models' versions.
IPYWIDGETS_TO_HTML_MANAGER = {"8.1.9": "1.0.15"}

CDN_3DMOL = re.compile(
    r"https://cdn\.jsdelivr\.net/npm/3dmol@([0-9][0-9.]*)/build/3Dmol-min\.js"
)
# Resources a browser loads by itself while showing a page (links to other
# sites, such as the launch buttons, are not loaded and are allowed).
EXTERNAL_LOAD = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*?\bsrc=[\"'](https?:)?//"
    r"|<link\b(?=[^>]*\brel=[\"']?(?:stylesheet|preload|modulepreload|icon))"
    r"[^>]*?\bhref=[\"'](https?:)?//",
    re.IGNORECASE,
)


def vendored(asset):
    """Path of an asset inside ``_static``, e.g. ``vendor/3dmol-2.5.5/...``."""
    name, version, main = asset
    return f"vendor/{name}-{version}/{main}"


def _installed(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _set_paths(app, config):
    """Point the widget manager and MathJax at the vendored copies."""
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]
    config.mathjax_path = vendored(MATHJAX)
    # Without a default, the theme logs a console error on a first visit
    # (no colour mode stored in the browser yet).
    config.html_context = dict(config.html_context)
    config.html_context.setdefault("default_mode", "auto")
    # myst-nb adds these scripts to every page that holds widget state.
    config.nb_ipywidgets_js = {
        vendored(REQUIREJS): {},
        "offline/widget_setup.js": {},
        vendored(HTML_MANAGER): {},
    }


def _check_versions(app):
    """Warn when the vendored scripts do not match the Python packages."""
    for asset in (REQUIREJS, HTML_MANAGER, THREEDMOL, MATHJAX):
        if not (STATIC / vendored(asset)).is_file():
            logger.warning(f"offline assets: {vendored(asset)} is missing")

    py3dmol = _installed("py3Dmol")
    if py3dmol is not None and py3dmol != THREEDMOL[1]:
        logger.warning(
            f"offline assets: py3Dmol {py3dmol} is installed but 3Dmol.js "
            f"{THREEDMOL[1]} is vendored; run tools/vendor_assets.py"
        )
    ipywidgets = _installed("ipywidgets")
    wanted = IPYWIDGETS_TO_HTML_MANAGER.get(ipywidgets)
    if ipywidgets is not None and wanted != HTML_MANAGER[1]:
        logger.warning(
            f"offline assets: ipywidgets {ipywidgets} is installed but the "
            f"vendored widget manager {HTML_MANAGER[1]} belongs to "
            f"ipywidgets {sorted(IPYWIDGETS_TO_HTML_MANAGER)}; run "
            "tools/vendor_assets.py"
        )


INLINE_SCRIPT = re.compile(r"[ \t]*<script>[^<]*</script>\n?")


def _drop_repeated_scripts(html):
    """Keep the first copy of each inline script in a page's head.

    sphinx-thebe adds its settings (``const`` declarations) twice, which
    makes the second copy throw in every page's console.
    """
    seen = set()

    def once(match):
        body = match.group(0).strip()
        if body in seen:
            return ""
        seen.add(body)
        return match.group(0)

    head_end = html.find("</head>")
    if head_end < 0:
        return html
    return INLINE_SCRIPT.sub(once, html[:head_end]) + html[head_end:]


def _localise_pages(app, exception):
    """Rewrite 3Dmol.js addresses and look for anything still remote."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    local = outdir / "_static" / vendored(THREEDMOL)
    for page in sorted(outdir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        relative = os.path.relpath(local, page.parent).replace(os.sep, "/")

        def swap(match, page=page):
            if match.group(1) != THREEDMOL[1]:
                logger.warning(
                    f"offline assets: {page.name} asks for 3Dmol.js "
                    f"{match.group(1)}, vendored is {THREEDMOL[1]}"
                )
            return relative

        new = _drop_repeated_scripts(CDN_3DMOL.sub(swap, text))
        if new != text:
            page.write_text(new, encoding="utf-8")
        for match in EXTERNAL_LOAD.finditer(new):
            snippet = new[match.start():match.start() + 160].splitlines()[0]
            logger.warning(
                f"offline assets: {page.relative_to(outdir)} loads a remote "
                f"resource: {snippet}"
            )


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _drop_unused_widget_scripts(app, pagename, templatename, context, doctree):
    """Without a widget view in the page, its widget scripts do nothing."""
    if WIDGET_VIEW in context.get("body", ""):
        return
    manager = {str(path) for path in app.config.nb_ipywidgets_js}

    def needed(script):
        name = str(getattr(script, "filename", script) or "")
        attributes = getattr(script, "attributes", {})
        return (name.removeprefix("_static/") not in manager
                and attributes.get("type") != WIDGET_STATE)

    context["script_files"] = [s for s in context.get("script_files", ())
                               if needed(s)]


def setup(app):
    app.connect("config-inited", _set_paths, priority=900)
    # after myst-nb (priority 500) has added the page's widget scripts
    app.connect("html-page-context", _drop_unused_widget_scripts, priority=600)
    app.connect("builder-inited", _check_versions)
    app.connect("build-finished", _localise_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
