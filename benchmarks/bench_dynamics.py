"""Speed, scaling, start-up time and memory of the dynamics.

Run from the repository root::

    python benchmarks/bench_dynamics.py            # full run, 11-45 min
    python benchmarks/bench_dynamics.py --quick    # under 2 min
    python benchmarks/bench_dynamics.py --out benchmarks/results.md
    python benchmarks/bench_dynamics.py --sections curve --plot curve.png

It prints markdown tables: nanoseconds per particle-step and per
active-particle-step of BRO and SGD (b_f = 0.75 and 1) in 3D at
eps = lr = 0.02 from a uniform random start, with one and two threads;
the same from starts relabelled in cell order (the engine numbers the
spheres by cell itself, so the caller's labels should not matter); BRO
against a half-shell sweep in numba and in C++ and against a plain skin
list (``sweep_baseline.py``); the cost of a step against the active
fraction f_a; the time from
``import packing_lite`` to the end of the first step with an empty and a
filled compilation cache; and the peak memory per particle. Every figure
is the median of several repeats, with the smallest and largest in
brackets; one- and two-thread runs alternate, a table's runs are taken
in rounds over all its rows (so a slow spell of the machine does not fall
on every repeat of one row), and a fixed one-thread loop timed at the
start and after sections shows whether the machine's speed moved.
Wall-clock times on a machine shared with other work are only as quiet
as the machine: the load average is printed with the results.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

import packing_lite as pl
from packing_lite import dynamics
from packing_lite.neighbors import CellGrid
from sweep_baseline import SKIN, _CPP_FLAGS, check_cpp, cpp_baseline, time_sweep

EPS = 0.02
DYNAMICS = {
    "BRO": lambda p, steps, seed: pl.run_bro(p, EPS, steps, seed=seed),
    "SGD b_f=0.75": lambda p, steps, seed: pl.run_sgd(
        p, EPS, steps, batch_fraction=0.75, seed=seed),
    "SGD b_f=1": lambda p, steps, seed: pl.run_sgd(
        p, EPS, steps, batch_fraction=1.0, seed=seed),
}
FULL = {"sizes": {2_000: 1000, 20_000: 1000, 200_000: 100},
        "phis": (0.50, 0.60, 0.64, 0.70), "repeats": 5, "curve_n": 20_000,
        "cold": True, "baseline_steps": 1000,
        "ordered": {20_000: 1000, 200_000: 100}}
QUICK = {"sizes": {2_000: 300, 20_000: 150}, "phis": (0.60,), "repeats": 3,
         "curve_n": 5_000, "cold": False, "baseline_steps": 150,
         "ordered": {20_000: 150}}


def _spread(values, scale=1.0, digits=0):
    values = np.asarray(values, dtype=float) * scale
    fmt = f"{{:.{digits}f}}"
    return (f"{fmt.format(np.median(values))} "
            f"({fmt.format(values.min())}-{fmt.format(values.max())})")


def _load():
    try:
        return "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        return "n/a"


@numba.njit(cache=True)
def _gauge_loop(table, reps):
    mask = table.shape[0] - 1
    x = 0.0
    for r in range(reps):
        x += np.sqrt(table[(r * 40503) & mask])
    return x


def _gauge():
    """Milliseconds a fixed one-thread loop takes (median of 3): scattered
    reads and square roots, as in a scan, from 2 MB (a core's own caches)
    and from 64 MB (the caches and memory it shares). Taken at the start
    and after sections, the two show whether the machine's speed moved
    during the run and where."""
    readings = []  # the loop is serial: numba's thread count plays no part
    for size in (1 << 18, 1 << 23):
        table = np.arange(size, dtype=np.float64)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            _gauge_loop(table, 20_000_000)
            times.append(time.perf_counter() - start)
        readings.append(1e3 * float(np.median(times)))
    return readings


def _cpu_name():
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
                if key.strip() == "model name":
                    break
        return (f"{fields['model name']} (family {fields.get('cpu family', '?')}, "
                f"model {fields.get('model', '?')})")
    except (OSError, KeyError):
        pass
    return platform.processor() or platform.machine()


def _time_run(run, packing, steps, seed):
    start, cpu = time.perf_counter(), time.process_time()
    result = run(packing, steps, seed)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    taken = max(result.steps, 1)
    during = result.times < result.steps
    active_steps = float(np.sum(result.active_fraction[during])) * packing.n
    return (elapsed / (packing.n * taken), elapsed / max(active_steps, 1.0),
            float(np.mean(result.active_fraction[during])) if during.any() else 0.0,
            result.steps, cpu / (packing.n * taken))


def _thread_counts():
    """1 and 2, or 1 alone where numba has a single thread (the two-thread
    columns then repeat the one-thread runs)."""
    return (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)


def _rounds(keys, repeats, measure):
    """``measure(key, r)`` for every key, ``repeats`` rounds over all the
    keys in turn: a row's repeats are spread over the whole section, so a
    slow minute of the machine touches one repeat of several rows rather
    than every repeat of one row. Returns {key: [results in round order]}."""
    results = {key: [] for key in keys}
    for r in range(repeats):
        print(f"  round {r + 1} of {repeats}", file=sys.stderr, flush=True)
        for key in keys:
            results[key].append(measure(key, r))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return results


def throughput(config):
    """One table row per (dynamics, n, phi): 1 and 2 threads, each run
    followed by the other thread count's run of the same seed (a speed-up
    compares two runs made seconds apart)."""
    threads = _thread_counts()
    cases = [(name, n, phi) for name in DYNAMICS for n in config["sizes"]
             for phi in config["phis"]]
    starts = {(n, phi): pl.random_packing(n, phi, dim=3, seed=1)
              for n in config["sizes"] for phi in config["phis"]}

    def measure(key, r):
        (name, n, phi), nt = key
        numba.set_num_threads(nt)
        return _time_run(DYNAMICS[name], starts[n, phi], config["sizes"][n], 2 + r)

    cells = _rounds([(case, nt) for case in cases for nt in threads],
                    config["repeats"], measure)
    rows = []
    for case in cases:
        name, n, phi = case
        ones, twos = cells[case, 1], cells[case, threads[-1]]
        one = np.array([c[0] for c in ones])
        two = np.array([c[0] for c in twos])
        rows.append({
            "dynamics": name, "n": n, "phi": phi, "steps": config["sizes"][n],
            "taken": int(np.median([c[3] for c in ones])),
            "f_a": float(np.median([c[2] for c in ones])),
            "one": one, "one_active": np.array([c[1] for c in ones]),
            "one_cpu": np.array([c[4] for c in ones]),
            "two": two, "two_active": np.array([c[1] for c in twos]),
            "speedup": one / two,
        })
        print(f"  {name:13s} n={n:<7d} phi={phi:.2f}  1 thread "
              f"{np.median(one) * 1e9:6.1f} ns  2 threads "
              f"{np.median(two) * 1e9:6.1f} ns", file=sys.stderr, flush=True)
    return rows


def cell_order(config, phi=0.60):
    """BRO and SGD (b_f = 0.75) from the same random start with labels as
    drawn and relabelled in cell order (``Packing.sorted_by_cell``), the
    two alternating: ns per particle-step, 1 and 2 threads. The engine
    numbers the spheres cell by cell itself, so the two should cost the
    same."""
    threads = _thread_counts()
    starts = {}
    for n in config["ordered"]:
        drawn = pl.random_packing(n, phi, dim=3, seed=1)
        starts[n] = {"drawn": drawn, "cells": drawn.sorted_by_cell()}
    cases = [(name, n) for name in ("BRO", "SGD b_f=0.75") for n in config["ordered"]]

    def measure(key, r):
        (name, n), label, nt = key
        numba.set_num_threads(nt)
        return _time_run(DYNAMICS[name], starts[n][label], config["ordered"][n],
                         2 + r)[0]

    times = _rounds([(case, label, nt) for case in cases for nt in threads
                     for label in ("drawn", "cells")], config["repeats"], measure)
    rows = []
    for case in cases:
        name, n = case
        mine = {(label, nt): np.array(times[case, label, nt])
                for label in ("drawn", "cells") for nt in threads}
        rows.append((name, n, config["ordered"][n], mine))
        print(f"  {name:13s} n={n:<7d} cell order: 1 thread "
              f"{np.median(mine['cells', 1]) * 1e9:6.1f} ns (as drawn "
              f"{np.median(mine['drawn', 1]) * 1e9:6.1f})", file=sys.stderr,
              flush=True)
    return rows


def cell_order_table(rows):
    lines = ["| dynamics | N | steps | threads | labels as drawn: ns / particle-step "
             "| in cell order | ratio |", "|---|---|---|---|---|---|---|"]
    for name, n, steps, times in rows:
        for nt in sorted({k[1] for k in times}):
            drawn, cells = times["drawn", nt], times["cells", nt]
            lines.append(f"| {name} | {n} | {steps} | {nt} | {_spread(drawn, 1e9)} "
                         f"| {_spread(cells, 1e9)} "
                         f"| {_spread(cells / drawn, digits=2)} |")
    return "\n".join(lines)


def throughput_table(rows):
    lines = [
        "| dynamics | N | phi | steps | mean f_a | 1 thread: ns / particle-step "
        "| 1 thread: ns / active-step | 1 thread: CPU ns / particle-step "
        "| 2 threads: ns / particle-step | 2 threads: ns / active-step "
        "| speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        taken = r["taken"] if r["taken"] == r["steps"] else f"{r['taken']} (absorbed)"
        lines.append(
            f"| {r['dynamics']} | {r['n']} | {r['phi']:.2f} | {taken} | {r['f_a']:.2f} "
            f"| {_spread(r['one'], 1e9)} | {_spread(r['one_active'], 1e9)} "
            f"| {_spread(r['one_cpu'], 1e9)} "
            f"| {_spread(r['two'], 1e9)} | {_spread(r['two_active'], 1e9)} "
            f"| {_spread(r['speedup'], digits=2)} |")
    return "\n".join(lines)


def _drive(packing, steps, segment=None, on_segment=None):
    """Run BRO on the engine a run would take, directly, ``segment`` steps
    per call (the positions stay in the engine's numbering between calls,
    as in a run)."""
    n = packing.n
    rule = dynamics._bro_rule(packing, EPS, "particle")[0]
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, n)
    engine = dynamics.fast_engine(packing)
    positions = np.array(packing.positions)
    size = steps + 3
    times, fa, loss = np.empty(size, np.int64), np.empty(size), np.empty(size)
    segment = segment or steps
    t, records = 0, 0
    while t < steps:
        start = time.perf_counter()
        t_new, after, absorbed, _ = engine.advance(
            positions, packing.radii, packing.box, grid.per_side, grid.offsets,
            None, None, None, 4, rule.factor_kind, rule.scale, rule.spread,
            rule.batch_size, rule.weight_kind, rule.weight_param, t,
            min(t + segment, steps), 1, times, fa, loss, records,
            keep_numbering=True)
        elapsed = time.perf_counter() - start
        if on_segment is not None and t_new > t:
            on_segment(t, fa[records: records + t_new - t], elapsed / (t_new - t))
        records = after - 1  # the next call records the state at t_new again
        t = t_new
        if absorbed:
            break
    engine.restore()
    return engine, t


def activity_curve(n, segment=20, max_steps=6000):
    """Wall time per step against f_a along one absorbing BRO run.

    Times the fast engine in segments of ``segment`` steps (the first,
    which builds the lists, is left out); the cost is compared
    with that of the segments where nearly every sphere is active.
    """
    samples = []

    def keep(t, fa, per_step):
        if t > 0:
            samples.append((float(np.mean(fa)), per_step))

    packing = pl.random_packing(n, 0.60, dim=3, seed=3)
    _, steps = _drive(packing, max_steps, segment, keep)
    return np.array(samples), steps


def _all_active_cost(samples):
    """Median seconds per step of the segments with f_a > 0.95 (nan if
    there are none): what the curve's costs are compared with."""
    full = samples[samples[:, 0] > 0.95, 1]
    return float(np.median(full)) if full.size else math.nan


def activity_table(samples, n):
    base = _all_active_cost(samples)
    edges = [1.0, 0.9, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0]
    lines = [f"| f_a (N = {n}) | segments | us / step | ns / particle-step "
             "| cost / cost at f_a > 0.95 |", "|---|---|---|---|---|"]
    for high, low in zip(edges[:-1], edges[1:]):
        inside = samples[(samples[:, 0] <= high) & (samples[:, 0] > low)]
        if not inside.size:
            continue
        step = inside[:, 1]
        lines.append(f"| {low:.2f} - {high:.2f} | {len(step)} | {_spread(step, 1e6, 1)} "
                     f"| {_spread(step, 1e9 / n, 1)} | {np.median(step) / base:.3f} |")
    return "\n".join(lines)


def baseline(config, n=20_000, phi=0.60):
    """The baselines of ``sweep_baseline`` (the half-shell sweep in numba,
    and in C++ if it builds and takes the numba sweep's steps; the skin
    list) against the engine's BRO,
    alternating: seconds per particle-step with one thread, and C++ against
    the engine with two; and notes on what was left out."""
    steps = config["baseline_steps"]
    time_sweep(2000, phi, 3)  # compile
    time_sweep(2000, phi, 3, language="skin list")
    plan = [(1, "numba"), (1, "skin list"), (1, "engine")]
    notes = []
    if cpp_baseline() is None:
        notes.append("The C++ sweep is left out: no C++ compiler could build it.")
    else:
        one, two = check_cpp(steps=100)
        if one != 0.0:
            notes.append(f"The C++ sweep is left out: with one thread its steps "
                         f"differ from the numba sweep's (by {one:.1e} after 100 "
                         "steps; compiler flags in CXX?).")
        else:
            plan.insert(2, (1, "C++"))
            if numba.config.NUMBA_NUM_THREADS < 2 or two is None:
                notes.append("Two-thread rows are left out: numba or OpenMP "
                             "has a single thread here.")
            else:
                plan += [(2, "C++"), (2, "engine")]
    times = {key: [] for key in plan}
    for r in range(config["repeats"]):
        for nt, who in plan:
            if who == "engine":
                numba.set_num_threads(nt)
                start = pl.random_packing(n, phi, dim=3, seed=1)
                times[nt, who].append(_time_run(DYNAMICS["BRO"], start, steps,
                                                2 + r)[0])
            else:
                times[nt, who].append(time_sweep(n, phi, steps, EPS, seed=2 + r,
                                                 language=who, threads=nt)[0])
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return {key: np.array(value) for key, value in times.items()}, steps, notes


def baseline_table(times):
    lines = ["| threads | baseline | ns per particle-step | this engine "
             "| baseline / engine |", "|---|---|---|---|---|"]
    for (nt, who), values in times.items():
        if who == "engine":
            continue
        engine = times[nt, "engine"]
        name = who if who == "skin list" else f"half-shell sweep, {who}"
        lines.append(f"| {nt} | {name} | {_spread(values, 1e9)} | "
                     f"{_spread(engine, 1e9)} | "
                     f"{np.median(values) / np.median(engine):.2f} |")
    return "\n".join(lines)


def reference_cost(n=20_000, steps=30):
    packing = pl.random_packing(n, 0.60, dim=3, seed=1)
    rule = dynamics._bro_rule(packing, EPS, "particle")[0]
    numba.set_num_threads(1)
    # load (or compile) the reference kernels first: a run that compiles
    # them took 16 times as long
    dynamics._run(pl.random_packing(500, 0.60, dim=3, seed=1), rule, 2, 1, 1,
                  False, {"dynamics": "bro"}, engine="reference")
    values = []
    for r in range(2):
        start = time.perf_counter()
        dynamics._run(packing, rule, steps, 2 + r, 1, False, {"dynamics": "bro"},
                      engine="reference")
        values.append((time.perf_counter() - start) / (n * steps))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return np.array(values)


_FIRST_STEP = textwrap.dedent("""
    import time
    start = time.perf_counter()
    import packing_lite as pl
    packing = pl.random_packing(2000, 0.6, seed=1)
    pl.run_bro(packing, 0.02, 1, seed=2)
    print(time.perf_counter() - start)
""")


def startup(repeats, cold):
    """Seconds from ``import packing_lite`` to the end of the first step.

    With ``cold``, each repeat runs in a subprocess with an empty
    compilation cache of its own (everything compiles), then again with
    that cache filled; otherwise only with the cache already in place.
    Returns the cold times (None without ``cold``) and the warm ones.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))

    def once():
        out = subprocess.run([sys.executable, "-c", _FIRST_STEP], env=env,
                             capture_output=True, text=True, check=True)
        return float(out.stdout.split()[-1])

    if not cold:
        return None, np.array([once() for _ in range(repeats)])
    first, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            env["NUMBA_CACHE_DIR"] = cache
            first.append(once())
            warm.append(once())
    return np.array(first), np.array(warm)


_MEMORY = textwrap.dedent("""
    import json, resource, sys, tracemalloc
    import numpy as np
    import packing_lite as pl
    n = int(sys.argv[1])
    pl.run_bro(pl.random_packing(500, 0.6, seed=1), 0.02, 3, seed=2)
    packing = pl.random_packing(n, 0.6, seed=1)
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    def high_water():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    # start the peak afresh where Linux allows it: loading or compiling
    # kernels before the run can leave a higher peak than the run's own
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        peak_now = high_water
    except OSError:
        peak_now = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    before = rss()
    tracemalloc.start()
    pl.run_bro(packing, 0.02, 30, seed=2)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = peak_now()
    print(json.dumps({"rss": max(peak - before, 0) / n, "traced": traced / n}))
""")


def memory(n, repeats):
    """Peak memory of a run per particle, beyond the input packing."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    values = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _MEMORY, str(n)], env=env,
                             capture_output=True, text=True, check=True)
        values.append(json.loads(out.stdout.splitlines()[-1]))
    packing = pl.random_packing(n, 0.6, dim=3, seed=1)
    engine, _ = _drive(packing, 5)
    # the caller's arrays the engine only refers to (equal radii) are not its
    # own, and views of its own arrays (scratch) take no memory of their own
    arrays = [v for v in vars(engine).values() if isinstance(v, np.ndarray)]
    state = sum(v.nbytes for v in arrays
                if not np.shares_memory(v, packing.radii)
                and not any(v.base is w for w in arrays))
    return (np.array([v["rss"] for v in values]),
            np.array([v["traced"] for v in values]), state / n)


SECTIONS = ("throughput", "labels", "curve", "baselines", "startup", "memory")


def plot_activity(samples, reference, n, path):
    """The cost of a step against f_a (one point per timed segment) as a
    PNG: the engine's cost against a cost proportional to f_a, the 0.2 x
    target below f_a = 0.05 and the reference engine's full scan."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = samples[samples[:, 0] > 0]  # a log axis has no room for f_a = 0
    low = min([1e-3] + list(shown[:, 0]))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.loglog(shown[:, 0], shown[:, 1] * 1e9 / n, "o", ms=3, alpha=0.7,
              label="this engine, one point per 20 steps")
    ax.axhline(np.median(reference) * 1e9, color="C3",
               label="reference engine (full rebuild and scan)")
    full = _all_active_cost(samples) * 1e9 / n
    if not math.isnan(full):  # the lines scaled from the all-active cost
        grid = np.logspace(np.log10(low), 0, 50)
        ax.loglog(grid, full * grid, "--", color="0.4",
                  label="cost proportional to f_a")
        ax.plot([low, 0.05], [0.2 * full] * 2, color="C2", lw=2,
                label="target: 0.2 x all-active cost for f_a <= 0.05")
    ax.set_xlabel("active fraction f_a")
    ax.set_ylabel("ns per particle-step")
    ax.set_title(f"BRO, N = {n}, phi = 0.60, eps = {EPS}, one thread")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _section(title, caption, table, after=None):
    """A markdown section: title, caption (or none), table, closing line."""
    lines = [f"### {title}"] + ([caption] if caption else []) + ["", table, ""]
    return lines + ([after, ""] if after else [])


def _gauged(name, gauge, work, config):
    """Run one section, then time the gauge loop again (to show drift)."""
    print(name, file=sys.stderr, flush=True)
    result = work(config)
    gauge.append((f"after the {name} section", _gauge()))
    return result


def _check_file(parser, option, path):
    """Refuse a bad output path before the long run."""
    if path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        if not path or os.path.isdir(path) or not os.path.isdir(folder):
            parser.error(f"{option} must name a file in an existing folder, got "
                         f"{path!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under 2 minutes")
    parser.add_argument("--out", help="also write the tables to this file")
    parser.add_argument("--plot", help="also draw the cost against f_a into this "
                        "PNG file")
    parser.add_argument("--repeats", type=int,
                        help="runs per figure, start-up and memory included "
                        "(default 3)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS,
                        default=list(SECTIONS), metavar="SECTION",
                        help="run only these sections, out of "
                        + ", ".join(SECTIONS) + " (default: all)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    _check_file(parser, "--out", args.out)
    _check_file(parser, "--plot", args.plot)
    if (args.out and args.plot
            and os.path.realpath(args.out) == os.path.realpath(args.plot)):
        parser.error("--out and --plot must name two different files")
    if args.plot is not None and not args.plot.lower().endswith(".png"):
        parser.error(f"--plot must name a .png file, got {args.plot!r}")
    if args.plot is not None and "curve" not in args.sections:
        parser.error("--plot draws the curve section: add curve to --sections")
    config = dict(QUICK if args.quick else FULL)
    if args.repeats is not None:
        config["repeats"] = args.repeats
    wanted = set(args.sections)
    started = time.perf_counter()
    load_before = _load()

    print("warming up the compiled kernels", file=sys.stderr, flush=True)
    small = pl.random_packing(500, 0.6, dim=3, seed=1)
    for nt in _thread_counts():
        numba.set_num_threads(nt)
        for run in DYNAMICS.values():
            run(small, 5, 1)

    gauge = [("at the start", _gauge())]
    sections = []
    if "throughput" in wanted:
        rows = _gauged("throughput", gauge, throughput, config)
        sections += _section(
            "Throughput (3D, eps = lr = 0.02, uniform random start)",
            "Median (min-max) of %d runs, one- and two-thread runs alternating "
            "(a speed-up is the ratio of a run and the one next to it), the "
            "rows' runs taken in rounds over the whole table; wall "
            "clock unless marked CPU; a step's cost per particle and per active "
            "particle (summed f_a N over the steps). The CPU time of a "
            "one-thread run is less sensitive to other work on the machine than "
            "its wall time." % config["repeats"]
            + ("" if len(_thread_counts()) > 1 else
               " numba has one thread here: the two-thread columns repeat the "
               "one-thread runs."),
            throughput_table(rows))
    if "labels" in wanted:
        ordered = _gauged("labels", gauge, cell_order, config)
        sections += _section(
            "Labels in cell order",
            "The same random starts relabelled with `Packing.sorted_by_cell()` "
            "(spheres close in space close in memory), phi = 0.60, both "
            "labellings alternating, the rows' runs taken in rounds; median "
            "(min-max) of %d runs, wall clock. "
            "The engine numbers the spheres cell by cell itself, whatever their "
            "labels." % config["repeats"],
            cell_order_table(ordered))
    if "curve" in wanted:
        print("cost against f_a", file=sys.stderr, flush=True)
        numba.set_num_threads(1)
        samples, curve_steps = activity_curve(config["curve_n"])
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        print("reference engine", file=sys.stderr, flush=True)
        reference = reference_cost(n=config["curve_n"])
        sections += _section(
            "Cost of a step against the active fraction",
            f"One BRO run, N = {config['curve_n']}, phi = 0.60, 1 thread, timed "
            f"in segments of 20 steps until it absorbed ({curve_steps} steps).",
            activity_table(samples, config["curve_n"]),
            f"Reference engine (full rebuild and scan every step), same system, "
            f"1 thread: {_spread(reference, 1e9)} ns per particle-step.")
        curve = (samples, reference, config["curve_n"])
    if "baselines" in wanted:
        sweeps, sweep_steps, sweep_notes = _gauged("baselines", gauge, baseline,
                                                   config)
        sections += _section(
            "Against a half-shell sweep and a skin list",
            f"BRO, N = 20000, phi = 0.60, {sweep_steps} steps from a random "
            "start, all runs alternating (the baselines of "
            "`benchmarks/sweep_baseline.py`, timed by this script): cell lists "
            "rebuilt every step and one half-shell sweep over all spheres (the "
            "algorithm described for the authors' C++ code), in numba and in "
            f"C++ with OpenMP built with {' '.join(_CPP_FLAGS[:3])}; and a skin "
            f"list in numba (pairs within a contact distance plus {SKIN} of the "
            "largest one, each pair once, rebuilt once a sphere has moved half "
            "the skin, swept over all spheres every step; it adds contacts in "
            "list order, so its runs depend on the numbering). Median (min-max) "
            f"of {config['repeats']} runs, wall clock. " + " ".join(sweep_notes),
            baseline_table(sweeps))
    rows_su = []
    if "startup" in wanted:
        print("start-up", file=sys.stderr, flush=True)
        cold, warm = startup(config["repeats"], config["cold"])
        rows_su += [
            "| import to end of first step, empty cache (compiles) | "
            + (f"{_spread(cold, digits=1)} s |" if cold is not None
               else "not measured (--quick) |"),
            f"| import to end of first step, warm cache | {_spread(warm, digits=2)} s |"]
    if "memory" in wanted:
        print("memory", file=sys.stderr, flush=True)
        mem_n = max(config["sizes"])
        rss, traced, state = memory(mem_n, config["repeats"])
        rows_su += [
            f"| peak RSS of a run beyond its input, per particle (N = {mem_n}) "
            f"| {_spread(rss)} bytes |",
            f"| numpy arrays allocated during a run (tracemalloc), per particle "
            f"| {_spread(traced)} bytes |",
            f"| engine state arrays at start, per particle | {state:.0f} bytes |"]
    if rows_su:
        sections += _section("Start-up and memory", None,
                             "\n".join(["| quantity | value |", "|---|---|"]
                                       + rows_su))
    sections.append(
        f"Machine: {_cpu_name()}, "
        f"{os.cpu_count()} CPUs, numba {numba.__version__} "
        f"({numba.threading_layer()} threads), numpy {np.__version__}; "
        f"load average before {load_before}, after {_load()}; "
        f"benchmark took {time.perf_counter() - started:.0f} s. A fixed "
        "one-thread loop of scattered reads took, from 2 MB / from 64 MB, "
        + ", ".join(f"{two:.0f} / {many:.0f} ms {when}"
                    for when, (two, many) in gauge)
        + " (the first follows the core's own speed, the second also the "
        "caches and memory it shares with other work).")
    text = "\n".join(sections)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.plot:  # after the tables, which a failing plot must not lose
        plot_activity(*curve, args.plot)


if __name__ == "__main__":
    main()
