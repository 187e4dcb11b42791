"""Refresh the vendored scripts in _ext/static/vendor from the npm registry.

The versions follow the installed Python packages: 3Dmol.js takes py3Dmol's
version, and the ipywidgets HTML manager the release published with the
installed ipywidgets (give it with ``--html-manager`` when the table in
``_ext/offline_assets.py`` does not know the ipywidgets version yet).
MathJax and require.js keep their versions unless given. Needs ``npm``.

    python tools/vendor_assets.py [--html-manager 1.0.15]

Old folders are removed, new ones written with each package's licence, and
the version numbers in ``_ext/offline_assets.py`` and
``_ext/static/offline/widget_setup.js`` updated. Rebuild the book and run
the browser tests afterwards.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "_ext" / "offline_assets.py"
SETUP_JS = ROOT / "_ext" / "static" / "offline" / "widget_setup.js"
VENDOR = ROOT / "_ext" / "static" / "vendor"

# constant in offline_assets.py -> (npm package, files to copy)
PACKAGES = {
    "REQUIREJS": ("requirejs", ["require.js"]),
    "HTML_MANAGER": ("@jupyter-widgets/html-manager",
                     ["dist/embed-amd.js", "dist/*.woff", "dist/*.woff2"]),
    "THREEDMOL": ("3dmol", ["build/3Dmol-min.js",
                            "build/3Dmol-min.js.LICENSE.txt"]),
    "MATHJAX": ("mathjax", ["es5/tex-svg-full.js"]),
}


def current(constant):
    """(folder name, version, main file) of a constant in offline_assets."""
    match = re.search(rf'^{constant} = \("([^"]+)", "([^"]+)", "([^"]+)"\)',
                      EXT.read_text(), flags=re.M)
    return match.groups()


def fetch(package, version, files, dest):
    """npm pack one package version and copy its files and licence."""
    with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
        subprocess.run(["npm", "pack", f"{package}@{version}"], cwd=tmp,
                       check=True, stdout=subprocess.DEVNULL)
        archive = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        unpacked = Path(tmp) / "package"
        dest.mkdir(parents=True)
        for pattern in files:
            matches = sorted(unpacked.glob(pattern))
            if not matches:
                sys.exit(f"{package}@{version} has no {pattern}")
            for path in matches:
                shutil.copy2(path, dest / path.name)
        licences = sorted(unpacked.glob("LICEN[CS]E*"))
        for path in licences:
            shutil.copy2(path, dest / path.name)
        return bool(licences)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-manager", help="HTML manager version")
    parser.add_argument("--mathjax", help="MathJax version")
    parser.add_argument("--requirejs", help="require.js version")
    args = parser.parse_args()

    wanted = {
        "THREEDMOL": metadata.version("py3Dmol"),
        "HTML_MANAGER": args.html_manager,
        "MATHJAX": args.mathjax,
        "REQUIREJS": args.requirejs,
    }
    ext = EXT.read_text()
    setup_js = SETUP_JS.read_text()
    for constant, (package, files) in PACKAGES.items():
        folder, old, main_file = current(constant)
        new = wanted[constant] or old
        if new == old and (VENDOR / f"{folder}-{old}").is_dir():
            print(f"{package}: {old} (unchanged)")
            continue
        dest = VENDOR / f"{folder}-{new}"
        if dest.exists():
            shutil.rmtree(dest)
        has_licence = fetch(package, new, files, dest)
        if new != old and (VENDOR / f"{folder}-{old}").is_dir():
            shutil.rmtree(VENDOR / f"{folder}-{old}")
        ext = ext.replace(f'{constant} = ("{folder}", "{old}", ',
                          f'{constant} = ("{folder}", "{new}", ')
        setup_js = setup_js.replace(f"{folder}-{old}", f"{folder}-{new}")
        note = "" if has_licence else "  (no licence file: add one by hand)"
        print(f"{package}: {old} -> {new}{note}")
    ipywidgets = metadata.version("ipywidgets")
    if args.html_manager:
        ext = re.sub(r"IPYWIDGETS_TO_HTML_MANAGER = \{[^}]*\}",
                     f'IPYWIDGETS_TO_HTML_MANAGER = {{"{ipywidgets}": '
                     f'"{args.html_manager}"}}', ext)
    EXT.write_text(ext)
    SETUP_JS.write_text(setup_js)
    print("update the table in _ext/static/vendor/README.md if versions "
          "changed, then rebuild the book and run tests_browser")


if __name__ == "__main__":
    main()
