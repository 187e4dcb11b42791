"""Helpers shared by the data scripts: metadata and atomic writes.

Every shipped file carries its own metadata (the command that wrote it,
how long its runs took, versions and the grid) so that a reader can tell
where each number came from without this repository's history.
"""

import argparse
import concurrent.futures
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def data_parser(doc, cache_default):
    """An argument parser with the options every data script has:
    ``--workers``, ``--cache``, ``--out`` and ``--no-progress``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1,
                        help="local worker processes (default: 1, serial)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory for per-run results "
                             f"(default: {cache_default})")
    parser.add_argument("--out", type=Path, default=ROOT / "data",
                        help="output directory (default: data/)")
    parser.add_argument("--no-progress", action="store_true",
                        help="hide the progress bars")
    return parser


def parse_args_checked(parser, argv):
    """Parse ``argv``; refuse fewer than one worker."""
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    return args


def command_line(script, argv):
    """The command as a reader would type it from the repository root."""
    return shlex.join(["python", f"scripts/{script}", *argv])


def base_meta(command, **extra):
    """Metadata common to every file: command, time stamp and versions."""
    import packing_lite

    meta = {
        "command": command,
        "created_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "packing_lite": packing_lite.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    meta.update(extra)
    return meta


def write_csv(path, table, meta):
    """Write ``table`` as CSV after ``#`` lines holding ``meta`` as JSON."""
    path = Path(path)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w") as fh:
        for line in json.dumps(meta, indent=1).splitlines():
            fh.write(f"# {line}\n")
        table.to_csv(fh, index=False, float_format="%.6g")
    os.replace(tmp, path)


def write_npz(path, meta, **arrays):
    """Write compressed arrays and ``meta`` as the JSON string ``meta``."""
    path = Path(path)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def executor_for(workers):
    """A process pool of fresh interpreters, or None for serial runs."""
    if workers <= 1:
        return None
    # spawn, not fork: forking after numba has started threads is unsafe
    return concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"))


def shown(path):
    """A path relative to the repository root when it lies inside it."""
    path = Path(path)
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


sys.path.insert(0, str(ROOT))
