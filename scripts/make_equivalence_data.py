"""Regenerate the data behind the equivalence chapter.

Measures the critical volume fraction of 3D BRO at several kick sizes eps
and of SGD at batch fractions 0.2, 0.75 and 1.0 at the learning rates
lr = eps / b_c with b_c = 3/4 (the mapping that matches BRO's first two
moments at b_f = 3/4), so that every dynamics is run at the same list of
"equivalent kick sizes" eps.

Estimator. phi_c(N, T) is the volume fraction at which half of the runs
absorb within T steps (:func:`packing_lite.analysis.phi_c_half_absorbed`).
T is chosen so that every run covers the same mean drift: a sphere with one
contact moves on average by eps / 2 per BRO step and by lr * b_f / 2 per
SGD step, and T = DRIFT / eps or DRIFT / (lr * b_f). Each point is located
in two passes: a coarse scan (one seed, N = 500) and a fine grid of seven
volume fractions 0.005 apart around the coarse estimate, with more seeds at
the chosen N (widened if it does not bracket the transition).

Writes, in ``data/``:

``equivalence_phi_c.csv``
    One row per (dynamics, eps): parameters, step budget, phi_c with its
    standard error, the estimator's method and the number of runs.
``equivalence_runs.csv``
    One row per run of the fine grids (volume fraction, absorbed or not,
    absorption step, final activity), for the chapter's own plots.

Both start with ``#`` lines of JSON metadata (the command, the time the
runs took, the grid); read them with ``pandas.read_csv(path, comment="#")``.

Usage::

    python scripts/make_equivalence_data.py --workers 2   # about 10 minutes

    # five times the step budget, about 40 minutes
    python scripts/make_equivalence_data.py --drift 300 --eps 0.01 0.02 0.04 \
        --tag long --workers 2

Runs are cached under ``build/equivalence-runs`` and reused on a rerun.
"""

import sys
import time

import numpy as np
import pandas as pd

from _datafiles import (ROOT, base_meta, command_line, data_parser,
                        executor_for, parse_args_checked, shown,
                        write_csv)

from packing_lite import analysis, sweep  # noqa: E402

B_C = 0.75
EPS = [0.01, 0.02, 0.04, 0.08]
DRIFT = 60.0            # eps * T for BRO, lr * b_f * T for SGD, in diameters
FAMILIES = {
    # label: (dynamics, batch fraction or None)
    "bro": ("bro", None),
    "sgd-bf0.2": ("sgd", 0.2),
    "sgd-bf0.75": ("sgd", 0.75),
    "sgd-bf1.0": ("sgd", 1.0),
}
COARSE = dict(n=500, phi=[round(0.50 + 0.01 * k, 3) for k in range(17)],
              n_seeds=1)
FINE = dict(n=1500, offsets=[-0.015, -0.01, -0.005, 0.0, 0.005, 0.01, 0.015],
            n_seeds=4)
RECORDS = 200           # records per run (record_every = T / RECORDS)
BASE_SEED = 20240707


def parse_args(argv):
    parser = data_parser(__doc__, "build/equivalence-runs")
    parser.add_argument("--drift", type=float, default=DRIFT,
                        help="step budget T eps (T lr b_f for SGD) in "
                             f"diameters (default: {DRIFT:g})")
    parser.add_argument("--eps", type=float, nargs="+", default=EPS,
                        help="equivalent kick sizes (default: "
                             f"{' '.join(map(str, EPS))})")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES),
                        default=list(FAMILIES),
                        help="which dynamics to run (default: all)")
    parser.add_argument("--tag", default="",
                        help="name the files equivalence_<tag>_phi_c.csv and "
                             "equivalence_<tag>_runs.csv (default: no tag)")
    args = parse_args_checked(parser, argv)
    if not args.drift > 0:
        parser.error("--drift must be > 0")
    if not all(0 < e <= 0.5 for e in args.eps):
        parser.error("--eps values must lie in (0, 0.5]")
    return args


def setting(label, eps, drift_total=DRIFT):
    """Dynamics, parameters, step budget and record interval of one point."""
    dynamics, bf = FAMILIES[label]
    if dynamics == "bro":
        params, drift = {"eps": eps}, eps
    else:
        lr = round(eps / B_C, 8)
        params, drift = {"lr": lr, "batch_fraction": bf}, lr * bf
    steps = int(round(drift_total / drift))
    record_every = max(1, steps // RECORDS)
    return dynamics, params, steps, record_every


def sweep_points(label, eps, phis, n, n_seeds, cache, executor, progress,
                 drift_total):
    dynamics, params, steps, record_every = setting(label, eps, drift_total)
    return sweep.run_sweep(
        dynamics, phis, n, params=params, n_seeds=n_seeds, steps=steps,
        record_every=record_every, base_seed=BASE_SEED, results_dir=cache,
        executor=executor, threads=1,  # threads beyond one per core cost
        progress=progress)


def locate(label, eps, cache, executor, progress, drift_total):
    """Coarse scan, then a bracketing fine grid; returns the fine table."""
    coarse = sweep_points(label, eps, COARSE["phi"], COARSE["n"],
                          COARSE["n_seeds"], cache, executor, progress,
                          drift_total)
    steps = int(coarse["max_steps"].iloc[0])
    try:
        centre = analysis.phi_c_half_absorbed(
            coarse["phi"], coarse["absorption_time"], steps).phi_c
    except ValueError:
        centre = 0.58
    # larger systems absorb a little more easily at fixed T
    centre = round(round(centre / 0.005) * 0.005, 4)
    offsets = list(FINE["offsets"])
    for _ in range(3):
        phis = sorted({round(centre + o, 4) for o in offsets})
        fine = sweep_points(label, eps, phis, FINE["n"], FINE["n_seeds"],
                            cache, executor, progress, drift_total)
        frac = fine.groupby("phi")["absorbed"].mean()
        low_ok = frac.iloc[0] == 1.0
        high_ok = frac.iloc[-1] == 0.0
        if low_ok and high_ok:
            break
        if not low_ok:
            offsets.insert(0, offsets[0] - 0.01)
        if not high_ok:
            offsets.append(offsets[-1] + 0.01)
    return fine


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    cache = args.cache or ROOT / "build" / "equivalence-runs"
    args.out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress

    started = time.perf_counter()
    executor = executor_for(args.workers)
    rows, runs = [], []
    try:
        for label in args.families:
            for eps in args.eps:
                fine = locate(label, eps, cache, executor, progress,
                              args.drift)
                steps = int(fine["max_steps"].iloc[0])
                half = analysis.phi_c_half_absorbed(
                    fine["phi"], fine["absorption_time"], steps)
                dynamics, params, _, _ = setting(label, eps, args.drift)
                rows.append({
                    "label": label, "dynamics": dynamics, "eps": eps,
                    "lr": params.get("lr", np.nan),
                    "batch_fraction": params.get("batch_fraction", np.nan),
                    "n": FINE["n"], "steps": steps, "phi_c": half.phi_c,
                    "phi_c_err": half.phi_c_err, "method": half.method,
                    "n_runs": len(fine),
                    "run_seconds": float(fine["elapsed"].sum()),
                })
                part = fine[["phi", "replica", "absorbed", "absorption_time",
                             "f_a_final", "elapsed"]].copy()
                part.insert(0, "eps", eps)
                part.insert(0, "label", label)
                runs.append(part)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    elapsed = time.perf_counter() - started
    summary = pd.DataFrame(rows)
    runs = pd.concat(runs, ignore_index=True)

    meta = base_meta(
        command_line("make_equivalence_data.py", argv),
        description="phi_c of 3D BRO (eps) and SGD (lr = eps / b_c, "
                    "b_c = 3/4) from the half-absorbed estimator at a step "
                    "budget of equal mean drift",
        wall_seconds_this_call=round(elapsed, 1),
        run_seconds_summed_fine=round(float(runs["elapsed"].sum()), 1),
        workers=args.workers, base_seed=BASE_SEED, b_c=B_C, eps=args.eps,
        drift_diameters=args.drift, coarse=COARSE, fine=FINE,
        estimator="phi at which half of the runs absorb within T steps "
                  "(logistic fit, or the midpoint of a clean gap)",
    )
    stem = "equivalence_" + (f"{args.tag}_" if args.tag else "")
    names = (stem + "phi_c.csv", stem + "runs.csv")
    write_csv(args.out / names[0], summary, meta)
    write_csv(args.out / names[1], runs, meta)

    print(f"{len(runs)} fine runs in {elapsed:.0f} s")
    print(summary[["label", "eps", "lr", "steps", "phi_c", "phi_c_err",
                   "method"]].to_string(index=False))
    for name in names:
        print(f"wrote {shown(args.out / name)}")


if __name__ == "__main__":
    main()
