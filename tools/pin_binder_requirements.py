"""Write binder/requirements.txt: every package the book needs, pinned.

Takes the packages named in requirements.txt, follows their dependencies
(with the extras asked for and the markers that hold for this interpreter)
through the installed distributions, and pins each one at its installed
version: a ``pip freeze`` of a working environment, restricted to what the
book needs, so unrelated tools installed beside it stay out. Run it in the
environment the book was last built and tested in:

    python tools/pin_binder_requirements.py            # writes the file
    python tools/pin_binder_requirements.py --check    # fails if stale
"""

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "requirements.txt"
TARGET = ROOT / "binder" / "requirements.txt"
# Installed by binder/postBuild from the repository itself.
OWN = {"packing-lite"}

HEADER = """\
# Pinned environment for Binder, written by tools/pin_binder_requirements.py
# from requirements.txt and the environment the book was built and tested
# in. Do not edit by hand; rerun the tool after changing requirements.txt.
"""


def top_level():
    for line in SOURCE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            yield Requirement(line)


def closure():
    """name -> installed version for the requirements and their deps."""
    pinned, todo = {}, [(req, frozenset(req.extras)) for req in top_level()]
    seen = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if (name, extras) in seen or name in OWN:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed")
        pinned[name] = (dist.metadata["Name"], dist.version)
        for spec in dist.requires or []:
            dep = Requirement(spec)
            if dep.marker is not None:
                wanted = [""] + sorted(extras)
                if not any(dep.marker.evaluate(
                        dict(default_environment(), extra=e)) for e in wanted):
                    continue
            todo.append((dep, frozenset(dep.extras)))
    return pinned


def render():
    lines = [f"{name}=={version}" for name, version in
             sorted(closure().values(), key=lambda nv: nv[0].lower())]
    return HEADER + "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that the file is up to date")
    args = parser.parse_args()
    text = render()
    if args.check:
        if TARGET.read_text() != text:
            sys.exit(f"{TARGET.relative_to(ROOT)} is out of date")
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({text.count('==')} pins)")


if __name__ == "__main__":
    main()
