"""The pair-list engine: its lists, its parts and the fixed-point sums.

`test_engine.py` runs it against the reference for every dynamics; here
are its invariants and the cases those runs do not reach: lists against a
brute-force search, runs that pass from sweeping every sphere to
scanning the candidates, any number of parts, other radii and skins.
"""

import numpy as np
import pytest

import packing_lite as pl
from packing_lite import _pairs, dynamics
from packing_lite.loss import fixed_scales

from test_engine import DYNAMICS, _advance_in_chunks, _bits, _run, assert_identical


def _mixture3d(n):
    return np.where(np.arange(n) % 3 == 0, 0.35, 0.6)


def _engine_after(packing, rule, steps, skin=None):
    """Drive the pair engine by hand; returns it and its positions (in its
    own numbering)."""
    engine = _pairs.PairEngine(packing.n, packing.box, packing.max_contact,
                               skin=skin)
    positions = np.array(packing.positions)
    _advance_in_chunks(engine, positions, packing, rule, [steps], True)
    return engine, positions


def _close_pairs(positions, radii, box, reach):
    """Every pair closer than R_i + R_j + reach, by brute force."""
    d = positions[:, None, :] - positions[None, :, :]
    d -= box * np.round(d / box)
    r = np.sqrt(np.sum(d * d, axis=2))
    limit = radii[:, None] + radii[None, :] + reach
    i, j = np.nonzero((r < limit) & ~np.eye(len(positions), dtype=bool))
    return set(zip(i.tolist(), j.tolist())), r, limit


@pytest.mark.parametrize("radius", [0.5, "mixture"])
def test_rows_hold_every_close_pair_once_partners_above_first(radius):
    n = 600
    radii = 0.5 if radius == 0.5 else _mixture3d(n)
    packing = pl.random_packing(n, 0.55, dim=3, seed=7, radius=radii)
    engine, positions = _engine_after(packing, DYNAMICS["bro"](packing), 30)
    radii = np.broadcast_to(engine.radii, (n,)) if engine.radii.shape[0] == 1 \
        else engine.radii
    # the list was built from the positions of its last build (kept in
    # single precision: allow for their rounding)
    built = engine.built.astype(np.float64) * packing.box
    want, _, _ = _close_pairs(built, radii, packing.box, engine.skin - 1e-5)
    _, r, limit = _close_pairs(built, radii, packing.box, engine.skin + 1e-5)
    listed = set()
    for i in range(n):
        row = engine.rows[engine.start[i]:engine.start[i + 1]].tolist()
        up = engine.up[i]
        assert len(set(row)) == len(row) and i not in row
        assert all(j > i for j in row[:up]) and all(j < i for j in row[up:])
        listed.update((i, j) for j in row)
    assert want <= listed
    # nothing far beyond the listing distance is listed either
    i, j = np.array(sorted(listed)).T
    assert np.all(r[i, j] < limit[i, j])
    # and every sphere has moved less than half the skin since
    moved = positions - built
    moved -= packing.box * np.round(moved / packing.box)
    assert np.max(np.sqrt(np.sum(moved**2, axis=1))) <= 0.5 * engine.skin + 1e-5


@pytest.mark.parametrize("parts", [1, 3])
def test_each_part_has_room_for_every_contact_it_can_hand_over(parts, monkeypatch):
    """``cross[p]`` counts part p's listed partners numbered in other parts,
    and the room for handed contacts is laid out from it."""
    monkeypatch.setattr(_pairs.PairEngine, "parts", parts)
    packing = pl.random_packing(700, 0.6, dim=3, seed=7)
    engine, _ = _engine_after(packing, DYNAMICS["bro"](packing), 40)
    bounds = engine.bounds
    for p in range(parts):
        lo, hi = bounds[p], bounds[p + 1]
        row = engine.rows[engine.start[lo]:engine.start[hi]]
        outside = int(np.sum((row < lo) | (row >= hi)))
        assert engine.cross[p] == outside
        assert engine.hand_at[p + 1] - engine.hand_at[p] == outside
    assert (engine.cross[0] == 0) == (parts == 1)
    assert engine.handed.shape[0] >= engine.hand_at[parts]


def test_spheres_are_numbered_cell_by_cell_and_labels_follow():
    packing = pl.random_packing(800, 0.6, dim=3, seed=8)
    rule = DYNAMICS["bro"](packing)
    engine, positions = _engine_after(packing, rule, 0)  # the first build only
    label = engine.label
    assert np.array_equal(np.sort(label), np.arange(packing.n))
    assert np.array_equal(_bits(positions), _bits(packing.positions[label]))
    width = packing.box / engine.side
    cells = np.minimum((positions / width).astype(int), engine.side - 1)
    flat = (cells[:, 0] * engine.side + cells[:, 1]) * engine.side + cells[:, 2]
    assert np.all(np.diff(flat) >= 0)
    # after steps and builds, restore hands back the caller's numbering
    engine, positions = _engine_after(packing, rule, 10)
    engine.restore()
    result = _run(packing, rule, "reference", steps=10, seed=9)
    assert np.array_equal(_bits(positions), _bits(result.packing.positions))


@pytest.mark.parametrize("parts", [1, 2, 3, 5])
@pytest.mark.parametrize("name", ["bro", "sgd-fraction", "bro-nonreciprocal",
                                  "sgd-pair"])
def test_any_number_of_parts_gives_the_reference_run(name, parts, monkeypatch):
    """Parts hand the contacts of each other's spheres over; serially or in
    parallel (as many threads as numba has), they must give the
    reference's bits, through the sweep of every sphere (most active) and
    the scan of the candidates (few active)."""
    monkeypatch.setattr(_pairs.PairEngine, "parts", parts)
    packing = pl.random_packing(1500, 0.45, dim=3, seed=10)
    rule = DYNAMICS[name](packing)
    reference = _run(packing, rule, "reference", steps=150, record_every=2)
    assert reference.active_fraction[0] > 0.5 > reference.active_fraction[-1]
    assert_identical(_run(packing, rule, "pairs", steps=150, record_every=2),
                     reference)


@pytest.mark.parametrize("name", ["bro", "sgd-fraction", "sde-bro"])
def test_unequal_radii_in_3d_match_the_reference(name):
    packing = pl.random_packing(900, 0.6, dim=3, seed=11, radius=_mixture3d(900))
    assert _pairs.eligible(packing.n, 3, packing.box, packing.max_contact)
    rule = DYNAMICS[name](packing)
    assert_identical(_run(packing, rule, "pairs", steps=80),
                     _run(packing, rule, "reference", steps=80))


@pytest.mark.parametrize("skin", [0.05, 0.8])
def test_results_do_not_depend_on_the_skin(skin, monkeypatch):
    monkeypatch.setattr(_pairs, "DEFAULT_SKIN", skin)
    packing = pl.random_packing(1000, 0.62, dim=3, seed=12)
    rule = DYNAMICS["sgd-fraction"](packing)
    assert_identical(_run(packing, rule, "pairs", steps=60),
                     _run(packing, rule, "reference", steps=60))


def test_a_run_ends_and_goes_on_in_chunks_on_the_same_state():
    """A chunk ends on a state it has scanned; the next one scans it again
    from the same candidates: records and positions as in one call, also
    where most spheres have fallen inactive."""
    packing = pl.random_packing(2000, 0.45, dim=3, seed=13)
    rule = DYNAMICS["bro"](packing)
    outputs = []
    for stops in ([150], [3, 4, 40, 41, 120, 150]):
        engine = _pairs.PairEngine(packing.n, packing.box, packing.max_contact)
        positions = np.array(packing.positions)
        records = _advance_in_chunks(engine, positions, packing, rule, stops, True)
        engine.restore()
        outputs.append((positions, records))
    (one, rec_one), (many, rec_many) = outputs
    assert rec_one[1][-1] < 0.5  # scanning the candidates only
    assert np.array_equal(_bits(one), _bits(many))
    for a, b in zip(rec_one, rec_many):
        assert np.array_equal(_bits(a), _bits(b))


def test_fixed_point_sums_do_not_depend_on_the_numbering():
    """The gradient and the loss of a renumbered packing are the renumbered
    gradient and the same loss, bit for bit: the reference visits the
    pairs in another order, and integer sums do not care."""
    packing = pl.random_packing(3000, 0.7, dim=3, seed=14)
    order = np.random.default_rng(1).permutation(packing.n)
    shuffled = pl.Packing(packing.positions[order], box=packing.box,
                          radius=packing.radius)
    grad = pl.loss_gradient(packing)
    assert np.array_equal(_bits(pl.loss_gradient(shuffled)), _bits(grad[order]))
    # sums of floats in another order differ in their last bits here
    assert not np.array_equal(_bits(grad.sum(axis=0)),
                              _bits(grad[order].sum(axis=0)))


def test_fixed_point_scales_keep_every_sum_in_range():
    for n in (1, 2, 3, 1000, 2**20, 10**7):
        vector, share = fixed_scales(n, 1.0)
        assert max(n - 1, 1) * vector <= 2.0**61  # n - 1 unit vectors
        assert vector == 2.0 ** np.round(np.log2(vector))  # a power of two
        assert share == vector
    assert fixed_scales(2, 4.0)[1] == 2.0**60 / 4.0


def test_the_engine_arrays_take_less_than_170_bytes_a_sphere(monkeypatch):
    """Per-sphere arrays (74 bytes), rows of about 11 partners with room to
    grow (76 here) and, with two parts, room for the contacts they hand
    over (18 here, less in larger boxes); the run's positions are not the
    engine's, and ``scratch`` is a view of ``built``."""
    monkeypatch.setattr(_pairs.PairEngine, "parts", 2)
    packing = pl.random_packing(20_000, 0.6, dim=3, seed=15)
    engine, _ = _engine_after(packing, DYNAMICS["bro"](packing), 30)
    total = sum(v.nbytes for k, v in vars(engine).items()
                if isinstance(v, np.ndarray) and k not in ("_held", "scratch"))
    assert total / packing.n < 170


@pytest.mark.parametrize("scale", [1e-110, 1e-106, 1e103])
def test_boxes_of_any_scale_run_as_the_reference(scale):
    """Regression: the first guess of the rows' size divided by the box
    cubed, which overflowed or underflowed at such scales."""
    base = pl.random_packing(200, 0.5, dim=3, seed=4)
    packing = pl.Packing(base.positions * scale, base.box * scale,
                         radius=0.5 * scale)
    rule = dynamics._bro_rule(packing, 0.02 * scale, "particle")[0]
    assert_identical(_run(packing, rule, "pairs", steps=20),
                     _run(packing, rule, "reference", steps=20))


def test_fast_runs_use_the_pair_lists_in_3d_only():
    """``engine='fast'`` picks the pair lists where they can run."""
    made = []
    real = _pairs.PairEngine

    class Spy(real):
        def __init__(self, *args, **kwargs):
            made.append(args)
            super().__init__(*args, **kwargs)

    try:
        _pairs.PairEngine = Spy
        pl.run_bro(pl.random_packing(500, 0.6, dim=3, seed=16), 0.02, 3, seed=1)
        pl.run_bro(pl.random_packing(500, 0.6, dim=2, seed=16), 0.02, 3, seed=1)
        pl.run_bro(pl.random_packing(20, 0.5, dim=3, seed=16), 0.02, 3, seed=1)
    finally:
        _pairs.PairEngine = real
    assert len(made) == 1 and made[0][0] == 500


@pytest.mark.parametrize("parts", [1, 2])
def test_rows_longer_than_a_block_of_pairs(parts, monkeypatch):
    """A sphere that overlaps more spheres than a scan's block holds: the
    block grows to the longest row, and is added up before every row."""
    monkeypatch.setattr(_pairs.PairEngine, "parts", parts)
    rng = np.random.default_rng(8)
    inside = rng.normal(size=(1200, 3))
    inside *= (rng.uniform(size=(1200, 1)) ** (1 / 3)
               / np.linalg.norm(inside, axis=1, keepdims=True))
    positions = np.vstack([[4.0, 4.0, 4.0], 4.0 + inside,
                           rng.uniform(0.0, 8.0, size=(299, 3))])
    radii = np.full(1500, 0.05)
    radii[0] = 1.0
    packing = pl.Packing(positions, 8.0, radius=radii)
    assert _pairs.eligible(packing.n, 3, packing.box, packing.max_contact)
    rule = DYNAMICS["bro"](packing)
    engine, _ = _engine_after(packing, rule, 1)
    assert engine.state[0] > _pairs._BLOCK
    assert_identical(_run(packing, rule, "pairs", steps=15),
                     _run(packing, rule, "reference", steps=15))
