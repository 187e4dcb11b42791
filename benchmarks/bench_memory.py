"""Peak memory against N in 3D, and the largest N that fits in 2 GiB.

Run from the repository root::

    python benchmarks/bench_memory.py            # N up to 4 million, ~15 min
    python benchmarks/bench_memory.py --quick    # N up to 500 000, ~6 min

Both end with one run at the largest N that fits in 2 GiB (about 10
million spheres, 1.9 GiB of memory).

Each size runs in a fresh process: build a random packing at phi = 0.64,
run 20 steps of BRO (eps = 0.02) and 20 of SGD (b_f = 0.75), and report the
process's peak resident memory (``ru_maxrss``). The growth between sizes
gives the bytes per particle; the intercept is what Python, NumPy and the
compiled kernels take before any particle exists. The largest N in 2 GiB is
the one that keeps intercept + N * slope under 2 GiB, and the last line
reruns the script's workload at that N and checks that its resident
peak stays under 2 GiB.
"""

import argparse
import json
import subprocess
import sys
import textwrap

import numpy as np

CHILD = textwrap.dedent("""
    import json, resource, sys, numba
    numba.set_num_threads(1)
    import packing_lite as pl
    n = int(sys.argv[1])
    p = pl.random_packing(n, 0.64, seed=1)
    pl.run_bro(p, 0.02, 20, seed=2)
    pl.run_sgd(p, 0.02, 20, batch_fraction=0.75, seed=2)
    print(json.dumps({"n": n, "peak": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")

GIB = 2**30


def peak_bytes(n):
    out = subprocess.run([sys.executable, "-c", CHILD, str(n)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [2_000, 100_000, 500_000] if args.quick else \
        [2_000, 200_000, 1_000_000, 2_000_000, 4_000_000]

    peaks = [peak_bytes(n) for n in sizes]
    print("| N | peak resident memory (MiB) | bytes per particle above the smallest run |")
    print("|---:|---:|---:|")
    for n, peak in zip(sizes, peaks):
        # the smallest run is the base the others are measured from
        per = f"{(peak - peaks[0]) / (n - sizes[0]):,.0f}" if n > sizes[0] else "—"
        print(f"| {n:,} | {peak / 2**20:,.0f} | {per} |")
    slope, intercept = np.polyfit(sizes, peaks, 1)
    n_max = int((2 * GIB - intercept) / slope)
    print(f"\nlinear fit: {intercept / 2**20:,.0f} MiB + {slope:,.0f} bytes x N")
    print(f"largest N in 2 GiB (3D, phi = 0.64): about {n_max:,}")
    check = int(0.95 * n_max)
    peak = peak_bytes(check)
    print(f"check: N = {check:,} peaks at {peak / 2**20:,.0f} MiB "
          f"({'within' if peak < 2 * GIB else 'OVER'} 2 GiB)")


if __name__ == "__main__":
    main()
