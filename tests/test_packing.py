import math

import numpy as np
import pytest

import packing_lite as pl
from packing_lite import dynamics
from packing_lite import packing as packing_module


def test_ball_volume_matches_known_formulas():
    assert pl.ball_volume(1, 0.5) == pytest.approx(1.0)
    assert pl.ball_volume(2, 1.0) == pytest.approx(math.pi)
    assert pl.ball_volume(3, 0.5) == pytest.approx(math.pi / 6)
    assert pl.ball_volume(4, 1.0) == pytest.approx(math.pi**2 / 2)
    assert pl.ball_volume(5, 1.0) == pytest.approx(8 * math.pi**2 / 15)


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("phi", [0.05, 0.5, 0.7])
def test_random_packing_has_requested_volume_fraction(dim, phi):
    p = pl.random_packing(300, phi, dim=dim, seed=3)
    assert p.phi == pytest.approx(phi, rel=1e-12)
    assert p.positions.shape == (300, dim)
    assert np.all((p.positions >= 0) & (p.positions < p.box))


def test_mixture_volume_fraction_uses_every_radius():
    radii = np.where(np.arange(100) % 2 == 0, 0.5, 0.7)
    p = pl.random_packing(100, 0.6, dim=2, seed=1, radius=radii)
    volume = np.sum(np.pi * radii**2)
    assert volume / p.box**2 == pytest.approx(0.6)
    assert p.phi == pytest.approx(0.6)


def test_random_packing_is_seeded():
    a = pl.random_packing(50, 0.4, seed=11)
    b = pl.random_packing(50, 0.4, seed=11)
    c = pl.random_packing(50, 0.4, seed=12)
    assert a == b
    assert a != c


def test_positions_are_wrapped_and_read_only():
    p = pl.Packing([[-0.5, 10.5], [3.0, 20.0]], box=10.0)
    np.testing.assert_allclose(p.positions, [[9.5, 0.5], [3.0, 0.0]])
    with pytest.raises(ValueError):
        p.positions[0, 0] = 1.0


def test_copy_is_independent():
    p = pl.random_packing(10, 0.3, seed=0, radius=np.full(10, 0.5))
    q = p.copy()
    assert p == q and q is not p
    assert q.radii is not p.radii


def test_spheres_wider_than_half_the_box_are_refused():
    # regression: this reported a hinge loss of 2.5, counting one image only
    with pytest.raises(ValueError, match=r"radius and box: the contact distance "
                       r"2 \* max radius = 6 must be at most box / 2 = 1"):
        pl.Packing([[0, 0, 0], [1, 0, 0]], box=2.0, radius=3.0)
    with pytest.raises(ValueError, match=r"2 \* max radius = 1.4 must be at most"):
        pl.Packing([[0, 0], [1, 0]], box=2.7, radius=[0.5, 0.7])
    # exactly twice the contact distance is allowed
    assert pl.Packing([[0, 0], [1, 0]], box=2.8, radius=[0.5, 0.7]).box == 2.8


def test_random_packing_refuses_a_box_too_narrow_for_its_spheres():
    # regression: 10 spheres at phi = 0.5 in 40D got a box of 0.33 diameters
    with pytest.raises(ValueError, match=r"radius and box: .* more spheres than "
                       r"n=10 or a lower phi \(dim=40 gives a box edge of 0.331"):
        pl.random_packing(10, phi=0.5, dim=40, seed=1)


def test_ball_volume_beyond_the_gamma_function_range():
    # Gamma(d/2 + 1) overflows a float above d = 340; the volume does not
    assert pl.ball_volume(3) == pytest.approx(4 * np.pi / 3)
    v400 = pl.ball_volume(400)
    expected = np.exp(200 * np.log(np.pi) - math.lgamma(201))
    assert v400 == pytest.approx(expected, rel=1e-12)


def test_random_packing_refuses_more_than_the_machine_holds(monkeypatch):
    monkeypatch.setattr(packing_module, "_physical_memory", lambda: 10**6)
    with pytest.raises(MemoryError, match=r"n=100000 spheres in dim=3 need"):
        pl.random_packing(100_000, 0.5)
    pl.random_packing(1000, 0.5)  # 40 kB fit


@pytest.mark.parametrize("far", [8.342681987093791e17, -3.3e19, 1e300, -1e300])
def test_huge_finite_coordinates_are_wrapped_into_the_box(far):
    """Regression: x - box * floor(x / box) loses the remainder for
    |x| above ~1e16 box and once left a coordinate at -122 in a box of
    5.6, which the fast engine then indexed out of its cell grid. (At such
    magnitudes one unit in the last place exceeds the box, so any point in
    the box is as good as another; it must be inside.)"""
    packing = pl.random_packing(200, 0.6, seed=1)
    positions = np.array(packing.positions)
    positions[0, 0] = far
    positions[3] += far
    moved = packing.with_positions(positions)
    assert np.all((moved.positions >= 0) & (moved.positions < moved.box))
    fast = pl.run_bro(moved, 0.02, 20, seed=5)
    reference = dynamics._run(moved, dynamics._bro_rule(moved, 0.02, "particle")[0],
                              20, 5, 1, False, {"dynamics": "bro"},
                              engine="reference")
    assert np.array_equal(fast.active_fraction, reference.active_fraction)
    assert np.array_equal(fast.packing.positions, reference.packing.positions)


def test_cell_order_sorts_spheres_by_cell_row_by_row():
    # a 3 x 3 grid of cells 2 wide (contact distance 2 in a box of 6.5):
    # sphere centres placed by hand, two in one cell to check the tie order
    positions = np.array([[5.0, 0.5], [0.5, 5.0], [0.5, 0.5], [2.5, 0.5],
                          [0.7, 0.9], [5.0, 5.0], [2.5, 2.5]])
    packing = pl.Packing(positions, 6.5, radius=1.0)
    # cells (row, column): 0:(2,0) 1:(0,2) 2:(0,0) 3:(1,0) 4:(0,0) 5:(2,2) 6:(1,1)
    assert packing.cell_order().tolist() == [2, 4, 1, 3, 6, 0, 5]


def test_sorted_by_cell_relabels_spheres_with_their_radii():
    radii = np.linspace(0.3, 0.5, 400)
    packing = pl.random_packing(400, 0.3, dim=3, seed=4, radius=radii)
    order = packing.cell_order()
    assert np.array_equal(np.sort(order), np.arange(400))
    relabelled = packing.sorted_by_cell()
    assert np.array_equal(relabelled.positions, packing.positions[order])
    assert np.array_equal(relabelled.radii, radii[order])
    assert relabelled.box == packing.box
    assert relabelled.phi == pytest.approx(packing.phi)
    # the same overlaps, under the new labels
    before = {tuple(sorted(p)) for p in pl.overlapping_pairs(packing)}
    after = {tuple(sorted((order[i], order[j])))
             for i, j in pl.overlapping_pairs(relabelled)}
    assert before == after and len(before) > 50
    # neighbours in space are neighbours in memory: the mean index gap of
    # overlapping pairs drops from about n / 3 to a small fraction of it
    gap = np.mean([abs(i - j) for i, j in pl.overlapping_pairs(relabelled)])
    assert gap < 400 / 6


@pytest.mark.parametrize("phi, dim", [(1e-19, 1), (1e-60, 3)])
def test_cell_order_in_boxes_far_wider_than_a_sphere(phi, dim):
    # box / contact distance beyond the 64-bit integers: no more cells a
    # side than spheres, so the cell index never overflows
    packing = pl.random_packing(5, phi, dim=dim, seed=1)
    order = packing.cell_order()
    assert sorted(order.tolist()) == list(range(5))
    assert np.array_equal(packing.sorted_by_cell().positions, packing.positions[order])


def test_pickled_and_copied_packings_stay_checked_and_read_only():
    import copy
    import pickle

    packing = pl.random_packing(50, 0.3, dim=3, seed=1,
                                radius=np.linspace(0.4, 0.6, 50))
    for twin in (pickle.loads(pickle.dumps(packing)), copy.deepcopy(packing),
                 copy.copy(packing)):
        np.testing.assert_array_equal(twin.positions, packing.positions)
        np.testing.assert_array_equal(twin.radii, packing.radii)
        assert twin.box == packing.box
        assert not twin.positions.flags.writeable
        assert not twin.radii.flags.writeable


def test_a_packing_changed_in_place_is_refused_by_the_runs():
    """Positions made writeable on purpose and then moved out of the box
    (the engine would read outside its cell grid) are refused."""
    packing = pl.random_packing(50, 0.3, dim=3, seed=1)
    for bad in (np.nan, 3.0 * packing.box, -1.0):
        changed = pl.Packing(packing.positions, packing.box)
        changed.positions.setflags(write=True)
        changed.positions[0, 0] = bad
        with pytest.raises(ValueError, match="packing.positions must be finite"):
            pl.run_bro(changed, 0.02, 5, seed=2)
