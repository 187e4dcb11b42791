import numpy as np
import pytest

import packing_lite as pl
from packing_lite.neighbors import CellGrid
from packing_lite.packing import box_for_phi


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n,phi", [(2, 0.3), (5, 0.6), (20, 0.7), (300, 0.64), (500, 0.02)])
def test_cell_lists_agree_with_brute_force(dim, n, phi):
    if box_for_phi(np.full(n, 0.5), phi, dim) < 2.0:  # too few spheres
        with pytest.raises(ValueError, match=r"contact distance .* box / 2"):
            pl.random_packing(n, phi, dim=dim, seed=n + 7 * dim)
        return
    p = pl.random_packing(n, phi, dim=dim, seed=n + 7 * dim)
    np.testing.assert_array_equal(pl.overlapping_pairs(p), pl.brute_force_pairs(p))


@pytest.mark.parametrize("box", [0.9, 1.5, 1.999])
def test_boxes_narrower_than_two_diameters_are_refused(box):
    # regression: the minimum image missed overlaps with further images
    x = np.random.default_rng(1).uniform(0, box, size=(60, 3))
    with pytest.raises(ValueError, match=r"radius and box: .* 2 \* max radius "
                       r"= 1 must be at most box / 2"):
        pl.Packing(x, box)


@pytest.mark.parametrize("per_side_box", [2.0, 2.2, 2.9, 3.1, 4.0])
def test_boxes_a_few_diameters_wide(per_side_box):
    rng = np.random.default_rng(1)
    box = per_side_box
    for dim in (2, 3):
        x = rng.uniform(0, box, size=(60, dim))
        p = pl.Packing(x, box)
        grid = CellGrid(p.box, p.max_contact, dim, p.n)
        assert grid.per_side == max(1, int(box))
        np.testing.assert_array_equal(pl.overlapping_pairs(p), pl.brute_force_pairs(p))


def test_mixture_in_2d_agrees_with_brute_force():
    radii = np.where(np.arange(800) % 2 == 0, 0.5, 0.7)
    p = pl.random_packing(800, 0.8, dim=2, seed=2, radius=radii)
    pairs = pl.overlapping_pairs(p)
    np.testing.assert_array_equal(pairs, pl.brute_force_pairs(p))
    assert len(pairs) > 800


def test_offsets_list_each_neighbour_cell_once():
    for per_side, expected in [(1, 1), (2, 8), (3, 27), (7, 27)]:
        grid = CellGrid(per_side * 1.0 + 0.01, 1.0, 3, 10**6)
        assert len(grid.offsets) == expected
        assert len({tuple(o) for o in grid.offsets}) == expected


def test_sparse_boxes_cap_the_number_of_cells():
    p = pl.random_packing(10, 1e-4, dim=3, seed=0)
    grid = CellGrid(p.box, p.max_contact, 3, p.n)
    assert grid.n_cells <= 20
    np.testing.assert_array_equal(pl.overlapping_pairs(p), pl.brute_force_pairs(p))
