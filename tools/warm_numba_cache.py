"""Compile every numba kernel of packing_lite once, into the on-disk cache.

Run it where the cache should be filled, with the same ``NUMBA_CACHE_DIR``,
``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` as the sessions that will use
the cache (Binder's ``postBuild`` does this; see ``binder/numba.env``). Each
public entry point is called on a tiny packing in 2D and 3D, with equal and
with mixed radii, so that the compiled signatures are the ones the chapters
use. Prints what it did and how long it took.

    python tools/warm_numba_cache.py
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import packing_lite as pl  # noqa: E402
from packing_lite import observables  # noqa: E402


def _packings():
    """Small 2D and 3D packings, monodisperse and 50:50 mixtures."""
    for dim in (2, 3):
        yield pl.random_packing(64, phi=0.5, dim=dim, seed=1)
        radii = np.where(np.arange(64) % 2 == 0, 0.5, 0.7)
        yield pl.random_packing(64, phi=0.5, dim=dim, seed=2, radius=radii)


def warm():
    """Call each compiled entry point once per kind of packing."""
    for packing in _packings():
        pl.hinge_loss(packing)
        pl.loss_gradient(packing)
        pl.active_mask(packing)
        pl.contact_numbers(packing)
        pl.overlapping_pairs(packing)
        pl.brute_force_pairs(packing)
        pl.run_gd(packing, lr=0.02, steps=3, seed=1)
        for variant in ("particle", "reciprocal", "nonreciprocal"):
            pl.run_bro(packing, eps=0.02, steps=3, seed=1, variant=variant)
        pl.run_sgd(packing, lr=0.02, steps=3, batch_fraction=0.5, seed=1)
        pl.run_sgd(packing, lr=0.02, steps=3, batch_size=8, seed=1)
        pl.run_sde(packing, steps=3, eps=0.02, seed=1)
        pl.run_sde(packing, steps=3, lr=0.02, batch_fraction=0.5, seed=1)
        pl.sample_displacements(packing, "bro", 4, particles=[0], seed=1,
                                eps=0.1)
        pl.sample_displacements(packing, "sgd", 4, particles=[0], seed=1,
                                lr=0.1, batch_fraction=0.75)
        observables.structure_factor(packing, k_max=4.0, seed=1)


def main():
    settings = {name: os.environ.get(name) for name in
                ("NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    start = time.perf_counter()
    warm()
    elapsed = time.perf_counter() - start
    print(f"numba cache warmed in {elapsed:.1f} s with {settings}")


if __name__ == "__main__":
    main()
