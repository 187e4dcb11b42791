"""The active-set engine against the reference engine: same seed, same bits.

The reference engine rebuilds its cell lists and scans every sphere at
every step; the fast one keeps neighbour rows and rescans only what can
have changed. Both must give bit-identical positions and records, for
every dynamics, in 2D and 3D, in boxes of every size, and whatever the
thread count.
"""

import numba
import numpy as np
import pytest

import packing_lite as pl
from packing_lite import _engine, dynamics
from packing_lite.neighbors import CellGrid

DYNAMICS = {
    "bro": lambda p: dynamics._bro_rule(p, 0.02, "particle")[0],
    "bro-reciprocal": lambda p: dynamics._bro_rule(p, 0.03, "reciprocal")[0],
    "bro-nonreciprocal": lambda p: dynamics._bro_rule(p, 0.03, "nonreciprocal")[0],
    "sgd-fraction": lambda p: dynamics._sgd_rule(p, 0.03, 0.75, None, "particle")[0],
    "gd": lambda p: dynamics._sgd_rule(p, 0.02, 1.0, None, "particle")[0],
    "sgd-size": lambda p: dynamics._sgd_rule(p, 0.03, None, 7, "particle")[0],
    "sgd-pair": lambda p: dynamics._sgd_rule(p, 0.03, 0.5, None, "pair")[0],
    "sde-bro": lambda p: dynamics._sde_rule(p, 0.03, None, None)[0],
    "sde-sgd": lambda p: dynamics._sde_rule(p, None, 0.03, 0.75)[0],
}


def _mixture(n):
    return np.where(np.arange(n) % 2 == 0, 0.5, 0.7)


SYSTEMS = {
    # stays active for the whole run
    "3d-dense": lambda: pl.random_packing(300, 0.62, dim=3, seed=11),
    # absorbs within the run
    "3d-dilute": lambda: pl.random_packing(200, 0.3, dim=3, seed=12),
    # radii far from 1/2: the skin must scale with them
    "3d-small-spheres": lambda: pl.random_packing(300, 0.62, dim=3, seed=20,
                                                  radius=0.05),
    "2d-mixture": lambda: pl.random_packing(300, 0.8, dim=2, seed=13,
                                            radius=_mixture(300)),
    # box under three contact distances: two reference cells a side
    "3d-small-box": lambda: pl.random_packing(20, 0.5, dim=3, seed=14),
    # about the narrowest box allowed, twice the contact distance (8
    # spheres give 2.03; 6 would give a box the minimum image cannot serve)
    "3d-tiny-box": lambda: pl.random_packing(8, 0.5, dim=3, seed=15),
    "2d-tiny-box": lambda: pl.random_packing(5, 0.6, dim=2, seed=16,
                                             radius=_mixture(5)),
    # the dimensions the book's last chapter visits
    "1d": lambda: pl.random_packing(200, 0.7, dim=1, seed=17),
    "4d": lambda: pl.random_packing(400, 0.45, dim=4, seed=18),
    "5d": lambda: pl.random_packing(400, 0.3, dim=5, seed=19),
}


def _run(packing, rule, engine, steps=120, seed=5, record_every=1, progress=False,
         first_step=0):
    return dynamics._run(packing, rule, steps, seed, record_every, progress,
                         {"dynamics": "test"}, engine=engine, first_step=first_step)


def _bits(array):
    array = np.ascontiguousarray(array)
    return array.view(np.uint8)


def assert_identical(fast, reference):
    """Positions and records equal bit for bit (signs of zero included)."""
    assert fast.steps == reference.steps
    assert fast.absorbed == reference.absorbed
    assert np.array_equal(fast.times, reference.times)
    assert np.array_equal(_bits(fast.active_fraction), _bits(reference.active_fraction))
    assert np.array_equal(_bits(fast.loss), _bits(reference.loss))
    assert np.array_equal(_bits(fast.packing.positions),
                          _bits(reference.packing.positions))


@pytest.mark.parametrize("system", sorted(SYSTEMS))
@pytest.mark.parametrize("name", sorted(DYNAMICS))
def test_fast_engine_matches_reference(system, name):
    packing = SYSTEMS[system]()
    rule = DYNAMICS[name](packing)
    reference = _run(packing, rule, "reference")
    fast = _run(packing, rule, "fast")
    assert_identical(fast, reference)


def test_runs_that_absorb_and_that_stay_active_are_both_covered():
    dilute = _run(SYSTEMS["3d-dilute"](), DYNAMICS["bro"](SYSTEMS["3d-dilute"]()),
                  "fast")
    dense = _run(SYSTEMS["3d-dense"](), DYNAMICS["bro"](SYSTEMS["3d-dense"]()), "fast")
    assert dilute.absorbed and dilute.steps < 120
    assert not dense.absorbed and dense.final_active_fraction > 0.5


@pytest.mark.parametrize("name", ["bro", "sgd-size", "bro-reciprocal"])
def test_chunked_run_and_sparse_records_match(name):
    """A progress bar splits a run into chunks; the state carries over."""
    packing = pl.random_packing(400, 0.6, dim=3, seed=21)
    rule = DYNAMICS[name](packing)
    reference = _run(packing, rule, "reference", steps=450, record_every=7)
    fast = _run(packing, rule, "fast", steps=450, record_every=7, progress=True)
    assert_identical(fast, reference)


def test_runs_that_start_at_a_later_step_match():
    packing = pl.random_packing(300, 0.6, dim=3, seed=22)
    rule = DYNAMICS["sgd-fraction"](packing)
    reference = _run(packing, rule, "reference", first_step=37)
    fast = _run(packing, rule, "fast", first_step=37)
    assert_identical(fast, reference)


@pytest.mark.parametrize("name", ["bro", "sgd-fraction", "sgd-pair"])
def test_one_and_two_threads_give_identical_runs(name):
    # large enough for the parallel loops (2048 items and more) to run
    packing = pl.random_packing(3000, 0.62, dim=3, seed=31)
    rule = DYNAMICS[name](packing)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run(packing, rule, "fast", steps=40)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _run(packing, rule, "fast", steps=40)
    finally:
        numba.set_num_threads(before)
    assert_identical(two, one)
    reference = _run(packing, rule, "reference", steps=40)
    assert_identical(one, reference)


# ------------------------------------------------------------ invariants


def _engine_after(packing, rule, steps, skin=None):
    """Drive the fast engine by hand and return it with its positions."""
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    engine = _engine.FastEngine(packing.n, packing.dim, packing.box,
                                packing.max_contact, skin=skin)
    positions = np.array(packing.positions)
    records = [np.empty(steps + 3, dtype=np.int64), np.empty(steps + 3),
               np.empty(steps + 3)]
    engine.advance(positions, packing.radii, packing.box, grid.per_side,
                   grid.offsets, None, None, None, 9, rule.factor_kind, rule.scale,
                   rule.spread, rule.batch_size, rule.weight_kind,
                   rule.weight_param, 0, steps, 1, *records, 0)
    return engine, grid, positions


@pytest.mark.parametrize("system", ["3d-dense", "2d-mixture", "3d-small-box"])
def test_rows_hold_every_overlap_symmetric_and_in_reference_order(system):
    packing = SYSTEMS[system]()
    engine, grid, positions = _engine_after(packing, DYNAMICS["bro"](packing), 80)
    now = packing.with_positions(positions)
    mask = (1 << engine.geo[5]) - 1
    listed = set()
    for i in range(packing.n):
        row = engine.rows[i, : engine.row_len[i]].astype(np.int64)
        assert np.all(np.diff(row) > 0)  # sorted, no repeats
        for entry in row:
            j = int(entry & mask)
            listed.add((i, j))
            key = _engine._pair_key(engine.ref_code[i], engine.ref_code[j],
                                    packing.dim, engine.geo[3], grid.per_side,
                                    engine.geo[4])
            assert entry >> engine.geo[5] == key
        expected = np.array([_engine._ref_code(positions, i, packing.box,
                                               grid.per_side, engine.geo[3])])
        assert engine.ref_code[i] == expected[0]
    assert all((j, i) in listed for i, j in listed)
    for i, j in pl.brute_force_pairs(now):
        assert (i, j) in listed


def test_rows_grow_past_their_initial_capacity(monkeypatch):
    """Regression: rows start small and must grow, both when built and
    when a partner is inserted later."""
    monkeypatch.setattr(_engine, "_INITIAL_ROW_CAPACITY", 2)
    packing = pl.random_packing(300, 0.62, dim=3, seed=41)
    rule = DYNAMICS["bro"](packing)
    engine, _, _ = _engine_after(packing, rule, 60)
    assert engine.rows.shape[1] >= engine.row_len.max()
    assert_identical(_run(packing, rule, "fast"), _run(packing, rule, "reference"))


@pytest.mark.parametrize("system", ["3d-dense", "2d-mixture"])
def test_a_row_built_into_exactly_its_length_is_complete(system):
    """Regression: a row that fills its capacity exactly keeps its last
    entry (candidates after it must not be written over it)."""
    packing = SYSTEMS[system]()
    engine, _, positions = _engine_after(packing, DYNAMICS["bro"](packing), 0)
    wide, wide_len = engine.rows.copy(), engine.row_len.copy()
    for i in range(0, packing.n, 7):
        length = int(wide_len[i])
        rows = np.full((packing.n, length), -1, dtype=wide.dtype)
        row_len = wide_len.copy()
        items = np.array([i], dtype=np.int32)
        rows = _engine._build_rows(items, 1, positions, packing.radii, engine.geo,
                                   engine.offsets, engine.head, engine.nxt,
                                   engine.ref_code, rows, row_len)
        assert rows.shape[1] >= length
        assert row_len[i] == length
        assert list(rows[i, :length]) == list(wide[i, :length])


def test_the_listing_grid_scales_with_the_spheres():
    """Regression: a skin fixed in absolute units made the grid of small
    spheres a single cell (every pair listed, N^2 time and memory)."""
    sides = []
    for radius in (0.5, 1e-3, 1e3):
        packing = pl.random_packing(6000, 0.64, seed=1, radius=radius)
        engine = _engine.FastEngine(packing.n, 3, packing.box, packing.max_contact)
        sides.append(engine.side)
    assert sides[0] >= 10
    assert sides[1] == sides[0] and sides[2] == sides[0]


def test_row_insert_grows_a_full_row():
    rows = np.array([[3, 5], [1, 2]], dtype=np.int32)
    row_len = np.array([2, 2], dtype=np.int32)
    rows = _engine._row_insert(0, 4, rows, row_len)
    assert rows.shape[1] > 2
    assert list(rows[0, : row_len[0]]) == [3, 4, 5]
    assert list(rows[1, : row_len[1]]) == [1, 2]


@pytest.mark.parametrize("skin", [0.01, 0.2])
def test_results_do_not_depend_on_the_skin(skin, monkeypatch):
    monkeypatch.setattr(_engine, "DEFAULT_SKIN", skin)
    packing = SYSTEMS["3d-dense"]()
    rule = DYNAMICS["sgd-fraction"](packing)
    fast = dynamics._run(packing, rule, 100, 3, 1, False, {"dynamics": "t"},
                         engine="fast")
    assert_identical(fast, _run(packing, rule, "reference", steps=100, seed=3))


def test_engine_memory_is_linear_in_n():
    packing = pl.random_packing(2000, 0.6, dim=3, seed=51)
    engine, _, _ = _engine_after(packing, DYNAMICS["bro"](packing), 20)
    total = sum(v.nbytes for v in vars(engine).values() if isinstance(v, np.ndarray))
    assert total / packing.n < 200


def test_a_run_hands_back_its_own_read_only_positions():
    """The result keeps the run's working array instead of copying it:
    it must be read-only and share no memory with the input."""
    packing = pl.random_packing(200, 0.6, dim=3, seed=61)
    before = packing.positions.copy()
    result = pl.run_bro(packing, 0.02, 5, seed=1)
    out = result.packing.positions
    assert not out.flags.writeable
    assert not np.shares_memory(out, packing.positions)
    assert np.array_equal(packing.positions, before)
    assert np.all((out >= 0) & (out < packing.box))
    assert result.packing.radius == packing.radius
