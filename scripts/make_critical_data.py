"""Regenerate the data behind the critical-scaling chapter.

Runs SGD (batch fractions 0.2 and 1.0) and BRO in 3D on a grid of volume
fractions around the transition, for several system sizes and independent
seeds, and writes two small files to ``data/``:

``critical_<size>_runs.csv``
    One row per run (the table of :func:`packing_lite.sweep.run_sweep`),
    preceded by ``#`` lines of metadata: the command, how long it took,
    when, with which versions, and the grid. Read it with
    ``pandas.read_csv(path, comment="#")``.
``critical_<size>_curves.npz``
    The activity ``f_a(t)`` averaged over seeds at every grid point (an
    absorbed run counts as 0 after it absorbs): arrays ``label``, ``n``,
    ``phi``, ``n_runs`` (one entry per point), ``times`` and ``f_a`` (one
    row per point, padded with -1 and NaN), and the metadata as a JSON
    string under ``meta``.

Usage::

    python scripts/make_critical_data.py --size small            # minutes
    python scripts/make_critical_data.py --size medium --workers 2  # ~1 hour
    python scripts/make_critical_data.py --size large --workers 2   # ~1.5 hours
    python scripts/make_critical_data.py --size long --workers 2    # ~30 min
    python scripts/make_critical_data.py --size steady --workers 1  # ~30 min
    python scripts/make_critical_data.py --size kicks --workers 2   # ~80 min
    python scripts/make_critical_data.py --size full --workers 8  # hours

The ``medium`` grid is the one behind the book's figures. It runs SGD at
batch fraction 0.2 with lr = 0.1 (``sgd-bf0.2-lr0.1``), whose mean drift
per step, ``lr * b_f = 0.02``, equals that of gradient descent at
lr = 0.02, so the same step budget covers the same mean motion; its
critical point lies lower (near 0.57 instead of 0.62), and each dynamics
gets its own volume fractions around its own transition.

The ``large`` grid repeats gradient descent at N = 2000 to 20 000 with
twice the steps; the ``long`` grid follows gradient descent at N = 5000 for
10^5 steps at the volume fractions where the shorter runs had not settled.
The ``steady`` grid runs gradient descent at lr = 0.1, five times the drift
per step, at N = 10 000 for 5 x 10^4 steps just above its transition.
The ``kicks`` grid runs BRO with kicks of up to 0.3 diameters at N = 5000
to 50 000 on a fine grid of volume fractions next to its transition
(near 0.41), where the activity reaches its steady state within the run.

Every run is saved as it finishes under ``build/critical-runs/<size>``
(``--cache``); rerunning the same command after an interruption picks up
where it stopped, and rerunning it after a change in the analysis only
re-reads the stored runs.
"""

import sys
import time

import numpy as np
import pandas as pd

from _datafiles import (ROOT, base_meta, command_line, data_parser,
                        executor_for, parse_args_checked, shown, write_csv,
                        write_npz)

from packing_lite import analysis, sweep  # noqa: E402

# The protocol of the published runs uses eps = lr = 0.02 diameters; the
# grid brackets phi_c(0.02), which lies between 0.60 and 0.64 in 3D.
GRIDS = {
    "small": dict(
        n=[150, 300],
        phi=[0.56, 0.58, 0.60, 0.62, 0.64, 0.66],
        n_seeds=3,
        steps=1500,
        record_every=25,
    ),
    "medium": dict(
        n=[500, 1000, 2000, 4000],
        phi={
            "sgd-bf1.0": [0.600, 0.606, 0.610, 0.613, 0.616, 0.619, 0.622,
                          0.626, 0.632, 0.640, 0.650],
            "sgd-bf0.2-lr0.1": [0.550, 0.556, 0.560, 0.563, 0.566, 0.569,
                                0.572, 0.576, 0.582, 0.590, 0.600],
        },
        n_seeds=4,
        steps=10000,
        record_every=50,
        dynamics=["sgd-bf0.2-lr0.1", "sgd-bf1.0"],
    ),
    "large": dict(
        n=[2000, 5000, 10000, 20000],
        phi={
            "sgd-bf1.0": [0.612, 0.616, 0.619, 0.622, 0.625, 0.628, 0.632,
                          0.636, 0.642, 0.650],
        },
        n_seeds=3,
        steps=20000,
        record_every=50,
        dynamics=["sgd-bf1.0"],
    ),
    "long": dict(
        n=[5000],
        phi={"sgd-bf1.0": [0.622, 0.624, 0.626, 0.628, 0.632]},
        n_seeds=2,
        steps=100000,
        record_every=500,
        dynamics=["sgd-bf1.0"],
    ),
    "steady": dict(
        n=[10000],
        phi={"sgd-bf1.0-lr0.1": [0.573, 0.574, 0.575, 0.576, 0.578, 0.580]},
        n_seeds=1,
        steps=50000,
        record_every=100,
        dynamics=["sgd-bf1.0-lr0.1"],
    ),
    "kicks": dict(
        n=[5000, 10000, 20000, 50000],
        # every 0.001, and every 0.0005 where the activity is smallest
        phi={"bro-eps0.3": sorted(
            [round(0.409 + 0.001 * k, 3) for k in range(12)]
            + [0.4125, 0.4135, 0.4145, 0.4155])},
        n_seeds=2,
        steps=30000,
        record_every=100,
        dynamics=["bro-eps0.3"],
    ),
    "full": dict(
        n=[500, 1000, 2000, 4000],
        phi=[round(0.58 + 0.005 * k, 3) for k in range(17)],
        n_seeds=8,
        steps=20000,
        record_every=50,
    ),
}
# label: (dynamics, parameters, step factor). SGD at batch fraction b_f
# moves a sphere by lr / 2 per contact only in a fraction b_f of the steps,
# so its mean drift per step is b_f times that of GD (and of BRO at
# eps = lr); b_f = 0.2 gets 5 times the steps (and records 5 times less
# often) to cover the same drift.
DYNAMICS = {
    "sgd-bf0.2": ("sgd", {"lr": 0.02, "batch_fraction": 0.2}, 5),
    "sgd-bf1.0": ("sgd", {"lr": 0.02, "batch_fraction": 1.0}, 1),
    # same mean drift per step as lr = 0.02 at b_f = 1, in as many steps
    "sgd-bf0.2-lr0.1": ("sgd", {"lr": 0.1, "batch_fraction": 0.2}, 1),
    # five times the drift per step of lr = 0.02, to relax in fewer steps
    # (near phi_c it still does not settle in 5 x 10^4: see the chapter)
    "sgd-bf1.0-lr0.1": ("sgd", {"lr": 0.1, "batch_fraction": 1.0}, 1),
    "bro": ("bro", {"eps": 0.02}, 1),
    # kicks of 0.3 diameters: the transition lies near phi = 0.41, and the
    # activity settles within about 10^4 steps even next to it
    "bro-eps0.3": ("bro", {"eps": 0.3}, 1),
}
BASE_SEED = 20240611


def parse_args(argv):
    parser = data_parser(__doc__, "build/critical-runs/<size>")
    parser.add_argument("--size", choices=sorted(GRIDS), default="small",
                        help="which grid to run (default: small)")
    parser.add_argument("--dynamics", nargs="+", choices=list(DYNAMICS),
                        default=None,
                        help="which dynamics to run (default: those of the "
                             "grid; all but sgd-bf0.2-lr0.1 for small and "
                             "full)")
    return parse_args_checked(parser, argv)


def mean_curves(table, cache):
    """Seed-averaged f_a(t) at every grid point, on its own record times.

    Returns the points and, for each, the record times and the curve; an
    absorbed run counts as 0 from its absorption on.
    """
    points, times, curves = [], [], []
    for (label, n, phi), group in table.groupby(["label", "n", "phi"], sort=True):
        first = group.iloc[0]
        grid = np.arange(0, first["max_steps"] + 1, first["record_every"])
        stack = np.zeros((len(group), grid.size))
        for row, key in enumerate(group["key"]):
            run = sweep.load_run(cache, key)
            t, f = run["times"], run["active_fraction"]
            stack[row, np.isin(grid, t)] = f[np.isin(t, grid)]
        points.append((label, int(n), float(phi), len(group)))
        times.append(grid)
        curves.append(stack.mean(axis=0))
    return points, times, curves


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    grid = GRIDS[args.size]
    default = grid.get("dynamics",
                       [k for k in DYNAMICS if k != "sgd-bf0.2-lr0.1"])
    partial = args.dynamics is not None and args.dynamics != default
    if args.dynamics is None:
        args.dynamics = default
    cache = args.cache or ROOT / "build" / "critical-runs" / args.size
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    executor = executor_for(args.workers)
    tables = []
    try:
        for label in args.dynamics:
            dynamics, params, factor = DYNAMICS[label]
            phis = grid["phi"]
            if isinstance(phis, dict):
                phis = phis[label]
            table = sweep.run_sweep(
                dynamics, phis, grid["n"], params=params,
                n_seeds=grid["n_seeds"], steps=factor * grid["steps"],
                record_every=factor * grid["record_every"], base_seed=BASE_SEED,
                results_dir=cache, executor=executor,
                progress=not args.no_progress)
            table.insert(0, "label", label)
            tables.append(table)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    table = pd.concat(tables, ignore_index=True)
    elapsed = time.perf_counter() - started
    cpu_seconds = float(table["elapsed"].sum())

    meta = base_meta(command_line("make_critical_data.py", argv), **{
        "description": "3D absorbing-transition runs near phi_c, N = "
                       + ", ".join(str(n) for n in grid["n"])
                       + f", {grid['n_seeds']} seed(s) per point: "
                       + ", ".join(f"{k} ({DYNAMICS[k][0]} {DYNAMICS[k][1]})"
                                   for k in args.dynamics),
        "size": args.size,
        # wall time of this call (small when runs came from the cache) and
        # the summed time of all runs when they were computed
        "wall_seconds_this_call": round(elapsed, 1),
        "run_seconds_summed": round(cpu_seconds, 1),
        "runs": int(len(table)),
        "runs_loaded_from_cache": int(table["cached"].sum()),
        "workers": args.workers,
        "base_seed": BASE_SEED,
        "grid": grid,
        "dynamics": {k: {"dynamics": DYNAMICS[k][0], **DYNAMICS[k][1],
                         "steps": DYNAMICS[k][2] * grid["steps"],
                         "record_every": DYNAMICS[k][2] * grid["record_every"]}
                     for k in args.dynamics},
        "steady_rule": "last half of the run; steady if the means of its two "
                       "quarters agree within 2 combined block errors",
        "tau_reach": "absorption step if absorbed, else first time the "
                     "5-record moving average is within 10 % of f_a steady",
        "tau_area": "absorption step if absorbed, else the area of "
                    "f_a(t) - f_a steady before the steady window over f_a "
                    "steady",
    })

    # a partial regeneration must not overwrite the complete files
    stem = f"critical_{args.size}"
    if partial:
        stem += "_" + "_".join(args.dynamics)
    runs_path = args.out / f"{stem}_runs.csv"
    columns = [c for c in table.columns if c not in ("cached",)]
    write_csv(runs_path, table[columns], meta)

    points, times, curves = mean_curves(table, cache)
    curves_path = args.out / f"{stem}_curves.npz"
    # curves of different dynamics have different record times: store them
    # padded with NaN to a common length, with their own time axes
    width = max(t.size for t in times)
    padded_t = np.full((len(times), width), -1, dtype=np.int64)
    padded_f = np.full((len(times), width), np.nan, dtype=np.float32)
    for k, (t, f) in enumerate(zip(times, curves)):
        padded_t[k, :t.size], padded_f[k, :t.size] = t, f
    write_npz(curves_path, meta, times=padded_t, f_a=padded_f,
              label=np.array([p[0] for p in points]),
              n=np.array([p[1] for p in points]),
              phi=np.array([p[2] for p in points]),
              n_runs=np.array([p[3] for p in points]))

    # a short report for whoever ran the script
    print(f"{len(table)} runs in {elapsed:.0f} s "
          f"({meta['runs_loaded_from_cache']} from cache)")
    for label in args.dynamics:
        part = table[table["label"] == label]
        for n, sub in part.groupby("n"):
            try:
                half = analysis.phi_c_half_absorbed(
                    sub["phi"], sub["absorption_time"], sub["max_steps"].iloc[0])
                text = f"phi_half = {half.phi_c:.4f} +- {half.phi_c_err:.4f}"
            except ValueError as exc:
                text = f"no half-absorbed estimate ({exc})"
            print(f"  {label:10s} N={n:5d}: {text}")
    for path in (runs_path, curves_path):
        print(f"wrote {shown(path)}")


if __name__ == "__main__":
    main()
