"""How fast does a fresh Python start simulating, with a warmed numba cache?

Binder builds the image (and warms the cache, in ``postBuild``) on one
machine and runs it on another, whose CPU may differ. numba keys every
cached function on the CPU name and its feature list, so a cache warmed for
one CPU is ignored on another and everything compiles again. Setting
``NUMBA_CPU_NAME=generic`` (which implies empty ``NUMBA_CPU_FEATURES``)
makes the key the same everywhere; ``binder/numba.env`` does that.

This script shows it. For each scenario it empties a cache directory, warms
it in one process with one CPU setting (``tools/warm_numba_cache.py``), then
times, in a second fresh process with another setting, ``import
packing_lite`` plus the first BRO step on N = 2000 spheres in 3D:

- cold: nothing warmed, everything compiles on first use;
- generic -> generic: Binder's set-up, the key matches on any CPU;
- host -> other CPU: warmed for this CPU, run as if on another one (the
  CPU name is overridden), as Binder would be without the generic setting;
- generic -> host: a generic cache is ignored by a session that does not
  set the variables, so the variables must be set at run time too.

    python tools/warm_start.py [--limit 3.0]

Exits non-zero if the Binder scenario (generic -> generic) is slower than
``--limit`` seconds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_STEP = """
import json, time
start, cpu = time.perf_counter(), time.process_time()
import packing_lite as pl
imported = time.perf_counter()
packing = pl.random_packing(2000, phi=0.6, dim=3, seed=1)
result = pl.run_bro(packing, eps=0.02, steps=1, seed=1)
done = time.perf_counter()
print(json.dumps({"import": imported - start, "total": done - start,
                  "cpu": time.process_time() - cpu}))
"""

GENERIC = {"NUMBA_CPU_NAME": "generic"}
HOST = {}
# A real, different x86-64 CPU model: what another Binder node might have.
OTHER_CPU = {"NUMBA_CPU_NAME": "sandybridge", "NUMBA_CPU_FEATURES": ""}

SCENARIOS = [
    ("cold (nothing warmed)", None, GENERIC),
    ("generic -> generic (Binder)", GENERIC, GENERIC),
    ("host -> other CPU", HOST, OTHER_CPU),
    ("generic -> host", GENERIC, HOST),
]


def _env(cache_dir, cpu):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env.update(cpu)
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def run_scenario(warm_cpu, run_cpu):
    """Seconds to import and take the first step, after warming or not."""
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        if warm_cpu is not None:
            subprocess.run(
                [sys.executable, str(ROOT / "tools" / "warm_numba_cache.py")],
                env=_env(cache, warm_cpu), check=True, cwd=ROOT,
                stdout=subprocess.DEVNULL)
        out = subprocess.run(
            [sys.executable, "-c", FIRST_STEP], env=_env(cache, run_cpu),
            check=True, cwd=ROOT, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=3.0,
                        help="seconds allowed for the Binder scenario")
    args = parser.parse_args()

    # Wall time is what a student waits; CPU time (user + system of the
    # process) is what it would be on an idle machine, as on a busy one the
    # process also waits for a core.
    print(f"{'scenario':32s} {'import':>8s} {'to first step':>14s} "
          f"{'CPU time':>9s}")
    binder = None
    for name, warm_cpu, run_cpu in SCENARIOS:
        start = time.perf_counter()
        times = run_scenario(warm_cpu, run_cpu)
        print(f"{name:32s} {times['import']:7.2f}s {times['total']:13.2f}s "
              f"{times['cpu']:8.2f}s   (scenario took "
              f"{time.perf_counter() - start:.0f} s)", flush=True)
        if run_cpu is GENERIC and warm_cpu is GENERIC:
            binder = times["total"]
    verdict = "within" if binder <= args.limit else "OVER"
    print(f"Binder set-up: {binder:.2f} s from import to first step, "
          f"{verdict} the {args.limit:.1f} s limit")
    return 0 if binder <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
