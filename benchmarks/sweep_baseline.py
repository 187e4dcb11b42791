"""The baseline the engine's speed is compared with on the same machine.

Particle-wise BRO done the way the fastest published implementation does
it: cell lists rebuilt from scratch every step and one half-shell sweep
over all spheres (each pair of neighbouring cells visited once, each
overlapping pair's unit vector added to both spheres), then every active
sphere moved. It draws the same kicks as ``packing_lite.run_bro`` (the same
hashed random numbers), so one step from the same packing gives the same
positions up to the order in which contacts are added (about 1e-15), and
a run has the same statistics. It is written for speed but without the
engine's neighbour rows or active set, twice: in numba (one thread) and
in C++ with OpenMP (``sweep_baseline.cpp``, compiled here with ``-O3
-march=native -ffp-contract=off`` when a C++ compiler is found). With one
thread the two add the contacts in the same order and take bit-identical
steps; with two, the C++ sweep adds each thread's sums at the end, so its
runs part from the numba sweep's by rounding first and then, as chaotic
runs do, by more.

A third baseline, the skin list (:func:`run_skin_bro`, numba, one thread),
is the plainest way to avoid rebuilding cells every step: a half list of
the pairs within a contact distance plus a skin, built from the same cells
and rebuilt once some sphere has moved half the skin, swept every step
over all spheres. It also takes run_bro's steps up to the order of the
contacts. Neither it nor the sweeps keep an active set or add contacts in
the reference order, which is what makes the engine's results independent
of numbering and threads. All three skip two spheres at exactly the same
centre, which run_bro pushes apart in a random direction (random starts
never hold such a pair).

Run from the repository root::

    python benchmarks/sweep_baseline.py     # check against run_bro, time them
"""

import argparse
import ctypes
import numbers
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from numba import njit

import packing_lite as pl
from packing_lite import _rng
from packing_lite.packing import wrap

# the 13 cells ahead of a cell in a 3D half-shell sweep (and the cell itself)
_AHEAD = np.array([(dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                   for dz in (-1, 0, 1) if (dx, dy, dz) > (0, 0, 0)],
                  dtype=np.int64)


@njit(cache=True)
def _sort_into_cells(positions, side, inv_width, start, order, cell_of):
    """Counting sort of the spheres by cell: cell c holds
    ``order[start[c]:start[c + 1]]``."""
    n = positions.shape[0]
    start[:] = 0
    for i in range(n):
        c = 0
        for k in range(3):
            c = c * side + min(int(positions[i, k] * inv_width), side - 1)
        cell_of[i] = c
        start[c + 1] += 1
    for c in range(side**3):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    for i in range(n):
        c = cell_of[i]
        order[fill[c]] = i
        fill[c] += 1


@njit(cache=True, inline="always")
def _add_pair(positions, radii, box, inv_box, i, j, x0, x1, x2, vec, active):
    """If spheres i (at x0, x1, x2) and j overlap, add their unit vector to
    i's sum and take it from j's, and mark both active."""
    d0 = x0 - positions[j, 0]
    d0 -= box * np.rint(d0 * inv_box)
    d1 = x1 - positions[j, 1]
    d1 -= box * np.rint(d1 * inv_box)
    d2 = x2 - positions[j, 2]
    d2 -= box * np.rint(d2 * inv_box)
    r2 = d0 * d0 + d1 * d1 + d2 * d2
    contact = radii[i] + radii[j]
    if r2 < contact * contact and r2 > 0.0:
        r = np.sqrt(r2)
        u0, u1, u2 = d0 / r, d1 / r, d2 / r
        vec[i, 0] += u0
        vec[i, 1] += u1
        vec[i, 2] += u2
        vec[j, 0] -= u0
        vec[j, 1] -= u1
        vec[j, 2] -= u2
        active[i] = 1
        active[j] = 1


@njit(cache=True, inline="always")
def _cells_ahead(cx, cy, cz, side, ahead, near):
    """Fill ``near`` with the flat indices of the cells ahead of cell
    (cx, cy, cz), wrapped around the box (once per cell, not per sphere)."""
    for o in range(ahead.shape[0]):
        near[o] = ((((cx + ahead[o, 0]) % side) * side + (cy + ahead[o, 1]) % side)
                   * side + (cz + ahead[o, 2]) % side)


@njit(cache=True)
def _sweep(positions, radii, box, side, start, order, ahead, vec, active):
    """Sum of unit vectors away from overlapping partners, each pair once:
    sphere i meets the spheres after it in its own cell and all spheres in
    the 13 cells ahead."""
    inv_box = 1.0 / box
    near = np.empty(ahead.shape[0], dtype=np.int64)
    vec[:] = 0.0
    active[:] = 0
    for cx in range(side):
        for cy in range(side):
            for cz in range(side):
                c = (cx * side + cy) * side + cz
                _cells_ahead(cx, cy, cz, side, ahead, near)
                for a in range(start[c], start[c + 1]):
                    i = order[a]
                    x0 = positions[i, 0]
                    x1 = positions[i, 1]
                    x2 = positions[i, 2]
                    for o in range(ahead.shape[0] + 1):
                        if o == 0:
                            first, stop = a + 1, start[c + 1]
                        else:
                            first, stop = start[near[o - 1]], start[near[o - 1] + 1]
                        for q in range(first, stop):
                            _add_pair(positions, radii, box, inv_box, i, order[q],
                                      x0, x1, x2, vec, active)


@njit(cache=True)
def _run_sweep_bro(positions, radii, box, eps, steps, seed, side):
    n = positions.shape[0]
    inv_width = side / box
    start = np.empty(side**3 + 1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    cell_of = np.empty(n, dtype=np.int64)
    vec = np.empty((n, 3))
    active = np.empty(n, dtype=np.uint8)
    f_a = np.empty(steps)
    for t in range(steps):
        _sort_into_cells(positions, side, inv_width, start, order, cell_of)
        _sweep(positions, radii, box, side, start, order, _AHEAD, vec, active)
        moving = 0
        for i in range(n):
            if active[i]:
                moving += 1
                f = eps * _rng.uniform(seed, t, i, 0, _rng.STREAM_FACTOR)
                for k in range(3):
                    x = positions[i, k] + f * vec[i, k]
                    positions[i, k] = wrap(x, box)
        f_a[t] = moving / n
        if moving == 0:
            return f_a[:t + 1]
    return f_a


@njit(cache=True)
def _build_skin_list(positions, radii, box, side, reach, start, order, cell_of,
                     ahead, first, partners):
    """Half list of the pairs closer than R_i + R_j + ``reach``, each pair
    once, from the same cells and half-shell walk as :func:`_sweep`: sphere
    ``order[a]`` owns ``partners[first[a]:first[a + 1]]``. Returns the
    number of entries, or -1 if ``partners`` is too short."""
    n = positions.shape[0]
    _sort_into_cells(positions, side, side / box, start, order, cell_of)
    inv_box = 1.0 / box
    near = np.empty(ahead.shape[0], dtype=np.int64)
    m = 0
    for cx in range(side):
        for cy in range(side):
            for cz in range(side):
                c = (cx * side + cy) * side + cz
                _cells_ahead(cx, cy, cz, side, ahead, near)
                for a in range(start[c], start[c + 1]):
                    i = order[a]
                    first[a] = m
                    for o in range(ahead.shape[0] + 1):
                        if o == 0:
                            lo, hi = a + 1, start[c + 1]
                        else:
                            lo, hi = start[near[o - 1]], start[near[o - 1] + 1]
                        for q in range(lo, hi):
                            j = order[q]
                            r2 = 0.0
                            for k in range(3):
                                d = positions[i, k] - positions[j, k]
                                d -= box * np.rint(d * inv_box)
                                r2 += d * d
                            limit = radii[i] + radii[j] + reach
                            if r2 < limit * limit:
                                if m == partners.shape[0]:
                                    return -1
                                partners[m] = j
                                m += 1
    first[n] = m
    return m


@njit(cache=True)
def _sweep_skin_list(positions, radii, box, order, first, partners, vec, active):
    """:func:`_sweep` over the listed pairs instead of the cells."""
    inv_box = 1.0 / box
    vec[:] = 0.0
    active[:] = 0
    for a in range(positions.shape[0]):
        i = order[a]
        x0 = positions[i, 0]
        x1 = positions[i, 1]
        x2 = positions[i, 2]
        for q in range(first[a], first[a + 1]):
            _add_pair(positions, radii, box, inv_box, i, partners[q], x0, x1, x2,
                      vec, active)


@njit(cache=True)
def _run_skin_bro(positions, radii, box, eps, steps, seed, side, reach):
    """BRO with a skin list: the list is rebuilt once some sphere has moved
    more than reach / 2 since the last build, so every overlapping pair
    stays listed (two spheres that each moved less than reach / 2 came
    closer by less than reach). Returns the active fractions and the
    number of builds."""
    n = positions.shape[0]
    start = np.empty(side**3 + 1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    cell_of = np.empty(n, dtype=np.int64)
    first = np.empty(n + 1, dtype=np.int64)
    partners = np.empty(16 * n, dtype=np.int32)
    built_at = positions.copy()
    vec = np.empty((n, 3))
    active = np.empty(n, dtype=np.uint8)
    f_a = np.empty(steps)
    limit2 = 0.25 * reach * reach
    inv_box = 1.0 / box
    builds = 0
    stale = True
    for t in range(steps):
        if stale:
            while _build_skin_list(positions, radii, box, side, reach, start, order,
                                   cell_of, _AHEAD, first, partners) < 0:
                partners = np.empty(2 * partners.shape[0], dtype=np.int32)
            built_at[:] = positions
            builds += 1
            stale = False
        _sweep_skin_list(positions, radii, box, order, first, partners, vec, active)
        moving = 0
        for i in range(n):
            if active[i]:
                moving += 1
                f = eps * _rng.uniform(seed, t, i, 0, _rng.STREAM_FACTOR)
                moved2 = 0.0
                for k in range(3):
                    x = wrap(positions[i, k] + f * vec[i, k], box)
                    positions[i, k] = x
                    d = x - built_at[i, k]
                    d -= box * np.rint(d * inv_box)
                    moved2 += d * d
                stale |= moved2 > limit2
        f_a[t] = moving / n
        if moving == 0:
            return f_a[:t + 1], builds
    return f_a, builds


_MAX_STEPS = 10**7  # the active fractions take 8 bytes a step
_SMALLEST, _LARGEST = 1e-150, 1e150
_LANGUAGES = ("numba", "C++", "skin list")
_MAX_THREADS = 64


def _integer(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            low <= value <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got "
                         f"{value!r}")
    return int(value)


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _checked(positions, radii, box, eps, steps, seed):
    """The arguments of a sweep, checked; returns them converted, with the
    cells per side (at least one contact distance wide, at most about 2 n
    cells)."""
    if not (isinstance(positions, np.ndarray) and positions.dtype == np.float64
            and positions.ndim == 2 and positions.shape[1] == 3
            and positions.flags.c_contiguous and positions.flags.writeable):
        raise ValueError("positions must be a writeable C-contiguous float64 "
                         "array of shape (n, 3) (it is moved in place)")
    n = positions.shape[0]
    if n < 1:
        raise ValueError("positions must hold at least one sphere")
    box = _real("box", box)
    if not (np.isfinite(box) and box > 0.0):
        raise ValueError(f"box must be finite and > 0, got {box}")
    if not (np.all(np.isfinite(positions)) and positions.min() >= 0.0
            and positions.max() < box):
        raise ValueError("positions must be finite and in [0, box)")
    try:  # numbers only: no strings, booleans, objects or complex values
        radii = np.asarray(radii)
    except (TypeError, ValueError):  # ragged sequences
        radii = np.empty(0, dtype=object)
    if radii.dtype.kind in "fiu":
        radii = np.ascontiguousarray(radii, dtype=np.float64)
    if (radii.dtype != np.float64 or radii.shape != (n,)
            or not np.all(np.isfinite(radii)) or radii.min() <= 0.0):
        raise ValueError(f"radii must be {n} finite real numbers > 0")
    if not 6.0 * radii.max() <= box:
        raise ValueError("box must be at least three contact distances wide "
                         f"(6 x the largest radius = {6.0 * radii.max()}), got {box}")
    # squared distances must neither overflow nor lose the smallest contact
    if not (_SMALLEST <= radii.min() and box <= _LARGEST):
        raise ValueError(f"radii and box must lie in [{_SMALLEST}, {_LARGEST}] "
                         "(squared distances are taken), got radii down to "
                         f"{radii.min()} and box {box}")
    eps = _real("eps", eps)
    if not 0.0 <= eps <= box:  # larger kicks leave the box by many widths
        raise ValueError(f"eps must be in [0, box = {box}], got {eps}")
    steps = _integer("steps", steps, 0, _MAX_STEPS)
    seed = _integer("seed", seed, 0, 2**63 - 1)
    return radii, box, eps, steps, seed, _cells(box, 2.0 * radii.max(), n)


def _cells(box, width, n):
    """Cells per side: at least 3, else at most about 2 n cells in all, each
    wider than ``width``, strictly: where box / width is a whole number, a
    sphere's cell index, rounded, could put two spheres closer than
    ``width`` two cells apart. With 3 a side every cell neighbours every
    other, whatever their width."""
    side = min(int(box / (width * (1.0 + 1e-9))), int(np.cbrt(2.0 * n)) + 1)
    return max(3, side)


def run_sweep_bro(positions, radii, box, eps, steps, seed):
    """BRO for ``steps`` steps (or until absorbed), moving ``positions``
    in place; returns the active fraction at the start of each step
    taken."""
    return _run_sweep_bro(positions, *_checked(positions, radii, box, eps, steps,
                                               seed))


# Default skin of the skin list, in contact distances (not tuned: 0.2 and
# 0.3 ran alike and 0.1 far slower, see benchmarks/NOTES.md), and the largest
# allowed: the list grows with the cube of the listing distance.
SKIN = 0.3
_MAX_SKIN = 1.0


def run_skin_bro(positions, radii, box, eps, steps, seed, skin=SKIN):
    """:func:`run_sweep_bro` with a skin list (pairs closer than their
    contact distance plus ``skin`` times the largest one, rebuilt when
    needed) in place of cells rebuilt every step; returns the active
    fractions and the number of list builds. The skin is cut down where
    the box is too small for cells that wide."""
    radii, box, eps, steps, seed, _ = _checked(positions, radii, box, eps, steps,
                                               seed)
    if (isinstance(skin, bool) or not isinstance(skin, numbers.Real)
            or not 0.0 <= skin <= _MAX_SKIN):
        raise ValueError(f"skin must be a real number in [0, {_MAX_SKIN}] contact "
                         f"distances, got {skin!r}")
    skin = float(skin)
    largest = 2.0 * radii.max()
    reach = min(skin * largest, box / 3.0 - largest)
    return _run_skin_bro(positions, radii, box, eps, steps, seed,
                         _cells(box, largest + reach, radii.shape[0]),
                         max(0.0, reach))


_CPP_FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fopenmp", "-shared",
              "-fPIC")
_BUILD_SECONDS = 300
_cpp = {}
_cpp_lock = threading.Lock()


def _build(compiler, folder):
    """Compile the C++ sweep into ``folder``; returns the loaded function
    or raises OSError with the compiler's words."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "sweep_baseline.cpp")
    library = os.path.join(folder, "sweep_baseline.so")
    # flags given in CXX come after ours, so they can override them
    command = [compiler[0], *_CPP_FLAGS, *compiler[1:], source, "-o", library]
    # in a session of its own, so that a compiler that hangs goes with all
    # the processes it started
    compiling = subprocess.Popen(command, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True,
                                 errors="replace", start_new_session=True)
    try:
        said, _ = compiling.communicate(timeout=_BUILD_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(compiling.pid, signal.SIGKILL)
        compiling.communicate()
        raise OSError(f"no result after {_BUILD_SECONDS} s") from None
    if compiling.returncode != 0:
        raise OSError(f"exit code {compiling.returncode}\n{said}")
    try:
        return ctypes.CDLL(library).sweep_bro
    except AttributeError:
        raise OSError("the library it built has no sweep_bro") from None


def cpp_baseline():
    """The C++ sweep as a ctypes function, compiled on first use (with the
    compiler and flags named by ``CXX``, else g++ or c++); None, with the
    reason printed, if it cannot be built."""
    with _cpp_lock:
        if "sweep" not in _cpp:
            _cpp["sweep"] = _load_cpp()
        return _cpp["sweep"]


def _load_cpp():
    try:
        compiler = shlex.split(os.environ.get("CXX", ""))
    except ValueError as error:
        print(f"CXX cannot be read ({error}): C++ baseline skipped", file=sys.stderr)
        return None
    compiler = compiler or [
        found for found in (shutil.which("g++"), shutil.which("c++")) if found][:1]
    if not compiler:
        print("no C++ compiler found (set CXX): C++ baseline skipped",
              file=sys.stderr)
        return None
    folder = tempfile.mkdtemp(prefix="sweep_baseline_")
    try:
        sweep = _build(compiler, folder)
    except OSError as error:
        print(f"{' '.join(compiler)} could not build the C++ baseline: C++ "
              f"baseline skipped\n{error}", file=sys.stderr)
        return None
    finally:  # a loaded library needs no file
        shutil.rmtree(folder, ignore_errors=True)
    pointer = ctypes.POINTER(ctypes.c_double)
    sweep.argtypes = [pointer, pointer, ctypes.c_int64, ctypes.c_double,
                      ctypes.c_double, ctypes.c_int64, ctypes.c_uint64,
                      ctypes.c_int64, ctypes.c_int64, pointer,
                      ctypes.POINTER(ctypes.c_int64)]
    sweep.restype = ctypes.c_int64
    return sweep


def run_sweep_bro_cpp(positions, radii, box, eps, steps, seed, threads=1):
    """:func:`run_sweep_bro` in C++ with ``threads`` OpenMP threads (1 to
    64). Raises RuntimeError if OpenMP runs another number of threads."""
    radii, box, eps, steps, seed, side = _checked(positions, radii, box, eps,
                                                  steps, seed)
    threads = _integer("threads", threads, 1, _MAX_THREADS)
    sweep = cpp_baseline()
    if sweep is None:
        raise RuntimeError("the C++ baseline could not be built")
    f_a = np.empty(steps)
    used = ctypes.c_int64(0)
    pointer = ctypes.POINTER(ctypes.c_double)
    taken = sweep(positions.ctypes.data_as(pointer), radii.ctypes.data_as(pointer),
                  positions.shape[0], box, eps, steps, seed, threads, side,
                  f_a.ctypes.data_as(pointer), ctypes.byref(used))
    if taken == -1:
        raise MemoryError("the C++ baseline ran out of memory")
    if taken == -2:
        raise RuntimeError(f"the C++ baseline ran {used.value} thread(s), not "
                           f"{threads} (built without OpenMP, or limited by "
                           "OMP_THREAD_LIMIT)")
    return f_a[:taken]


def time_sweep(n, phi, steps, eps=0.02, seed=2, packing_seed=1, language="numba",
               threads=1):
    """Wall seconds per particle-step of a baseline (``language``: "numba"
    or "C++" for the half-shell sweep, "skin list"; only the C++ sweep takes
    more than one thread) and its mean f_a."""
    if not (isinstance(language, str) and language in _LANGUAGES):
        raise ValueError(f"language must be one of {', '.join(_LANGUAGES)}, got "
                         f"{language!r}")
    steps = _integer("steps", steps, 1, _MAX_STEPS)
    _integer("threads", threads, 1, _MAX_THREADS if language == "C++" else 1)
    packing = pl.random_packing(n, phi, dim=3, seed=packing_seed)
    positions = np.array(packing.positions)
    radii = np.asarray(packing.radii, dtype=float)
    started = time.perf_counter()
    if language == "numba":
        f_a = run_sweep_bro(positions, radii, packing.box, eps, steps, seed)
    elif language == "skin list":
        f_a = run_skin_bro(positions, radii, packing.box, eps, steps, seed)[0]
    else:
        f_a = run_sweep_bro_cpp(positions, radii, packing.box, eps, steps, seed,
                                threads)
    elapsed = time.perf_counter() - started
    return elapsed / (n * len(f_a)), float(np.mean(f_a))


def _largest_gap(a, b, box):
    """Largest coordinate difference of two sets of positions, periodic."""
    gap = np.abs(a - b)
    return float(np.minimum(gap, box - gap).max())


def check_cpp(n=2000, phi=0.6, eps=0.02, seed=2, steps=300):
    """Largest coordinate difference between the C++ and the numba sweep
    after ``steps`` steps with one thread (zero if they agree) and with two
    (None if OpenMP gives no second thread). With two it is rounding that
    chaotic runs amplify, not a bound."""
    packing = pl.random_packing(n, phi, dim=3, seed=1)
    radii = np.asarray(packing.radii, dtype=float)
    numba_run = np.array(packing.positions)
    run_sweep_bro(numba_run, radii, packing.box, eps, steps, seed)
    gaps = []
    for threads in (1, 2):
        mine = np.array(packing.positions)
        try:
            run_sweep_bro_cpp(mine, radii, packing.box, eps, steps, seed, threads)
        except RuntimeError as error:
            print(f"{error}: two-thread C++ runs skipped", file=sys.stderr)
            gaps.append(None)
            continue
        gaps.append(_largest_gap(mine, numba_run, packing.box))
    return gaps


def check_against_run_bro(n=2000, phi=0.6, eps=0.02, seed=2):
    """Largest coordinate difference after one step, and after 300 steps
    the mean f_a of both (they part ways, as chaotic runs do, but keep the
    same statistics)."""
    packing = pl.random_packing(n, phi, dim=3, seed=1)
    radii = np.asarray(packing.radii, dtype=float)
    mine = np.array(packing.positions)
    run_sweep_bro(mine, radii, packing.box, eps, 1, seed)
    theirs = pl.run_bro(packing, eps, 1, seed=seed).packing.positions
    gap = _largest_gap(mine, theirs, packing.box)
    mine = np.array(packing.positions)
    f_a = run_sweep_bro(mine, radii, packing.box, eps, 300, seed)
    result = pl.run_bro(packing, eps, 300, seed=seed)
    during = result.times < result.steps
    return gap, float(np.mean(f_a)), float(np.mean(result.active_fraction[during]))


def check_skin_list(n=2000, phi=0.6, eps=0.02, seed=2, steps=60):
    """Largest coordinate difference between the skin list and the numba
    sweep after ``steps`` steps, whether their active fractions were equal
    at every step, and the number of list builds. A contact the list
    misses shows as a difference of order eps and different fractions;
    rounding alone stays far below 1e-9 over 60 steps."""
    packing = pl.random_packing(n, phi, dim=3, seed=1)
    radii = np.asarray(packing.radii, dtype=float)
    mine, theirs = np.array(packing.positions), np.array(packing.positions)
    f_skin, builds = run_skin_bro(mine, radii, packing.box, eps, steps, seed)
    f_cells = run_sweep_bro(theirs, radii, packing.box, eps, steps, seed)
    return (_largest_gap(mine, theirs, packing.box),
            bool(np.array_equal(f_skin, f_cells)), builds)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check that the baselines take the engine's steps, then "
        "time them (BRO, N = 2000 and 20 000, phi = 0.6, 300 steps, one "
        "thread; about half a minute).")
    parser.parse_args(argv)
    gap, mine, engine = check_against_run_bro()
    print(f"one step from the same packing: largest difference {gap:.1e} (contacts "
          f"added in another order); mean f_a over 300 steps: baseline {mine:.3f}, "
          f"run_bro {engine:.3f}")
    if gap > 1e-9:
        sys.exit("the baseline does not take the same steps as run_bro")
    time_sweep(2000, 0.6, 5)  # compile
    languages = ["numba"]
    if cpp_baseline() is not None:
        one, two = check_cpp()
        two = "not run" if two is None else f"{two:.1e}"
        print(f"C++ against numba after 300 steps: largest difference {one:.1e} "
              f"with one thread, {two} with two (rounding, amplified by the "
              "dynamics)")
        if one == 0.0:
            languages.append("C++")
        else:
            print("the C++ sweep does not take the numba sweep's steps with one "
                  "thread (compiler flags in CXX?): C++ timings skipped",
                  file=sys.stderr)
    gap, same, builds = check_skin_list()
    print(f"skin list against the numba sweep after 60 steps ({builds} list "
          f"builds): largest difference {gap:.1e}, active fractions "
          f"{'equal' if same else 'DIFFERENT'} at every step")
    if gap > 1e-9 or not same:
        sys.exit("the skin list misses contacts the cells find")
    languages.append("skin list")
    time_sweep(2000, 0.6, 5, language="skin list")  # compile
    for n in (2000, 20000):
        for language in languages:
            cost, f_a = time_sweep(n, 0.6, 300, language=language)
            print(f"{language}, N = {n}, phi = 0.60, 300 steps, one thread: "
                  f"{cost * 1e9:.0f} ns per particle-step (mean f_a {f_a:.2f})")


if __name__ == "__main__":
    main()
