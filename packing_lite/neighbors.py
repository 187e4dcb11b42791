"""Periodic cell lists.

The box is cut into ``cells_per_side ** dim`` cubic cells no smaller than
the largest contact distance, so every overlapping partner of a sphere
sits in its own cell or in an adjacent one. Each cell keeps its members in
ascending index order in a fixed-capacity row of ``slots``; the capacity
grows when a cell fills up. Keeping the order canonical means that a loop
over neighbours visits them in the same order whether the cells were
built from scratch or updated one move at a time, so both engines add up
floating-point sums identically.

Boxes only a few contact distances wide are handled exactly: along an axis
with one or two cells, each cell is visited once, not once per offset, so
no pair is counted twice.
"""

import itertools

import numpy as np
from numba import njit

from .packing import check_packing, min_image

__all__ = ["CellGrid", "overlapping_pairs", "brute_force_pairs"]

# Never more cells than this many per sphere: huge, sparse boxes would
# otherwise spend their memory on empty cells.
_MAX_CELLS_PER_SPHERE = 2


class CellGrid:
    """Geometry of the cell grid for one box and cutoff.

    Parameters
    ----------
    box : float
        Edge length of the periodic box.
    cutoff : float
        Smallest allowed cell edge (the largest contact distance).
    dim : int
        Number of dimensions.
    n : int
        Number of spheres (caps the number of cells).
    """

    def __init__(self, box, cutoff, dim, n):
        per_side = max(1, int(np.floor(box / cutoff)))
        cap = max(1, int(np.floor((_MAX_CELLS_PER_SPHERE * n) ** (1.0 / dim))))
        per_side = min(per_side, cap)
        # In high dimensions 2^dim or 3^dim neighbour cells can outnumber the
        # spheres; one cell (every pair checked) is then the cheaper search.
        if min(per_side, 3) ** dim > 2 * n + 27:
            per_side = 1
        self.per_side = per_side
        self.dim = dim
        self.n_cells = self.per_side**dim
        self.offsets = neighbor_offsets(self.per_side, dim)

    def build(self, positions, box, capacity=None):
        """Cells of ``positions``: returns (cell_of, slots, counts)."""
        n = positions.shape[0]
        cell_of = np.empty(n, dtype=np.int64)
        counts = np.zeros(self.n_cells, dtype=np.int64)
        _assign_cells(positions, box, self.per_side, cell_of, counts)
        needed = int(counts.max()) if n else 1
        if capacity is None or capacity < needed:
            capacity = needed + 4
        slots = np.empty((self.n_cells, capacity), dtype=np.int64)
        _fill_slots(cell_of, slots, counts)
        return cell_of, slots, counts


def neighbor_offsets(per_side, dim):
    """(m, dim) int64 cell offsets, each neighbour cell listed once.

    With three or more cells along an axis the offsets are -1, 0, 1; with
    two they are 0, 1; with one, 0 alone.
    """
    if per_side >= 3:
        axis = (-1, 0, 1)
    elif per_side == 2:
        axis = (0, 1)
    else:
        axis = (0,)
    return np.array(list(itertools.product(axis, repeat=dim)), dtype=np.int64).reshape(
        -1, dim
    )


@njit(cache=True, inline="always")
def cell_index(x, box, per_side):
    """Flat cell index of the point ``x`` (already wrapped into the box)."""
    index = 0
    for k in range(x.shape[0]):
        c = int(x[k] / box * per_side)
        if c < 0:  # unreachable for wrapped input; keeps indices in range
            c = 0
        elif c >= per_side:
            c = per_side - 1
        index = index * per_side + c
    return index


@njit(cache=True, inline="always")
def neighbor_cell(cell, offset, per_side, dim):
    """Flat index of the cell at ``offset`` from ``cell`` (periodic)."""
    result = 0
    stride = 1
    rest = cell
    for k in range(dim - 1, -1, -1):
        c = rest % per_side + offset[k]
        rest //= per_side
        if c < 0:
            c += per_side
        elif c >= per_side:
            c -= per_side
        result += c * stride
        stride *= per_side
    return result


@njit(cache=True)
def _assign_cells(positions, box, per_side, cell_of, counts):
    for i in range(positions.shape[0]):
        c = cell_index(positions[i], box, per_side)
        cell_of[i] = c
        counts[c] += 1


@njit(cache=True)
def _fill_slots(cell_of, slots, counts):
    counts[:] = 0
    for i in range(cell_of.shape[0]):  # ascending i keeps each row sorted
        c = cell_of[i]
        slots[c, counts[c]] = i
        counts[c] += 1


@njit(cache=True)
def remove_from_cell(i, cell, slots, counts):
    """Take sphere ``i`` out of ``cell``, keeping the row sorted."""
    m = counts[cell]
    k = 0
    while slots[cell, k] != i:
        k += 1
    for q in range(k, m - 1):
        slots[cell, q] = slots[cell, q + 1]
    counts[cell] = m - 1


@njit(cache=True)
def insert_into_cell(i, cell, slots, counts):
    """Put sphere ``i`` into ``cell`` in sorted position.

    Returns ``slots``, grown to a larger capacity if the row was full.
    """
    m = counts[cell]
    if m == slots.shape[1]:
        grown = np.empty((slots.shape[0], 2 * slots.shape[1]), dtype=slots.dtype)
        grown[:, : slots.shape[1]] = slots
        slots = grown
    k = m
    while k > 0 and slots[cell, k - 1] > i:
        slots[cell, k] = slots[cell, k - 1]
        k -= 1
    slots[cell, k] = i
    counts[cell] = m + 1
    return slots


@njit(cache=True)
def _pairs_from_cells(positions, radii, box, per_side, offsets, cell_of, slots, counts):
    n, dim = positions.shape
    out_i = []
    out_j = []
    for i in range(n):
        for o in range(offsets.shape[0]):
            c = neighbor_cell(cell_of[i], offsets[o], per_side, dim)
            for s in range(counts[c]):
                j = slots[c, s]
                if j <= i:
                    continue
                if _overlap(positions, radii, box, i, j):
                    out_i.append(i)
                    out_j.append(j)
    return _pair_array(out_i, out_j)


@njit(cache=True)
def _pair_array(out_i, out_j):
    result = np.empty((len(out_i), 2), dtype=np.intp)
    for k in range(len(out_i)):
        result[k, 0] = out_i[k]
        result[k, 1] = out_j[k]
    return result


@njit(cache=True, inline="always")
def _overlap(positions, radii, box, i, j):
    r2 = 0.0
    for k in range(positions.shape[1]):
        d = min_image(positions[i, k] - positions[j, k], box)
        r2 += d * d
    c = radii[i] + radii[j]
    return r2 < c * c


@njit(cache=True)
def _pairs_brute_force(positions, radii, box):
    n = positions.shape[0]
    out_i = []
    out_j = []
    for i in range(n):
        for j in range(i + 1, n):
            if _overlap(positions, radii, box, i, j):
                out_i.append(i)
                out_j.append(j)
    return _pair_array(out_i, out_j)


def _sorted_pairs(pairs):
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order]


def overlapping_pairs(packing):
    """All overlapping pairs, found with cell lists.

    Returns
    -------
    ndarray of intp, shape (m, 2)
        Rows ``(i, j)`` with ``i < j`` and minimum-image centre distance
        below ``R_i + R_j``, sorted by ``i`` then ``j``.
    """
    check_packing(packing)
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    cell_of, slots, counts = grid.build(packing.positions, packing.box)
    pairs = _pairs_from_cells(
        packing.positions, packing.radii, packing.box, grid.per_side, grid.offsets,
        cell_of, slots, counts,
    )
    return _sorted_pairs(pairs)


def brute_force_pairs(packing):
    """All overlapping pairs by checking every pair: O(n^2), for tests."""
    check_packing(packing)
    return _pairs_brute_force(packing.positions, packing.radii, packing.box)
