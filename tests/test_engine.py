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
from packing_lite import _engine, _pairs, dynamics
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


def _eligible(packing):
    return _pairs.eligible(packing.n, packing.dim, packing.box, packing.max_contact)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
@pytest.mark.parametrize("name", sorted(DYNAMICS))
def test_fast_engines_match_reference(system, name):
    """Both engines, wherever they run: the pair lists in 3D boxes at least
    three listing cells wide, the neighbour rows everywhere."""
    packing = SYSTEMS[system]()
    rule = DYNAMICS[name](packing)
    reference = _run(packing, rule, "reference")
    assert_identical(_run(packing, rule, "rows"), reference)
    if _eligible(packing):
        assert_identical(_run(packing, rule, "pairs"), reference)


def test_the_pair_lists_run_the_3d_systems_and_leave_the_others():
    pairs = {name for name, make in SYSTEMS.items() if _eligible(make())}
    assert pairs == {"3d-dense", "3d-dilute", "3d-small-spheres"}


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


@pytest.mark.parametrize("name", ["bro", "sgd-size"])
def test_rows_re_ranked_in_parts_give_identical_runs(name, monkeypatch):
    """Rows are re-ranked part by part of the numbering when enough spheres
    change reference cell (here about a hundred a step); any number of
    parts, run on one thread or several, gives the reference's run."""
    packing = pl.random_packing(8000, 0.62, dim=3, seed=31)
    rule = DYNAMICS[name](packing)
    reference = _run(packing, rule, "reference", steps=40)
    for parts in (2, 3, 5):
        monkeypatch.setattr(_engine.FastEngine, "parts", parts)
        assert_identical(_run(packing, rule, "rows", steps=40), reference)


@pytest.mark.parametrize("engine", ["rows", "pairs"])
@pytest.mark.parametrize("name", ["bro", "sgd-fraction", "sgd-pair"])
def test_one_and_two_threads_give_identical_runs(name, engine):
    # large enough for the parallel loops (2048 and 4096 items and more) to
    # run; at phi = 0.5 the pair lists' scans pass from the sweep of every
    # sphere to the candidates, in parallel, as spheres fall inactive
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba is limited to one thread (NUMBA_NUM_THREADS)")
    packing = pl.random_packing(12000, 0.5, dim=3, seed=31)
    rule = DYNAMICS[name](packing)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run(packing, rule, engine, steps=40)
        numba.set_num_threads(2)
        two = _run(packing, rule, engine, steps=40)
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
    _advance_in_chunks(engine, positions, packing, rule, [steps], False)
    return engine, grid, positions


@pytest.mark.parametrize("system", ["3d-dense", "2d-mixture", "3d-small-box"])
def test_rows_hold_every_overlap_symmetric_and_in_reference_order(system):
    packing = SYSTEMS[system]()
    engine, grid, positions = _engine_after(packing, DYNAMICS["bro"](packing), 80)
    now = packing.with_positions(positions)
    mask = (1 << engine.geo[5]) - 1
    listed = set()
    for i in range(packing.n):
        row = engine.row(i).astype(np.int64)
        assert np.all(np.diff(row) > 0)  # sorted, no repeats
        for entry in row:
            j = int(entry & mask)
            listed.add((i, j))
            key = _engine._pair_key(engine.ref_code[engine.number(i)],
                                    engine.ref_code[engine.number(j)],
                                    packing.dim, engine.geo[3], grid.per_side,
                                    engine.geo[4])
            assert entry >> engine.geo[5] == key
        expected = np.array([_engine._ref_code(positions, i, packing.box,
                                               grid.per_side, engine.geo[3])])
        assert engine.ref_code[engine.number(i)] == expected[0]
    assert all((j, i) in listed for i, j in listed)
    for i, j in pl.brute_force_pairs(now):
        assert (i, j) in listed


@pytest.mark.parametrize("system", ["3d-small-spheres", "2d-mixture"])
def test_rows_that_move_compact_and_grow_keep_the_run_exact(system, monkeypatch):
    """With one free entry per row, blocks of 16 spheres, a small free end
    and no headroom, rows move at nearly every insertion and blocks are
    compacted and grow: the run must still match the reference, and every
    row must lie in its own room inside its block's segment."""
    monkeypatch.setattr(_engine, "_SLACK", 1)
    monkeypatch.setattr(_engine, "_BLOCK_SHIFT", 4)
    monkeypatch.setattr(_engine, "_POOL_MARGIN", 0.05)
    monkeypatch.setattr(_engine, "_HEADROOM", 0.0)
    monkeypatch.setattr(_engine, "_REFRESH_BATCH", 3)  # rebuilds in batches
    packing = SYSTEMS[system]()
    rule = DYNAMICS["bro"](packing)
    engine, _, _ = _engine_after(packing, rule, 60)
    segment, moves, compactions, growths = engine.pool_state
    assert moves > 0 and compactions > 0 and growths > 0
    start = engine.row_at.astype(np.int64)
    end = start + engine.row_cap
    order = np.argsort(start)
    assert np.all(engine.row_len <= engine.row_cap)
    assert np.all(end[order][:-1] <= start[order][1:])  # rooms do not overlap
    block = np.arange(packing.n) >> 4
    assert np.all(start // segment == block)
    assert np.all(end <= engine.block_top[block])
    assert np.all(engine.block_top <= engine.block_end)
    assert np.all(engine.block_end <= (np.arange(block[-1] + 1) + 1) * segment)
    assert engine.pool.shape[0] == (block[-1] + 1) * segment
    assert_identical(_run(packing, rule, "rows"), _run(packing, rule, "reference"))


def _engine_rows(engine, n):
    return [list(engine.row(i)) for i in range(n)]


def _engine_pool_row(engine, k):
    """Row k in the engine's own numbering, as stored."""
    start = int(engine.row_at[k])
    return engine.pool[start: start + int(engine.row_len[k])]


@pytest.mark.parametrize("system", ["3d-dense", "2d-mixture"])
def test_a_row_built_into_exactly_its_length_is_complete(system):
    """Regression: a row that fills its room exactly keeps its last entry
    (candidates after it must not be written over it), and a row one
    entry too long is moved and built again."""
    packing = SYSTEMS[system]()
    engine, _, positions = _engine_after(packing, DYNAMICS["bro"](packing), 0)
    full = [list(_engine_pool_row(engine, k)) for k in range(packing.n)]
    positions = positions[engine.label]  # in the engine's numbering
    radii = packing.radii[engine.label]
    for i in range(0, packing.n, 7):
        length = len(full[i])
        for room in (length, length - 1):
            # one block, room for row i alone at the start of its segment
            pool = np.full(length + 4, -1, dtype=engine.pool.dtype)
            at = np.zeros(packing.n, dtype=engine.row_at.dtype)
            cap = np.zeros(packing.n, dtype=np.int32)
            cap[i] = room
            row_len = engine.row_len.copy()
            state = np.array([length + 4, 0, 0, 0], dtype=np.int64)
            top = np.array([room], dtype=np.int64)
            end = np.array([length + 4], dtype=np.int64)
            items = np.array([i], dtype=np.int32)
            pool = _engine._build_rows(
                items, 1, positions, radii, engine.geo, engine.offsets,
                engine.head, engine.nxt, engine.ref_code, engine.label, pool, at,
                cap, row_len,
                state, top, end, (2, 0.0, 0.0, 30))
            assert row_len[i] == length <= cap[i]
            assert list(pool[at[i]: at[i] + length]) == full[i]
            # moved rows get the slack (2) beyond their length
            assert cap[i] == (room if room == length else length + 2)


@pytest.mark.parametrize("system", ["3d-dense", "2d-mixture", "4d"])
def test_the_engine_numbers_spheres_cell_by_cell_and_hands_positions_back(system):
    packing = SYSTEMS[system]()
    rule = DYNAMICS["bro"](packing)
    engine, _, positions = _engine_after(packing, rule, 30)
    label = engine.label
    assert np.array_equal(np.sort(label), np.arange(packing.n))
    assert not np.array_equal(label, np.arange(packing.n))  # a real reordering
    # the order was taken from the start's positions: cells non-decreasing,
    # labels ascending within a cell
    cells = np.minimum((packing.positions * engine.inv_width).astype(np.int64),
                       engine.side - 1)
    flat = np.ravel_multi_index(cells.T, (engine.side,) * packing.dim)
    expected = np.lexsort((np.arange(packing.n), flat))
    assert np.array_equal(label, expected)
    # the caller's positions come back in the caller's order
    reference = _run(packing, rule, "reference", steps=30, seed=9)
    assert np.array_equal(_bits(positions), _bits(reference.packing.positions))
    # radii are copied in the engine's numbering only when they differ
    if np.all(packing.radii == packing.radii[0]):
        assert engine.radii is packing.radii
    else:
        assert np.array_equal(engine.radii, packing.radii[label])


def _advance_in_chunks(engine, positions, packing, rule, stops, keep, t=0):
    """Steps up to each of ``stops`` in turn, one call each, dropping the
    record a chunk repeats as ``dynamics._run`` does; returns the records."""
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    records = [np.empty(stops[-1] + 3, dtype=np.int64), np.empty(stops[-1] + 3),
               np.empty(stops[-1] + 3)]
    n = 0
    for stop in stops:
        t, n, _, _ = engine.advance(
            positions, packing.radii, packing.box, grid.per_side, grid.offsets,
            None, None, None, 9, rule.factor_kind, rule.scale, rule.spread,
            rule.batch_size, rule.weight_kind, rule.weight_param, t, stop, 1,
            *records, n, keep_numbering=keep)
        if stop != stops[-1] and records[0][n - 1] == t:
            n -= 1
    return [r[:n] for r in records]


@pytest.mark.parametrize("engine", ["rows", "pairs"])
def test_positions_kept_in_the_engine_numbering_between_calls_come_back(engine):
    """``keep_numbering`` leaves the positions renumbered from one call to
    the next: the run must equal one whose positions go back after every
    call, and restore, another array or a fresh start must hand them back
    in the caller's numbering."""
    packing = SYSTEMS["3d-dense"]()
    rule = DYNAMICS["sgd-fraction"](packing)
    stops = [7, 8, 30, 61]

    def new_engine():
        if engine == "pairs":
            return _pairs.PairEngine(packing.n, packing.box, packing.max_contact)
        return _engine.FastEngine(packing.n, packing.dim, packing.box,
                                  packing.max_contact)

    plain, kept = new_engine(), new_engine()
    p_plain, p_kept = np.array(packing.positions), np.array(packing.positions)
    r_plain = _advance_in_chunks(plain, p_plain, packing, rule, stops, False)
    r_kept = _advance_in_chunks(kept, p_kept, packing, rule, stops, True)
    for a, b in zip(r_plain, r_kept):
        assert np.array_equal(_bits(a), _bits(b))
    # in between, the kept positions are the plain ones in the engine's order
    assert np.array_equal(kept.label, plain.label)
    assert np.array_equal(_bits(p_kept), _bits(p_plain[kept.label]))
    kept.restore()
    assert np.array_equal(_bits(p_kept), _bits(p_plain))
    kept.restore()  # a second restore does nothing
    assert np.array_equal(_bits(p_kept), _bits(p_plain))

    # another array: the held one goes back first, the run goes on the same
    _advance_in_chunks(kept, p_kept, packing, rule, [70], True, t=61)
    _advance_in_chunks(plain, p_plain, packing, rule, [70], False, t=61)
    at_70, other = np.array(p_plain), np.array(p_plain)
    _advance_in_chunks(plain, p_plain, packing, rule, [75], False, t=70)
    _advance_in_chunks(kept, other, packing, rule, [75], True, t=70)
    assert np.array_equal(_bits(p_kept), _bits(at_70))  # the first put back
    kept.restore()
    assert np.array_equal(_bits(other), _bits(p_plain))

    # a fresh start (step 0 again) on a held array starts from its positions
    _advance_in_chunks(kept, other, packing, rule, [80], True, t=75)
    _advance_in_chunks(plain, p_plain, packing, rule, [80], False, t=75)
    _advance_in_chunks(kept, other, packing, rule, [5], True, t=0)
    _advance_in_chunks(plain, p_plain, packing, rule, [5], False, t=0)
    kept.restore()
    assert np.array_equal(_bits(other), _bits(p_plain))


def test_renumbering_in_place_matches_fancy_indexing():
    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 300):
        for _ in range(20):
            label = rng.permutation(n).astype(np.int32)
            values = rng.random((n, 3))
            done = np.empty(n, dtype=np.uint8)
            forward = values.copy()
            _engine._renumber(forward, label, done, True)
            assert np.array_equal(forward, values[label])
            backward = forward.copy()
            _engine._renumber(backward, label, done, False)
            assert np.array_equal(backward, values)


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


def test_row_insert_moves_a_full_row_then_compacts_and_grows_its_block():
    # two blocks of two rows (shift 1), segments of 8 entries; rows 0 and 1
    # are full, with a hole of two entries between them
    pool = np.array([3, 5, -1, -1, 1, 2, -1, -1, 7, 9, 8, -1, -1, -1, -1, -1],
                    dtype=np.int32)
    at = np.array([0, 4, 8, 10], dtype=np.int32)
    cap = np.array([2, 2, 2, 1], dtype=np.int32)
    row_len = np.array([2, 2, 2, 1], dtype=np.int32)
    state = np.array([8, 0, 0, 0], dtype=np.int64)
    top = np.array([6, 11], dtype=np.int64)
    end = np.array([8, 16], dtype=np.int64)
    policy = (1, 0.0, 0.0, 1)
    label = np.arange(10, dtype=np.int32)  # entries sort as the labels
    pool = _engine._row_insert(0, 4, label, 30, pool, at, cap, row_len, state, top, end,
                               policy)
    # row 0 needs 3 + 1 entries: the block's free end has 2, so the block is
    # laid out again in index order (row 0 first, with room 4; row 1 keeps 2
    # + 1) within its segment
    assert list(state) == [8, 0, 1, 0]
    assert list(at[:2]) == [0, 4] and list(cap[:2]) == [4, 3] and top[0] == 7
    assert list(pool[0:3]) == [3, 4, 5] and list(pool[4:6]) == [1, 2]
    pool = _engine._row_insert(1, 6, label, 30, pool, at, cap, row_len, state, top, end,
                               policy)
    assert list(pool[4:7]) == [1, 2, 6] and state[1] == 0  # fits its room
    pool = _engine._row_insert(1, 0, label, 30, pool, at, cap, row_len, state, top, end,
                               policy)
    # 4 + 5 entries (and one spare) no longer fit a segment of 8: every
    # segment grows to 10 and the other block keeps its rows, shifted with
    # its segment
    assert state[0] == 10 and state[3] == 1 and pool.shape[0] == 20
    assert list(at[:2]) == [0, 4] and list(cap[:2]) == [4, 5]
    assert list(pool[at[0]: at[0] + 3]) == [3, 4, 5]
    assert list(pool[at[1]: at[1] + 4]) == [0, 1, 2, 6]
    assert list(pool[at[2]: at[2] + 2]) == [7, 9] and at[2] == 10
    assert list(pool[at[3]: at[3] + 1]) == [8] and at[3] == 12
    assert top[1] == 13 and end[1] == 18


@pytest.mark.parametrize("skin", [0.01, 0.2])
def test_results_do_not_depend_on_the_skin(skin, monkeypatch):
    monkeypatch.setattr(_engine, "DEFAULT_SKIN", skin)
    packing = SYSTEMS["3d-dense"]()
    rule = DYNAMICS["sgd-fraction"](packing)
    fast = dynamics._run(packing, rule, 100, 3, 1, False, {"dynamics": "t"},
                         engine="rows")
    assert_identical(fast, _run(packing, rule, "reference", steps=100, seed=3))


def test_engine_memory_is_linear_in_n():
    packing = pl.random_packing(2000, 0.6, dim=3, seed=51)
    engine, _, _ = _engine_after(packing, DYNAMICS["bro"](packing), 20)
    total = sum(v.nbytes for v in vars(engine).values() if isinstance(v, np.ndarray))
    # about 78 bytes of per-sphere arrays and a row pool of about 58 bytes
    # (rows of 7-9 entries, their slack and the unwritten headroom)
    assert total / packing.n < 150


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


@pytest.mark.parametrize("scale", [1e-100, 1e-45, 1e100])
@pytest.mark.parametrize("dim", [2, 3])
def test_rows_at_any_scale_run_as_the_reference(scale, dim):
    """Regression: the rows' single-precision displacement sums, kept in
    lengths, underflowed below about 1e-38 (no row was ever rebuilt, and
    overlaps were missed) and overflowed above 3e38; they are now in units
    of the box."""
    base = pl.random_packing(200, 0.6, dim=dim, seed=1)
    packing = pl.Packing(base.positions * scale, base.box * scale,
                         radius=0.5 * scale)
    rule = dynamics._bro_rule(packing, 0.02 * scale, "particle")[0]
    assert_identical(_run(packing, rule, "rows", steps=40, seed=1),
                     _run(packing, rule, "reference", steps=40, seed=1))
