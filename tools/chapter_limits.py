"""Run each chapter top to bottom in a fresh kernel on 2 cores and 2 GiB.

This is the budget of a Binder session. For every chapter of ``_toc.yml``
(or the ones named on the command line) a new kernel runs the notebook from
the first cell to the last, in the ``book`` folder, with

- CPU: the kernel may run on two cores only (its CPU affinity);
- memory: its address space is capped at 2 GiB (``RLIMIT_AS``), so an
  allocation beyond that fails inside the chapter;
- time: five minutes for the whole chapter.

It prints the wall time and the peak resident memory of each chapter's
kernel (``VmHWM``, together with any processes the chapter started and
waited for) and exits non-zero when a chapter fails or exceeds a limit.

    python tools/chapter_limits.py                 # every chapter
    python tools/chapter_limits.py book/bro_sgd.md # some chapters

On a shared machine the times include waiting for a core; run it when the
machine is otherwise idle to measure what a Binder user would see.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

CORES = 2
MEMORY = 2 * 1024**3
TIME_LIMIT = 300.0

RUN_ONE = r"""
import json, os, resource, sys, time
import jupytext, nbclient

path = sys.argv[1]
notebook = jupytext.read(path)
client = nbclient.NotebookClient(
    notebook, timeout=int(sys.argv[2]), kernel_name="python3",
    resources={"metadata": {"path": os.path.dirname(path)}})
peak = 0
error = None
start = time.perf_counter()
with client.setup_kernel():
    pid = client.km.provisioner.process.pid
    try:
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
elapsed = time.perf_counter() - start
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak": max(peak, children),
                  "error": error}))
"""


def is_notebook(path):
    """A chapter with code to run: an .ipynb, or MyST with a kernelspec."""
    if path.suffix == ".ipynb":
        return True
    head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
    return head.startswith("---") and "kernelspec:" in head


def chapters():
    from student_edition import chapter_files

    return [p for p in chapter_files() if p.suffix in (".md", ".ipynb")]


def _limits(cores, memory):
    def apply():
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[:cores])
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return apply


def run_chapter(path, cores=CORES, memory=MEMORY, time_limit=TIME_LIMIT):
    """Execute one chapter under the limits; a dict of what happened."""
    env = dict(os.environ)
    # Fewer malloc arenas: less reserved address space per thread, so the
    # address-space cap acts on memory that is used, not just reserved.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUN_ONE, str(path), str(int(time_limit))],
            preexec_fn=_limits(cores, memory), env=env, cwd=path.parent,
            capture_output=True, text=True, timeout=time_limit + 60)
    except subprocess.TimeoutExpired:
        return {"seconds": time.perf_counter() - start, "peak": 0,
                "error": "did not finish"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"seconds": time.perf_counter() - start, "peak": 0,
                "error": tail}
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path,
                        help="chapter files (default: all of _toc.yml)")
    parser.add_argument("--cores", type=int, default=CORES)
    parser.add_argument("--memory-gib", type=float, default=MEMORY / 1024**3)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                        help="seconds allowed per chapter")
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.chapters] or chapters()
    memory = int(args.memory_gib * 1024**3)
    print(f"limits: {args.cores} cores, {args.memory_gib:g} GiB address "
          f"space, {args.time_limit:.0f} s per chapter")
    print(f"{'chapter':28s} {'time':>8s} {'peak memory':>12s}  verdict")
    failed = 0
    for path in paths:
        if not is_notebook(path):
            print(f"{path.stem:28s} {'':>8s} {'':>12s}  no code, skipped")
            continue
        result = run_chapter(path, args.cores, memory, args.time_limit)
        problems = []
        if result["error"]:
            problems.append(result["error"])
        if result["seconds"] > args.time_limit:
            problems.append("over the time limit")
        if result["peak"] > memory:
            problems.append("over the memory limit")
        failed += bool(problems)
        verdict = "; ".join(problems) or "ok"
        print(f"{path.stem:28s} {result['seconds']:7.1f}s "
              f"{result['peak'] / 1024**2:9.0f} MiB  {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
