"""The baselines of ``benchmarks/sweep_baseline.py``.

The README compares the engine's speed with them, so they must take the
steps of ``run_bro``: the numba sweep and the skin list up to the order in
which contacts are added, the C++ sweep with one thread exactly as the
numba sweep.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import packing_lite as pl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
import sweep_baseline as sb  # noqa: E402

EPS = 0.02


def _start(n, phi, seed, mixture=False):
    radius = np.where(np.arange(n) % 2 == 0, 0.5, 0.7) if mixture else 0.5
    packing = pl.random_packing(n, phi, dim=3, seed=seed, radius=radius)
    return packing, np.array(packing.positions), np.array(packing.radii, dtype=float)


def _gap(a, b, box):
    gap = np.abs(a - b)
    return np.minimum(gap, box - gap).max()


@pytest.fixture(scope="module")
def cpp():
    if sb.cpp_baseline() is None:
        pytest.skip("no C++ compiler builds the C++ baseline here")


@pytest.mark.parametrize("mixture", [False, True])
def test_one_sweep_step_is_a_run_bro_step(mixture):
    packing, positions, radii = _start(600, 0.6, 3, mixture)
    f_a = sb.run_sweep_bro(positions, radii, packing.box, EPS, 1, 7)
    result = pl.run_bro(packing, EPS, 1, seed=7)
    # contacts are added in another order: a few roundings of O(1) numbers
    assert _gap(positions, result.packing.positions, packing.box) < 1e-13
    assert f_a[0] == result.active_fraction[0]


@pytest.mark.parametrize("mixture", [False, True])
def test_one_skin_list_step_is_a_run_bro_step(mixture):
    packing, positions, radii = _start(600, 0.6, 3, mixture)
    f_a, builds = sb.run_skin_bro(positions, radii, packing.box, EPS, 1, 7)
    result = pl.run_bro(packing, EPS, 1, seed=7)
    assert _gap(positions, result.packing.positions, packing.box) < 1e-13
    assert f_a[0] == result.active_fraction[0] and builds == 1


@pytest.mark.parametrize("mixture", [False, True])
@pytest.mark.parametrize("skin", [0.0, 0.15, sb.SKIN])
def test_skin_list_keeps_every_contact_between_builds(mixture, skin):
    """Over 60 steps the skin list must find the contacts the cells find
    every step: the same active fractions, positions apart by rounding
    alone (contacts added in another order, amplified by the dynamics;
    1e-13 here, against about 1e-2 once a contact is missed)."""
    packing, start, radii = _start(600, 0.6, 3, mixture)
    mine, theirs = start.copy(), start.copy()
    f_skin, builds = sb.run_skin_bro(mine, radii, packing.box, EPS, 60, 11, skin)
    f_cells = sb.run_sweep_bro(theirs, radii, packing.box, EPS, 60, 11)
    assert np.array_equal(f_skin, f_cells)
    assert _gap(mine, theirs, packing.box) < 1e-9
    # without a skin the list is built before every step (every step moves
    # spheres); 18-20 builds with 0.15 here, 8-10 with 0.3
    assert builds == 60 if skin == 0.0 else 1 < builds < 30


def test_skin_list_stops_where_the_sweep_stops():
    packing, start, radii = _start(300, 0.3, 2)
    mine, theirs = start.copy(), start.copy()
    f_skin = sb.run_skin_bro(mine, radii, packing.box, EPS, 500, 4)[0]
    f_cells = sb.run_sweep_bro(theirs, radii, packing.box, EPS, 500, 4)
    assert f_cells[-1] == 0.0 and len(f_cells) < 500
    assert np.array_equal(f_skin, f_cells)


@pytest.mark.parametrize("skin", [-0.1, 1.01, float("nan"), "0.3", None, True])
def test_skin_list_refuses_a_bad_skin(skin):
    packing, positions, radii = _start(100, 0.2, 1)
    with pytest.raises(ValueError, match=r"skin must be a real number in \[0, 1.0\]"):
        sb.run_skin_bro(positions, radii, packing.box, EPS, 5, 2, skin)


@pytest.mark.parametrize("run", [sb.run_sweep_bro, sb.run_skin_bro])
def test_a_box_a_whole_number_of_contacts_wide_misses_no_contact(run):
    """Four cells of exactly one contact distance: rounding put the left
    sphere of a pair closer than contact in cell 1 and the right one in
    cell 3, which a sweep of neighbouring cells never compares."""
    contact, box = 1.7681626037067473, 7.072650414826989  # box = 4 contacts
    positions = np.zeros((14, 3))
    positions[0] = (3.536325207413494, 1.0, 1.0)
    positions[1] = (5.304487811120241, 1.0, 1.0)
    positions[2:, 0] = np.linspace(0.2, 6.8, 12)
    positions[2:, 1:] = 4.5
    radii = np.full(14, 0.01)
    radii[:2] = contact / 2
    expected = pl.run_bro(pl.Packing(positions, box=box, radius=radii), EPS, 1,
                          seed=2).active_fraction[0]
    assert expected == 2 / 14
    extra = () if run is sb.run_sweep_bro else (0.0,)
    f_a = run(positions.copy(), radii, box, EPS, 1, 2, *extra)
    assert (f_a[0] if run is sb.run_sweep_bro else f_a[0][0]) == expected


def test_time_sweep_refuses_an_unknown_baseline_or_setting():
    for language in ("skin-list", "skin", "c++", None):
        with pytest.raises(ValueError, match="language must be one of"):
            sb.time_sweep(300, 0.6, 5, language=language)
    with pytest.raises(ValueError, match="steps"):
        sb.time_sweep(300, 0.6, 0, language="skin list")
    for threads in (2, True, 1.0, np.array([1, 2])):
        with pytest.raises(ValueError, match=r"threads must be an integer in \[1, 1\]"):
            sb.time_sweep(300, 0.6, 5, language="numba", threads=threads)
    with pytest.raises(ValueError, match="language must be one of"):
        sb.time_sweep(300, 0.6, 5, language=np.array(["numba", "C++"]))


def test_the_scripts_skin_list_check_sees_a_missed_contact(monkeypatch):
    """check_skin_list must fail a list that is rebuilt too late."""
    assert sb.check_skin_list(n=600)[1:] == (True, sb.check_skin_list(n=600)[2])
    late = sb._run_skin_bro
    monkeypatch.setattr(sb, "_run_skin_bro", lambda positions, radii, box, eps,
                        steps, seed, side, reach: late(positions, radii, box, eps,
                                                       steps, seed, side,
                                                       4.0 * reach if reach else 0.0))
    gap, same, _ = sb.check_skin_list(n=600)
    assert gap > 1e-9 or not same


@pytest.mark.parametrize("mixture", [False, True])
def test_cpp_sweep_takes_the_numba_sweeps_steps(cpp, mixture):
    packing, start, radii = _start(800, 0.62, 5, mixture)
    mine, theirs = start.copy(), start.copy()
    f_cpp = sb.run_sweep_bro_cpp(mine, radii, packing.box, EPS, 40, 11, threads=1)
    f_numba = sb.run_sweep_bro(theirs, radii, packing.box, EPS, 40, 11)
    assert np.array_equal(mine, theirs)
    assert np.array_equal(f_cpp, f_numba)


def test_cpp_sweep_with_two_threads_adds_the_same_contacts(cpp):
    packing, start, radii = _start(800, 0.62, 5)
    mine, theirs = start.copy(), start.copy()
    try:
        sb.run_sweep_bro_cpp(mine, radii, packing.box, EPS, 3, 11, threads=2)
    except RuntimeError as error:  # OpenMP gives one thread here
        pytest.skip(str(error))
    sb.run_sweep_bro(theirs, radii, packing.box, EPS, 3, 11)
    # the threads' sums are added in another order: roundings only
    assert _gap(mine, theirs, packing.box) < 1e-12


def test_fewer_openmp_threads_than_asked_is_an_error(cpp):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(sb.__file__)!r})
        import numpy as np
        import packing_lite as pl
        import sweep_baseline as sb
        packing = pl.random_packing(300, 0.6, seed=1)
        positions = np.array(packing.positions)
        try:
            sb.run_sweep_bro_cpp(positions, packing.radii, packing.box, 0.02, 3, 2, 2)
        except RuntimeError as error:
            print(error, np.array_equal(positions, packing.positions))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                          timeout=600)
    assert "ran 1 thread(s), not 2" in done.stdout and "True" in done.stdout


def test_a_kick_that_rounds_onto_the_box_edge_wraps_to_zero(cpp):
    """x = -1e-17 wraps to 6.0 by x - box floor(x / box); run_bro's wrap
    gives 0.0, and so must both sweeps."""
    packing = pl.Packing([[0.0, 3.0, 3.0], [0.9, 3.0, 3.0]], box=6.0, radius=0.5)
    expected = pl.run_bro(packing, 1e-17, 1, seed=2).packing.positions
    for run in (sb.run_sweep_bro, sb.run_sweep_bro_cpp):
        positions = np.array(packing.positions)
        run(positions, packing.radii, packing.box, 1e-17, 1, 2)
        assert np.array_equal(positions, expected) and positions[0, 0] == 0.0


def test_an_absorbing_run_stops_at_the_same_step(cpp):
    packing, start, radii = _start(300, 0.3, 2)
    mine, theirs = start.copy(), start.copy()
    f_cpp = sb.run_sweep_bro_cpp(mine, radii, packing.box, EPS, 500, 4)
    f_numba = sb.run_sweep_bro(theirs, radii, packing.box, EPS, 500, 4)
    assert f_numba[-1] == 0.0 and len(f_numba) < 500
    assert np.array_equal(f_cpp, f_numba) and np.array_equal(mine, theirs)


BAD = {
    "flat positions": (lambda x, r, b: (x.reshape(-1), r, b, EPS, 5, 2), "shape"),
    "float32 positions": (lambda x, r, b: (x.astype(np.float32), r, b, EPS, 5, 2),
                          "float64"),
    "Fortran-order positions": (lambda x, r, b: (np.asfortranarray(x), r, b, EPS, 5,
                                                 2), "C-contiguous"),
    "NaN position": (lambda x, r, b: (np.where(x == x.max(), np.nan, x), r, b, EPS, 5,
                                      2), "finite"),
    "zero radius": (lambda x, r, b: (x, np.where(r == r[0], 0.0, r), b, EPS, 5, 2),
                    "radii"),
    "NaN radius": (lambda x, r, b: (x, np.where(r == r[0], np.nan, r), b, EPS, 5, 2),
                   "radii"),
    "infinite box": (lambda x, r, b: (x, r, float("inf"), EPS, 5, 2), "box"),
    "box not a number": (lambda x, r, b: (x, r, None, EPS, 5, 2), "box"),
    "negative seed": (lambda x, r, b: (x, r, b, EPS, 5, -1), "seed"),
    "steps True": (lambda x, r, b: (x, r, b, EPS, True, 2), "steps"),
    "outside the box": (lambda x, r, b: (x - b / 2, r, b, EPS, 5, 2), r"\[0, box\)"),
    "radii too short": (lambda x, r, b: (x, r[:10], b, EPS, 5, 2), "radii"),
    "eps above box": (lambda x, r, b: (x, r, b, 2 * b, 5, 2), "eps"),
    "eps nan": (lambda x, r, b: (x, r, b, float("nan"), 5, 2), "eps"),
    "seed above 2^63": (lambda x, r, b: (x, r, b, EPS, 5, 2**64 + 5), "seed"),
    "steps not an integer": (lambda x, r, b: (x, r, b, EPS, 5.0, 2), "steps"),
    "box too narrow": (lambda x, r, b: (x / b, r, 1.0, EPS, 5, 2), "three contact"),
    "radii as words": (lambda x, r, b: (x, ["a"] * len(r), b, EPS, 5, 2), "radii"),
    "radii a dict": (lambda x, r, b: (x, {}, b, EPS, 5, 2), "radii"),
    "radii objects": (lambda x, r, b: (x, np.array([object()] * len(r)), b, EPS, 5,
                                       2), "radii"),
    "complex radii": (lambda x, r, b: (x, r + 0j, b, EPS, 5, 2), "real"),
    "radii as numeric strings": (lambda x, r, b: (x, ["0.5"] * len(r), b, EPS, 5, 2),
                                 "radii"),
    "boolean radii": (lambda x, r, b: (x, np.ones(len(r), dtype=bool), b, EPS, 5, 2),
                      "radii"),
    "scaled beyond 1e150": (lambda x, r, b: (x * 1e155, r * 1e155, b * 1e155,
                                             EPS * 1e155, 5, 2), "1e\\+150"),
    "scaled below 1e-150": (lambda x, r, b: (x * 1e-300, r * 1e-300, b * 1e-300,
                                             0.0, 5, 2), "1e-150"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_arguments_are_refused_with_their_name(case):
    make, words = BAD[case]
    packing, positions, radii = _start(100, 0.2, 1)
    arguments = make(positions.copy(), radii, packing.box)
    with pytest.raises(ValueError, match=words):
        sb.run_sweep_bro(*arguments)
    with pytest.raises(ValueError, match=words):
        sb.run_skin_bro(*make(positions.copy(), radii, packing.box))


def test_read_only_positions_and_bad_thread_counts_are_refused():
    packing, positions, radii = _start(100, 0.2, 1)
    frozen = positions.copy()
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        sb.run_sweep_bro_cpp(frozen, radii, packing.box, EPS, 5, 2)
    for threads in (0, -1, 65, 2.0, True):
        with pytest.raises(ValueError, match="threads"):
            sb.run_sweep_bro_cpp(positions, radii, packing.box, EPS, 5, 2, threads)
