"""Regenerate the data behind the chapter "Beyond the paper".

Part 1 (``--part beta``): the steady activity of gradient descent (SGD at
batch fraction 1, lr = 0.02) just above the transition in d = 2, 3, 4 and
5, for the exponent beta of f_a ~ (phi - phi_c)**beta. 2D uses a 50:50
mixture with radius ratio 1.4 (monodisperse disks crystallise). Each
dimension is run in two passes at N = 2000: a scan of 13 volume fractions
0.5 % apart around a rough guess (one seed) locates the transition (the
half-absorbed volume fraction at the step budget), then a grid of volume
fractions at fixed relative distances above it is run with more seeds.

Part 2 (``--part structure``): absorbed packings of N = 20 000 spheres in
3D made by gradient descent just below the transition, and their
structure factor S(q), with the random initial configuration (an ideal
gas, S = 1) for comparison.

Writes, in ``data/``:

``beyond_beta_runs.csv``
    One row per run of part 1 (the table of
    :func:`packing_lite.sweep.run_sweep`, with the pass in ``stage``).
``beyond_structure.npz``
    For each packing of part 2: the shell-averaged S(q) (``q``, ``s``,
    ``s_err``, ``count``; one row per packing, padded with NaN), its
    volume fraction, seed, steps and whether it absorbed, and the same
    for the initial configurations.

Each file carries its metadata (command, time the runs took, grid) as
JSON: ``#`` lines of the CSV, or the string ``meta`` of the ``.npz``.

Usage::

    python scripts/make_beyond_data.py --part beta --workers 2    # ~20 min
    python scripts/make_beyond_data.py --part structure            # ~5 min

Part 1 caches its runs under ``build/beyond-runs`` and reuses them.
"""

import sys
import time

import numpy as np
import pandas as pd

from _datafiles import (ROOT, base_meta, command_line, data_parser,
                        executor_for, parse_args_checked, shown,
                        write_csv, write_npz)

import packing_lite as pl  # noqa: E402
from packing_lite import analysis, observables, sweep  # noqa: E402

LR = 0.02
N = 2000
# dim: (rough phi_c of GD at lr = 0.02 from short N = 1000 runs, radius
# ratio of the mixture or None, step budget, seeds of the second pass)
DIMS = {
    2: (0.830, 1.4, 8000, 3),
    3: (0.615, None, 8000, 3),
    4: (0.430, None, 8000, 3),
    5: (0.290, None, 4000, 2),
}
SCAN = [0.005 * k for k in range(-6, 7)]
ABOVE = [-0.01, 0.0, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.045]
RECORDS = 200
BASE_SEED = 20240808

STRUCTURE = dict(n=20000, phi=[0.60, 0.61], seeds=[1, 2], steps=30000,
                 k_max=9.0, k_small=3.0, max_vectors=30000, lr=LR)


def parse_args(argv):
    parser = data_parser(__doc__, "build/beyond-runs")
    parser.add_argument("--part", choices=["beta", "structure"],
                        required=True, help="which data to regenerate")
    parser.add_argument("--dims", type=int, nargs="+", default=sorted(DIMS),
                        choices=sorted(DIMS),
                        help="dimensions for --part beta (default: all)")
    return parse_args_checked(parser, argv)


def beta_part(args, argv):
    cache = args.cache or ROOT / "build" / "beyond-runs"
    progress = not args.no_progress
    started = time.perf_counter()
    executor = executor_for(args.workers)
    tables, located = [], {}
    try:
        for dim in args.dims:
            guess, ratio, steps, seeds = DIMS[dim]
            common = dict(params={"lr": LR}, dim=dim, steps=steps,
                          record_every=max(1, steps // RECORDS),
                          radius_ratio=ratio, base_seed=BASE_SEED,
                          results_dir=cache, executor=executor,
                          # one thread per run: oversubscribed threads
                          # wait on each other on a busy machine
                          threads=1, progress=progress)
            scan = sweep.run_sweep(
                "gd", [round(guess * (1 + s), 5) for s in SCAN], N,
                n_seeds=1, **common)
            scan.insert(0, "stage", "scan")
            try:
                centre = analysis.phi_c_half_absorbed(
                    scan["phi"], scan["absorption_time"], steps).phi_c
            except ValueError:
                centre = guess
            located[dim] = centre
            above = sweep.run_sweep(
                "gd", [round(centre * (1 + a), 5) for a in ABOVE], N,
                n_seeds=seeds, **common)
            above.insert(0, "stage", "above")
            tables.extend([scan, above])
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - started
    table = pd.concat(tables, ignore_index=True)
    meta = base_meta(
        command_line("make_beyond_data.py", argv),
        description="steady activity of gradient descent (lr 0.02) near "
                    "the transition in d = 2 (50:50 mixture, radius ratio "
                    "1.4), 3, 4, 5; N = 2000",
        wall_seconds_this_call=round(elapsed, 1),
        run_seconds_summed=round(float(table["elapsed"].sum()), 1),
        runs=int(len(table)), workers=args.workers, base_seed=BASE_SEED,
        lr=LR, n=N,
        dims={str(d): dict(zip(("phi_guess", "radius_ratio", "steps",
                                "seeds_above"), DIMS[d])) for d in args.dims},
        scan_relative=SCAN, above_relative=ABOVE,
        phi_half_of_scan={str(d): round(v, 5) for d, v in located.items()},
    )
    columns = [c for c in table.columns if c != "cached"]
    path = args.out / "beyond_beta_runs.csv"
    write_csv(path, table[columns], meta)
    print(f"{len(table)} runs in {elapsed:.0f} s")
    for dim, centre in located.items():
        print(f"  d={dim}: phi_half of the scan = {centre:.4f}")
    print(f"wrote {shown(path)}")


def _sq(packing):
    # every vector up to k_small (the small-q shells), a seeded thinned
    # sample beyond it up to k_max
    small = observables.structure_factor(
        packing, STRUCTURE["k_small"])
    large = observables.structure_factor(
        packing, STRUCTURE["k_max"], max_vectors=STRUCTURE["max_vectors"],
        seed=7)
    keep = large.q > small.q[-1] + 0.5 * (2 * np.pi / packing.box)
    return (np.concatenate([small.q, large.q[keep]]),
            np.concatenate([small.s, large.s[keep]]),
            np.concatenate([small.s_err, large.s_err[keep]]),
            np.concatenate([small.count, large.count[keep]]))


def structure_part(args, argv):
    import numba

    numba.set_num_threads(1)
    started = time.perf_counter()
    records = []
    for phi in STRUCTURE["phi"]:
        for seed in STRUCTURE["seeds"]:
            start = pl.random_packing(STRUCTURE["n"], phi, dim=3,
                                      seed=1000 + seed)
            t0 = time.perf_counter()
            run = pl.run_gd(start, STRUCTURE["lr"], steps=STRUCTURE["steps"],
                            seed=seed, record_every=100,
                            progress=not args.no_progress)
            run_seconds = time.perf_counter() - t0
            for kind, packing in (("initial", start), ("final", run.packing)):
                q, s, s_err, count = _sq(packing)
                records.append(dict(kind=kind, phi=phi, seed=seed,
                                    steps=run.steps if kind == "final" else 0,
                                    absorbed=bool(run.absorbed)
                                    if kind == "final" else False,
                                    f_a=run.final_active_fraction
                                    if kind == "final" else
                                    float(run.active_fraction[0]),
                                    run_seconds=run_seconds
                                    if kind == "final" else 0.0,
                                    box=packing.box,
                                    q=q, s=s, s_err=s_err, count=count))
            print(f"phi={phi} seed={seed}: {run}  ({run_seconds:.0f} s)")
    elapsed = time.perf_counter() - started
    width = max(r["q"].size for r in records)

    def padded(name, dtype=float, fill=np.nan):
        out = np.full((len(records), width), fill, dtype=dtype)
        for i, r in enumerate(records):
            out[i, :r[name].size] = r[name]
        return out

    meta = base_meta(
        command_line("make_beyond_data.py", argv),
        description="structure factor of 3D packings absorbed by gradient "
                    "descent (lr 0.02) just below the transition, N = 20000, "
                    "and of their random initial configurations",
        wall_seconds_this_call=round(elapsed, 1),
        run_seconds_summed=round(sum(r["run_seconds"] for r in records), 1),
        structure=STRUCTURE,
        sq="number structure factor on the allowed wave vectors of the box, "
           "one of each +k/-k, averaged over shells of width 2 pi / L; "
           "every vector up to k_small, a seeded sample of max_vectors up "
           "to k_max",
    )
    path = args.out / "beyond_structure.npz"
    write_npz(path, meta,
              kind=np.array([r["kind"] for r in records]),
              phi=np.array([r["phi"] for r in records]),
              seed=np.array([r["seed"] for r in records]),
              steps=np.array([r["steps"] for r in records]),
              absorbed=np.array([r["absorbed"] for r in records]),
              f_a=np.array([r["f_a"] for r in records]),
              box=np.array([r["box"] for r in records]),
              q=padded("q").astype(np.float32),
              s=padded("s").astype(np.float32),
              s_err=padded("s_err").astype(np.float32),
              count=padded("count", np.int32, -1))
    print(f"done in {elapsed:.0f} s; wrote {shown(path)}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part == "beta":
        beta_part(args, argv)
    else:
        structure_part(args, argv)


if __name__ == "__main__":
    main()
