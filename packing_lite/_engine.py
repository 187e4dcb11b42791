"""The active-set engine behind BRO, SGD and the stochastic approximation.

It takes the same steps as ``dynamics._advance_reference`` and gives
bit-identical results, but its cost follows the active spheres instead of
all of them.

What it keeps between steps
---------------------------
* The list of active spheres (ascending), their sums S_i and loss shares.
* A symmetric neighbour list: row i holds, in ascending order, every
  sphere j that was closer than R_i + R_j + 3 h + margin when the row was
  last rebuilt. Each sphere accumulates its displacement since its own
  rebuild; when that exceeds the skin h, its row is rebuilt from cell
  lists and the rows of its partners are patched. A pair missing from
  the lists was at least R_i + R_j + 3 h apart at the later of the two
  rebuilds; since then one sphere moved at most h and the other at most
  2 h, so it still does not overlap. The lists therefore always contain
  every overlapping pair.
* Linked cell lists no smaller than the listing distance, updated only
  for spheres that change cell, and each sphere's cell on the grid of the
  reference engine.

What one step does
------------------
Draw the factors of the active spheres, move the movers, rebuild the
rows of movers that left their skin, rescan every active sphere (at the
new positions; partners of movers that were inactive are marked) and
then the marked spheres. A sphere that neither moved nor touches a mover
cannot change state, so the inactive ones stay unscanned.

Why the sums agree bit for bit
------------------------------
The reference engine adds the contacts of sphere i cell by cell, in the
order of its cell offsets, and in ascending index within a cell. The scan
here finds the contacts in ascending index and then orders them by the
offset of the partner's reference cell (a stable sort), so it adds the
same numbers in the same order. Random numbers are hashes of (seed, step,
sphere or pair), so neither visiting order nor thread count matters.
Every parallel loop writes only the rows of its own spheres; marks are
stores of the value 1; all scatter updates and sums are serial.
"""

import numpy as np
from numba import njit, prange

from . import _rng
from .dynamics import FACTOR_BATCH, _batch_factors, _factor
from .loss import (
    WEIGHT_HALF_PAIR_UNIFORM, WEIGHT_ONE, WEIGHT_PAIR_UNIFORM, _random_direction,
)
from .neighbors import neighbor_cell, neighbor_offsets
from .packing import min_image, wrap

__all__ = []

# Default skin h in particle diameters: rows list partners up to
# R_i + R_j + 3 h. Measured: 0.05 balances row length against rebuilds.
DEFAULT_SKIN = 0.05
# Slack on the listing distance that absorbs rounding of the float32
# displacement accumulators (whose error is below 1e-8 diameters).
_MARGIN = 1e-6
# Loops over fewer items than this run serially: a parallel launch costs
# more than it saves. Results do not depend on the choice.
_PARALLEL_MIN = 256
# Items per parallel chunk; each chunk allocates its own scratch once.
_CHUNK = 256
_INITIAL_ROW_CAPACITY = 16
# Never more cells of the listing grid than this many per sphere.
_MAX_CELLS_PER_SPHERE = 1


# ------------------------------------------------------------ cell grids


@njit(cache=True, inline="always")
def _ref_coord(x, box, per_side):
    """Cell coordinate of one coordinate on the reference grid.

    The same expression as ``neighbors.cell_index``, so both engines put
    every sphere in the same cell.
    """
    c = int(x / box * per_side)
    if c < 0:
        c = 0
    elif c >= per_side:
        c = per_side - 1
    return c


@njit(cache=True, inline="always")
def _list_cell(positions, i, inv_width, per_side):
    """Flat index of the listing-grid cell of sphere ``i``."""
    index = 0
    for k in range(positions.shape[1]):
        c = int(positions[i, k] * inv_width)
        if c >= per_side:
            c = per_side - 1
        index = index * per_side + c
    return index


@njit(cache=True, inline="always")
def _offset_key(ref_cell, i, j, per_side):
    """Position of j's reference cell in the offset order around i's.

    Returns -1 when the cells are not neighbours, where the reference
    engine would not look.
    """
    key = 0
    for k in range(ref_cell.shape[1]):
        w = ref_cell[j, k] - ref_cell[i, k]
        if w < 0:
            w += per_side
        if per_side >= 3:
            if w == 0:
                key = key * 3 + 1
            elif w == 1:
                key = key * 3 + 2
            elif w == per_side - 1:
                key = key * 3
            else:
                return -1
        elif per_side == 2:
            key = key * 2 + w
    return key


@njit(cache=True)
def _cell_remove(i, cell, head, nxt):
    j = head[cell]
    if j == i:
        head[cell] = nxt[i]
        return
    while nxt[j] != i:
        j = nxt[j]
    nxt[j] = nxt[i]


@njit(cache=True)
def _cell_insert(i, cell, head, nxt):
    nxt[i] = head[cell]
    head[cell] = i


# ------------------------------------------------------------ rows


@njit(cache=True)
def _build_row(i, positions, radii, box, extra, list_side, inv_width, offsets,
               head, nxt, rows, row_len):
    """Row of sphere i from the cell lists, ascending; row_len may exceed
    the capacity, which tells the caller to grow it."""
    dim = positions.shape[1]
    capacity = rows.shape[1]
    home = _list_cell(positions, i, inv_width, list_side)
    count = 0
    for o in range(offsets.shape[0]):
        c = neighbor_cell(home, offsets[o], list_side, dim)
        j = head[c]
        while j >= 0:
            if j != i:
                r2 = 0.0
                for k in range(dim):
                    d = min_image(positions[i, k] - positions[j, k], box)
                    r2 += d * d
                reach = radii[i] + radii[j] + extra
                if r2 < reach * reach:
                    if count < capacity:
                        rows[i, count] = j
                    count += 1
            j = nxt[j]
    m = min(count, capacity)
    for a in range(1, m):  # insertion sort: rows are short
        v = rows[i, a]
        b = a
        while b > 0 and rows[i, b - 1] > v:
            rows[i, b] = rows[i, b - 1]
            b -= 1
        rows[i, b] = v
    row_len[i] = count


@njit(cache=True)
def _build_rows_serial(items, m, positions, radii, box, extra, list_side, inv_width,
                       offsets, head, nxt, rows, row_len):
    for a in range(m):
        _build_row(items[a], positions, radii, box, extra, list_side, inv_width,
                   offsets, head, nxt, rows, row_len)


@njit(cache=True, parallel=True)
def _build_rows_parallel(items, m, positions, radii, box, extra, list_side,
                         inv_width, offsets, head, nxt, rows, row_len):
    for a in prange(m):
        _build_row(items[a], positions, radii, box, extra, list_side, inv_width,
                   offsets, head, nxt, rows, row_len)


@njit(cache=True)
def _build_rows(items, m, positions, radii, box, extra, list_side, inv_width,
                offsets, head, nxt, rows, row_len):
    """Rebuild the rows of ``items[:m]``; returns ``rows``, grown if needed."""
    if m >= _PARALLEL_MIN:
        _build_rows_parallel(items, m, positions, radii, box, extra, list_side,
                             inv_width, offsets, head, nxt, rows, row_len)
    else:
        _build_rows_serial(items, m, positions, radii, box, extra, list_side,
                           inv_width, offsets, head, nxt, rows, row_len)
    longest = 0
    for a in range(m):
        longest = max(longest, row_len[items[a]])
    if longest > rows.shape[1]:
        rows = _grow_rows(rows, row_len, longest)
        _build_rows_serial(items, m, positions, radii, box, extra, list_side,
                           inv_width, offsets, head, nxt, rows, row_len)
    return rows


@njit(cache=True)
def _grow_rows(rows, row_len, needed):
    capacity = max(needed + 4, rows.shape[1] + 4)
    grown = np.empty((rows.shape[0], capacity), dtype=rows.dtype)
    for i in range(rows.shape[0]):
        for a in range(min(row_len[i], rows.shape[1])):
            grown[i, a] = rows[i, a]
    return grown


@njit(cache=True)
def _row_insert(j, i, rows, row_len):
    """Put i into row j in ascending position; returns rows (maybe grown)."""
    m = row_len[j]
    if m == rows.shape[1]:
        rows = _grow_rows(rows, row_len, m + 1)
    b = m
    while b > 0 and rows[j, b - 1] > i:
        rows[j, b] = rows[j, b - 1]
        b -= 1
    rows[j, b] = i
    row_len[j] = m + 1
    return rows


@njit(cache=True)
def _row_remove(j, i, rows, row_len):
    m = row_len[j]
    b = 0
    while rows[j, b] != i:
        b += 1
    for a in range(b, m - 1):
        rows[j, a] = rows[j, a + 1]
    row_len[j] = m - 1


# ------------------------------------------------------------ scans


@njit(cache=True)
def _scan_one(i, step, seed, weight_kind, weight_param, positions, radii, box,
              per_side, ref_cell, rows, row_len, vec, marks, mark,
              s_dir, s_r2, s_j, s_key, s_order):
    """Contacts of sphere i, summed in the reference engine's order.

    Writes S_i (weighted) into ``vec[i]``; returns (contacts, share) as
    ``loss.scan_particle`` does.
    """
    dim = positions.shape[1]
    m = 0
    for a in range(row_len[i]):
        j = rows[i, a]
        r2 = 0.0
        for k in range(dim):
            d = min_image(positions[i, k] - positions[j, k], box)
            s_dir[m, k] = d
            r2 += d * d
        contact = radii[i] + radii[j]
        if r2 >= contact * contact:
            continue
        key = _offset_key(ref_cell, i, j, per_side)
        if key < 0:
            continue
        s_r2[m] = r2
        s_j[m] = j
        s_key[m] = key
        b = m  # stable insertion of m into the order by key
        while b > 0 and s_key[s_order[b - 1]] > key:
            s_order[b] = s_order[b - 1]
            b -= 1
        s_order[b] = m
        m += 1

    for k in range(dim):
        vec[i, k] = 0.0
    share = 0.0
    for a in range(m):
        b = s_order[a]
        j = s_j[b]
        r2 = s_r2[b]
        low = min(i, j)
        high = max(i, j)
        r = np.sqrt(r2)
        direction = s_dir[b]
        if r2 > 0.0:
            for k in range(dim):
                direction[k] /= r
        else:
            _random_direction(seed, step, low, high, 1.0 if i < j else -1.0,
                              direction)
        if weight_kind == WEIGHT_ONE:
            weight = 1.0
        elif weight_kind == WEIGHT_PAIR_UNIFORM:
            weight = _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
        elif weight_kind == WEIGHT_HALF_PAIR_UNIFORM:
            weight = _rng.uniform(seed, step, i, j, _rng.STREAM_HALF_PAIR)
        else:
            u = _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
            weight = 1.0 if u < weight_param else 0.0
        for k in range(dim):
            vec[i, k] += weight * direction[k]
        share += 0.25 * (radii[i] + radii[j] - r)
        if mark:
            marks[j] = 1
    return m, share


@njit(cache=True)
def _scan_chunk(start, stop, items, step, seed, weight_kind, weight_param,
                positions, radii, box, per_side, ref_cell, rows, row_len, vec,
                shares, found, marks, mark):
    capacity = rows.shape[1]
    s_dir = np.empty((capacity, positions.shape[1]))
    s_r2 = np.empty(capacity)
    s_j = np.empty(capacity, dtype=np.int64)
    s_key = np.empty(capacity, dtype=np.int64)
    s_order = np.empty(capacity, dtype=np.int64)
    for a in range(start, stop):
        i = items[a]
        found[a], shares[i] = _scan_one(
            i, step, seed, weight_kind, weight_param, positions, radii, box,
            per_side, ref_cell, rows, row_len, vec, marks, mark,
            s_dir, s_r2, s_j, s_key, s_order,
        )


@njit(cache=True, parallel=True)
def _scan_parallel(items, m, step, seed, weight_kind, weight_param, positions,
                   radii, box, per_side, ref_cell, rows, row_len, vec, shares,
                   found, marks, mark):
    chunks = (m + _CHUNK - 1) // _CHUNK
    for c in prange(chunks):
        _scan_chunk(c * _CHUNK, min(m, (c + 1) * _CHUNK), items, step, seed,
                    weight_kind, weight_param, positions, radii, box, per_side,
                    ref_cell, rows, row_len, vec, shares, found, marks, mark)


@njit(cache=True)
def _scan(items, m, step, seed, weight_kind, weight_param, positions, radii, box,
          per_side, ref_cell, rows, row_len, vec, shares, found, marks, mark):
    """Scan ``items[:m]``: S_i into vec, shares by sphere, contacts into
    ``found[:m]`` (by position in ``items``)."""
    if m >= _PARALLEL_MIN:
        _scan_parallel(items, m, step, seed, weight_kind, weight_param, positions,
                       radii, box, per_side, ref_cell, rows, row_len, vec, shares,
                       found, marks, mark)
    else:
        _scan_chunk(0, m, items, step, seed, weight_kind, weight_param, positions,
                    radii, box, per_side, ref_cell, rows, row_len, vec, shares,
                    found, marks, mark)


# ------------------------------------------------------------ moves


@njit(cache=True, inline="always")
def _move_one(a, active, factors, positions, box, vec, displacement, skin2,
              per_side, ref_cell, list_side, inv_width, left_cell, refresh):
    i = active[a]
    f = factors[i]
    left_cell[a] = -1
    refresh[a] = 0
    if f == 0.0:
        return
    dim = positions.shape[1]
    old = _list_cell(positions, i, inv_width, list_side)
    moved2 = 0.0
    for k in range(dim):
        positions[i, k] = wrap(positions[i, k] + f * vec[i, k], box)
        displacement[i, k] += np.float32(f * vec[i, k])
        moved2 += np.float64(displacement[i, k]) ** 2
        ref_cell[i, k] = _ref_coord(positions[i, k], box, per_side)
    if _list_cell(positions, i, inv_width, list_side) != old:
        left_cell[a] = old
    if moved2 > skin2:
        refresh[a] = 1


@njit(cache=True, parallel=True)
def _move_parallel(active, n_active, factors, positions, box, vec, displacement,
                   skin2, per_side, ref_cell, list_side, inv_width, left_cell,
                   refresh):
    for a in prange(n_active):
        _move_one(a, active, factors, positions, box, vec, displacement, skin2,
                  per_side, ref_cell, list_side, inv_width, left_cell, refresh)


@njit(cache=True)
def _move(active, n_active, factors, positions, box, vec, displacement, skin2,
          per_side, ref_cell, list_side, inv_width, left_cell, refresh):
    if n_active >= _PARALLEL_MIN:
        _move_parallel(active, n_active, factors, positions, box, vec,
                       displacement, skin2, per_side, ref_cell, list_side,
                       inv_width, left_cell, refresh)
    else:
        for a in range(n_active):
            _move_one(a, active, factors, positions, box, vec, displacement,
                      skin2, per_side, ref_cell, list_side, inv_width, left_cell,
                      refresh)


@njit(cache=True, parallel=True)
def _factors_parallel(active, n_active, factor_kind, scale, spread, seed, step,
                      factors):
    for a in prange(n_active):
        i = active[a]
        factors[i] = _factor(factor_kind, scale, spread, seed, step, i)


@njit(cache=True)
def _draw_factors(active, n_active, factor_kind, scale, spread, batch_size, seed,
                  step, factors):
    if factor_kind == FACTOR_BATCH:
        _batch_factors(active, n_active, batch_size, scale, seed, step, factors)
    elif n_active >= _PARALLEL_MIN:
        _factors_parallel(active, n_active, factor_kind, scale, spread, seed, step,
                          factors)
    else:
        for a in range(n_active):
            i = active[a]
            factors[i] = _factor(factor_kind, scale, spread, seed, step, i)


# ------------------------------------------------------------ driver


@njit(cache=True)
def _refresh(items, m, positions, radii, box, extra, list_side, inv_width, offsets,
             head, nxt, rows, row_len, displacement, flag):
    """Rebuild the rows of ``items[:m]`` and patch their partners' rows."""
    capacity = rows.shape[1]
    old = np.empty((m, capacity), dtype=rows.dtype)
    old_len = np.empty(m, dtype=np.int64)
    for a in range(m):
        i = items[a]
        old_len[a] = row_len[i]
        for b in range(row_len[i]):
            old[a, b] = rows[i, b]
        flag[i] = 1
    rows = _build_rows(items, m, positions, radii, box, extra, list_side, inv_width,
                       offsets, head, nxt, rows, row_len)
    for a in range(m):
        i = items[a]
        p = 0
        q = 0
        while p < old_len[a] or q < row_len[i]:
            if q == row_len[i] or (p < old_len[a] and old[a, p] < rows[i, q]):
                j = old[a, p]  # dropped from i's row
                if flag[j] == 0:
                    _row_remove(j, i, rows, row_len)
                p += 1
            elif p == old_len[a] or rows[i, q] < old[a, p]:
                j = rows[i, q]  # new in i's row
                if flag[j] == 0:
                    rows = _row_insert(j, i, rows, row_len)
                q += 1
            else:
                p += 1
                q += 1
    for a in range(m):
        i = items[a]
        flag[i] = 0
        for k in range(positions.shape[1]):
            displacement[i, k] = 0.0
    return rows


@njit(cache=True)
def _setup(positions, radii, box, per_side, extra, list_side, inv_width, offsets,
           head, nxt, rows, row_len, ref_cell, displacement, items):
    """Cells, rows and reference cells of every sphere from scratch."""
    n, dim = positions.shape
    head[:] = -1
    for i in range(n - 1, -1, -1):
        _cell_insert(i, _list_cell(positions, i, inv_width, list_side), head, nxt)
        for k in range(dim):
            ref_cell[i, k] = _ref_coord(positions[i, k], box, per_side)
            displacement[i, k] = 0.0
        items[i] = i
    return _build_rows(items, n, positions, radii, box, extra, list_side, inv_width,
                       offsets, head, nxt, rows, row_len)


@njit(cache=True)
def _collect_active(items, m, found, shares, active):
    """Keep the items with contacts; returns (count, loss share sum)."""
    count = 0
    loss = 0.0
    for a in range(m):
        if found[a] > 0:
            i = items[a]
            active[count] = i
            count += 1
            loss += shares[i]
    return count, loss


@njit(cache=True)
def _advance_kernel(
    positions, radii, box, per_side, seed, factor_kind, scale, spread, batch_size,
    weight_kind, weight_param, t_start, t_stop, record_every, rec_times, rec_active,
    rec_loss, n_records, fresh, n_active, loss, skin, list_side, inv_width,
    offsets, head, nxt, rows, row_len, ref_cell, displacement, vec, shares,
    factors, active, items, found, left_cell, refresh, marks, flag,
):
    n, dim = positions.shape
    extra = 3.0 * skin + _MARGIN
    skin2 = skin * skin
    t = t_start
    if fresh:
        rows = _setup(positions, radii, box, per_side, extra, list_side, inv_width,
                      offsets, head, nxt, rows, row_len, ref_cell, displacement,
                      items)
        _scan(items, n, t, seed, weight_kind, weight_param, positions, radii, box,
              per_side, ref_cell, rows, row_len, vec, shares, found, marks, False)
        n_active, loss = _collect_active(items, n, found, shares, active)
        for a in range(n_active):
            flag[active[a]] = 2

    while True:
        absorbed = n_active == 0
        if t % record_every == 0 or absorbed or t == t_stop:
            rec_times[n_records] = t
            rec_active[n_records] = n_active / n
            rec_loss[n_records] = loss
            n_records += 1
        if absorbed or t == t_stop:
            return t, n_records, absorbed, rows, n_active, loss

        # factors and moves, from the state at the start of step t
        _draw_factors(active, n_active, factor_kind, scale, spread, batch_size,
                      seed, t, factors)
        _move(active, n_active, factors, positions, box, vec, displacement, skin2,
              per_side, ref_cell, list_side, inv_width, left_cell, refresh)
        m = 0
        for a in range(n_active):
            i = active[a]
            if left_cell[a] >= 0:
                _cell_remove(i, left_cell[a], head, nxt)
                _cell_insert(i, _list_cell(positions, i, inv_width, list_side),
                             head, nxt)
            if refresh[a]:
                items[m] = i
                m += 1
        if m > 0:
            rows = _refresh(items, m, positions, radii, box, extra, list_side,
                            inv_width, offsets, head, nxt, rows, row_len,
                            displacement, marks)
        t += 1

        # rescan: every sphere active at t, then those a mover now touches
        _scan(active, n_active, t, seed, weight_kind, weight_param, positions,
              radii, box, per_side, ref_cell, rows, row_len, vec, shares, found,
              marks, True)
        m = 0
        for i in range(n):
            if marks[i] != 0:
                marks[i] = 0
                if flag[i] == 0:
                    items[m] = i
                    m += 1
        new = found[n_active:]
        _scan(items, m, t, seed, weight_kind, weight_param, positions, radii, box,
              per_side, ref_cell, rows, row_len, vec, shares, new, marks, False)

        # merge the two ascending lists into the new active list
        p = 0
        q = 0
        count = 0
        loss = 0.0
        old_active = left_cell  # reuse: the old list is read while writing
        for a in range(n_active):
            old_active[a] = active[a]
        while p < n_active or q < m:
            if q == m or (p < n_active and old_active[p] < items[q]):
                i = old_active[p]
                keep = found[p] > 0
                p += 1
            else:
                i = items[q]
                keep = new[q] > 0
                q += 1
            if keep:
                active[count] = i
                count += 1
                loss += shares[i]
                flag[i] = 2
            else:
                flag[i] = 0
        n_active = count


class FastEngine:
    """State of the active-set engine for one run.

    ``advance`` has the arguments and the return value of
    ``dynamics._advance_reference`` (the cell arrays of the reference
    engine are ignored and returned unchanged); the state lives here
    between calls, so a run split into chunks costs no extra rescans.

    Parameters
    ----------
    n, dim : int
        Number of spheres and dimensions.
    box : float
        Box edge.
    max_contact : float
        Largest contact distance R_i + R_j.
    skin : float
        Skin h in particle diameters: rows list partners up to
        R_i + R_j + 3 h.
    """

    def __init__(self, n, dim, box, max_contact, skin=DEFAULT_SKIN):
        self.skin = float(skin)
        reach = (max_contact + 3.0 * self.skin + _MARGIN) * (1.0 + 1e-9)
        side = max(1, int(np.floor(box / reach)))
        cap = max(1, int(np.floor((_MAX_CELLS_PER_SPHERE * n) ** (1.0 / dim))))
        side = min(side, cap)
        if min(side, 3) ** dim > 2 * n + 27:  # high dimensions: one cell
            side = 1
        self.list_side = side
        self.inv_width = self.list_side / box
        self.offsets = neighbor_offsets(self.list_side, dim)
        self.head = np.empty(self.list_side**dim, dtype=np.int32)
        self.nxt = np.empty(n, dtype=np.int32)
        self.rows = np.empty((n, _INITIAL_ROW_CAPACITY), dtype=np.int32)
        self.row_len = np.zeros(n, dtype=np.int32)
        self.ref_cell = np.empty((n, dim), dtype=np.int32)
        self.displacement = np.zeros((n, dim), dtype=np.float32)
        self.vec = np.zeros((n, dim))
        self.shares = np.zeros(n)
        self.factors = np.zeros(n)
        self.active = np.empty(n, dtype=np.int32)
        self.items = np.empty(n, dtype=np.int32)
        self.found = np.empty(n, dtype=np.int32)
        self.left_cell = np.empty(n, dtype=np.int32)
        self.refresh = np.empty(n, dtype=np.uint8)
        self.marks = np.zeros(n, dtype=np.uint8)
        self.flag = np.zeros(n, dtype=np.uint8)
        self.n_active = 0
        self.loss = 0.0
        self.t_state = -1  # the step whose start state is scanned

    def advance(self, positions, radii, box, per_side, offsets, cell_of, slots,
                counts, seed, factor_kind, scale, spread, batch_size, weight_kind,
                weight_param, t_start, t_stop, record_every, rec_times, rec_active,
                rec_loss, n_records):
        """Steps t_start .. t_stop - 1, as ``_advance_reference``."""
        fresh = self.t_state != t_start
        if fresh:
            self.flag[:] = 0
            self.marks[:] = 0
        t, n_records, absorbed, self.rows, self.n_active, self.loss = _advance_kernel(
            positions, radii, box, per_side, seed, factor_kind, scale, spread,
            batch_size, weight_kind, weight_param, t_start, t_stop, record_every,
            rec_times, rec_active, rec_loss, n_records, fresh, self.n_active,
            self.loss, self.skin, self.list_side, self.inv_width, self.offsets,
            self.head, self.nxt, self.rows, self.row_len, self.ref_cell,
            self.displacement, self.vec, self.shares, self.factors, self.active,
            self.items, self.found, self.left_cell, self.refresh, self.marks,
            self.flag,
        )
        self.t_state = t
        return t, n_records, absorbed, slots
