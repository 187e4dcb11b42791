"""The active-set engine behind BRO, SGD and the stochastic approximation.

It takes the same steps as ``dynamics._advance_reference`` and gives
bit-identical results, but its cost follows the active spheres instead of
all of them.

What it keeps between steps
---------------------------
* The list of active spheres (ascending), their sums S_i and loss shares.
* A symmetric neighbour list: row i holds every sphere j that was closer
  than R_i + R_j + 3 h (+ a rounding margin) when the row was last
  rebuilt. Each sphere accumulates its displacement since its own
  rebuild; when that exceeds the skin h, its row is rebuilt from cell
  lists and the rows of its partners are patched. A pair missing from
  the lists was at least R_i + R_j + 3 h apart at the later of the two
  rebuilds; since then one sphere moved at most h and the other at most
  2 h, so it still does not overlap: every overlapping pair is listed.
* Linked cell lists no smaller than the listing distance, updated only
  for spheres that change cell.

What one step does
------------------
Draw the factors of the active spheres and move the movers (in parallel,
each writing its own rows); then move spheres between cells (serially),
fix the order of rows whose reference cell changed and rebuild the rows
of spheres that left their skin (in parallel, with their partners' rows
patched part by part of the numbering, one thread per part); rescan every
sphere active at the start of the step (partners of movers that were
inactive get marked) and then the marked ones. A sphere that neither
moved nor touches a mover cannot change state, so inactive spheres away
from the movers are never looked at.

Its own numbering
-----------------
At each fresh start the engine numbers the spheres cell by cell of its
listing grid, so that spheres close in space are close in memory and a
scan reads its partners from a few cache lines instead of from anywhere
(at 200 000 spheres numbered as drawn, nearly every partner is a cache
miss). ``label[k]`` is the caller's index of the sphere numbered k. The
positions are put in this order for the duration of a call and back
before it returns; the radii are copied in this order unless they are
all equal. Everything that the caller's numbering decides is taken from
the labels: every random number, the order of contacts within a cell,
the tie-break of batch keys and the order in which the loss is added up.

Why the sums agree bit for bit
------------------------------
The reference engine adds the contacts of sphere i cell by cell, in the
order of its cell offsets, ascending by label within a cell. Each row
entry here packs the offset of the partner's reference cell (seen from
i's) above the partner's number, and rows are kept sorted by that offset
and then by the partner's label, so walking a row visits the contacts in
exactly the reference order. The packed offset changes only when a
sphere crosses a reference cell boundary or its row is rebuilt. Random
numbers are hashes of (seed, step, label or pair of labels), so neither
visiting order, numbering nor thread count changes them.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from . import _rng
from .dynamics import (
    FACTOR_BATCH, _batch_factors, _factor, record_due, take_record,
)
from .loss import (
    WEIGHT_HALF_PAIR_UNIFORM, WEIGHT_ONE, WEIGHT_PAIR_UNIFORM, _random_direction,
    add_share, fixed_scales, from_fixed, loss_from_fixed, to_fixed, to_fixed_up,
)
from .neighbors import neighbor_offsets
from .packing import image_from, min_image, wrap

__all__ = []

# Default skin h as a fraction of the largest contact distance (for spheres
# of diameter 1, in diameters): rows list partners up to R_i + R_j + 3 h
# (benchmarks/NOTES.md, "What was tried", has the choice). Scaling with the
# contact distance keeps the listing grid fine for spheres of any size.
DEFAULT_SKIN = 0.05
# Slack on the listing distance, as a fraction of the largest contact
# distance, for the rounding of the float32 displacement accumulators
# (their error stays below 1e-8 of it).
_MARGIN = 1e-6
# Loops over fewer items run serially: a parallel launch (and its barrier,
# which waits for the slowest thread) would cost more than it saves. The
# thresholds follow the work per item: a move takes tens of nanoseconds, a
# scan about a hundred, a row rebuild about a microsecond. Results do not
# depend on the choice.
_PARALLEL_MIN = 2048
_PARALLEL_MIN_SCAN = 512
_PARALLEL_MIN_ROWS = 32
# Rows rebuilt per batch (the batch copies its old rows first).
_REFRESH_BATCH = 4096
# Items per parallel chunk of the scan (each chunk allocates its scratch),
# of the row builds and of the moves: each chunk is one call, and a call
# with this many array arguments costs about a hundred nanoseconds.
_CHUNK = 128
_CHUNK_ROWS = 8
_CHUNK_MOVES = 256
# How the rows are stored (see "rows" below): free entries a row gets
# beyond its length when it is laid out or moved; spheres per block of
# rows (2^shift); the fraction a block may grow by moved rows before it is
# compacted; and the headroom of its segment for rows that lengthen. Rows
# from a random start lengthen by about a quarter as the packing relaxes.
# Results do not depend on any of these.
_SLACK = 2
_BLOCK_SHIFT = 12
_POOL_MARGIN = 0.0625
_HEADROOM = 0.5
# Rows are found by 4-byte offsets into the pool up to this many spheres.
_SMALL_OFFSETS = 1 << 24
# Never more cells of the listing grid than spheres.
_MAX_CELLS_PER_SPHERE = 1

# Event bits a mover leaves for the serial pass that follows the moves.
_LEFT_CELL = 1  # changed cell of the listing grid
_LEFT_REF_CELL = 2  # changed cell of the reference grid
_LEFT_SKIN = 4  # moved more than the skin since its row was built


# ------------------------------------------------------------ geometry
#
# ``geo`` bundles the constants of a run: (box, exact, per_side, bits,
# sentinel, shift, side, inv_width, extra, vector scale, share scale).
# per_side is the reference grid's cells per side, ``bits`` the bits per
# coordinate of a packed reference cell, ``sentinel`` the number of cell
# offsets (the rank given to cells that are not neighbours), ``shift`` where
# a row entry's rank starts, side and inv_width the listing grid, ``extra``
# = 3 h + margin.
# ``exact`` asks for ``min_image`` itself, needed only in boxes less than
# two contact distances wide. The scales are those of ``loss.fixed_scales``.


@njit(cache=True, inline="always")
def _ref_coord(x, box, per_side):
    """Reference-grid cell coordinate: the expression of
    ``neighbors.cell_index``, so both engines agree on every cell."""
    c = int(x / box * per_side)
    if c < 0:
        c = 0
    elif c >= per_side:
        c = per_side - 1
    return c


@njit(cache=True)
def _ref_code(positions, i, box, per_side, bits):
    """Reference-grid cell of sphere i, one coordinate per ``bits`` bits."""
    code = 0
    for k in range(positions.shape[1]):
        code = (code << bits) | _ref_coord(positions[i, k], box, per_side)
    return code


@njit(cache=True, inline="always")
def _pair_key(code_i, code_j, dim, bits, per_side, sentinel):
    """Rank of j's reference cell in the offset order around i's cell.

    ``sentinel`` when the cells are not neighbours: the reference engine
    never looks there.
    """
    low = (1 << bits) - 1
    key = 0
    for k in range(dim):
        at = bits * (dim - 1 - k)
        w = ((code_j >> at) & low) - ((code_i >> at) & low)
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
                return sentinel
        elif per_side == 2:
            key = key * 2 + w
    return key


@njit(cache=True, inline="always")
def _mirror_key(key, sentinel, per_side):
    """Rank of i's cell around j's, from the rank of j's around i's."""
    if key == sentinel or per_side < 3:
        return key  # with two cells a side, offsets 0 and 1 are symmetric
    return sentinel - 1 - key


@njit(cache=True, inline="always")
def _image(d, box, half, exact):
    """Minimum-image component of a displacement d in (-box, box).

    Unless ``exact``, the image is chosen by comparing with half the box:
    the result equals ``min_image(d, box)`` bit for bit whenever |d| stays
    clear of box / 2, which holds for every pair closer than a contact
    distance once the box is wider than two of them.
    """
    if exact:
        return min_image(d, box)
    if d > half:
        return d - box
    if d < -half:
        return d + box
    return d


@njit(cache=True, inline="always")
def _list_cell(positions, i, inv_width, side):
    """Flat index of the listing-grid cell of sphere ``i``."""
    index = 0
    for k in range(positions.shape[1]):
        c = int(positions[i, k] * inv_width)
        if c < 0:
            c = 0
        elif c >= side:
            c = side - 1
        index = index * side + c
    return index


@njit(cache=True, inline="always")
def _cell_remove(i, cell, head, nxt):
    j = head[cell]
    if j == i:
        head[cell] = nxt[i]
        return
    while nxt[j] != i:
        j = nxt[j]
    nxt[j] = nxt[i]


@njit(cache=True, inline="always")
def _cell_insert(i, cell, head, nxt):
    nxt[i] = head[cell]
    head[cell] = i


# ------------------------------------------------------------ rows
#
# All rows live in one flat ``pool``: row i is pool[at[i] : at[i] + row_len[i]]
# with room for cap[i] entries in place. The pool is cut into equal
# segments, one per block of 2^shift consecutive spheres, laid out in index
# order, so a scan in index order reads the pool nearly in order. A row
# that outgrows its room moves to the free end of its block's segment with
# ``slack`` free entries; once the block has grown by a fraction ``margin``
# it is laid out again in index order (through a copy of that block alone),
# and only a block that outgrows its whole segment makes the pool grow.
# Memory follows the rows' lengths rather than the longest row, and the
# unwritten end of a segment takes no memory. ``state`` holds the segment
# length and counts of moves, compactions and growths.


@njit(cache=True, inline="always")
def _order_key(entry, label, shift):
    """Where a row entry sorts: by the rank of the partner's reference
    cell, then by the partner's label."""
    return (((np.int64(entry) >> shift) << 32)
            | np.int64(label[entry & ((1 << shift) - 1)]))


@njit(cache=True, inline="always")
def _sort_row(pool, base, m, label, shift):
    for a in range(base + 1, base + m):  # insertion sort: rows are short
        v = pool[a]
        key = _order_key(v, label, shift)
        b = a
        while b > base and _order_key(pool[b - 1], label, shift) > key:
            pool[b] = pool[b - 1]
            b -= 1
        pool[b] = v


@njit(cache=True, inline="always")
def _wrap_cell(c, side):
    """A cell coordinate one step outside [0, side) brought back inside."""
    if c < 0:
        return c + side
    if c >= side:
        return c - side
    return c


@njit(cache=True)
def _build_range_any(items, start, stop, positions, radii, geo, offsets, head,
                     nxt, ref_code, label, pool, at, cap, row_len):
    """Rows of the spheres ``items[start:stop]`` from the cell lists,
    sorted; ``row_len[i]`` above ``cap[i]`` tells the caller to give row i
    more room and build it again."""
    box, exact, per_side, bits, sentinel, shift, side, inv_width, extra = geo[:9]
    dim = positions.shape[1]
    half = 0.5 * box
    for a in range(start, stop):
        i = items[a]
        base = at[i]
        capacity = cap[i]
        code_i = ref_code[i]
        count = 0
        for o in range(offsets.shape[0]):
            cell = 0
            for k in range(dim):
                c = int(positions[i, k] * inv_width)
                if c >= side:
                    c = side - 1
                cell = cell * side + _wrap_cell(c + offsets[o, k], side)
            j = head[cell]
            while j >= 0:
                if j != i:
                    r2 = 0.0
                    for k in range(dim):
                        d = _image(positions[i, k] - positions[j, k], box, half,
                                   exact)
                        r2 += d * d
                    reach = radii[i] + radii[j] + extra
                    if r2 < reach * reach:
                        if count < capacity:
                            key = _pair_key(code_i, ref_code[j], dim, bits,
                                            per_side, sentinel)
                            pool[base + count] = (key << shift) | j
                        count += 1
                j = nxt[j]
        _sort_row(pool, base, min(count, capacity), label, shift)
        row_len[i] = count


@njit(cache=True)
def _build_range_3d(items, start, stop, positions, radii, geo, head, nxt,
                    ref_code, label, pool, at, cap, row_len):
    """:func:`_build_range_any` unrolled for 3D grids of at least 3 cells a
    side in boxes wider than two contact distances.

    A row only has to hold every pair closer than the listing distance, so
    the distance test here need not round like the scan's: it takes the
    minimum image without branches, writes every candidate into the next
    free slot and advances past the accepted ones (a candidate written
    there and then rejected is overwritten by the next), and ranks them
    afterwards.
    """
    box, exact, per_side, bits, sentinel, shift, side, inv_width, extra = geo[:9]
    inv_box = 1.0 / box
    for a in range(start, stop):
        i = items[a]
        base = at[i]
        last = cap[i] - 1
        x0 = positions[i, 0]
        x1 = positions[i, 1]
        x2 = positions[i, 2]
        ri = radii[i] + extra
        h0 = min(int(x0 * inv_width), side - 1)
        h1 = min(int(x1 * inv_width), side - 1)
        h2 = min(int(x2 * inv_width), side - 1)
        count = 0
        for o0 in range(-1, 2):
            c0 = _wrap_cell(h0 + o0, side)
            for o1 in range(-1, 2):
                cells = (c0 * side + _wrap_cell(h1 + o1, side)) * side
                for o2 in range(-1, 2):
                    j = head[cells + _wrap_cell(h2 + o2, side)]
                    while j >= 0:
                        d0, d1, d2 = image_from(x0, x1, x2, positions, j, box,
                                                inv_box)
                        reach = ri + radii[j]
                        if count <= last:  # a full row takes no more writes
                            pool[base + count] = j
                        count += ((d0 * d0 + d1 * d1 + d2 * d2 < reach * reach)
                                  & (j != i))
                        j = nxt[j]
        m = min(count, last + 1)
        code_i = ref_code[i]
        for q in range(base, base + m):
            j = pool[q]
            key = _pair_key(code_i, ref_code[j], 3, bits, per_side, sentinel)
            pool[q] = (key << shift) | j
        _sort_row(pool, base, m, label, shift)
        row_len[i] = count


@njit(cache=True)
def _build_range(items, start, stop, positions, radii, geo, offsets, head, nxt,
                 ref_code, label, pool, at, cap, row_len):
    """Build the rows of ``items[start:stop]`` (one call for many rows: a
    call with this many array arguments costs a good part of a row)."""
    if positions.shape[1] == 3 and geo[6] >= 3 and not geo[1]:
        _build_range_3d(items, start, stop, positions, radii, geo, head, nxt,
                        ref_code, label, pool, at, cap, row_len)
    else:
        _build_range_any(items, start, stop, positions, radii, geo, offsets, head,
                         nxt, ref_code, label, pool, at, cap, row_len)


@njit(cache=True, parallel=True)
def _build_many_parallel(items, m, positions, radii, geo, offsets, head, nxt,
                         ref_code, label, pool, at, cap, row_len):
    chunks = (m + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    for c in prange(chunks):
        _build_range(items, c * _CHUNK_ROWS, min(m, (c + 1) * _CHUNK_ROWS),
                     positions, radii, geo, offsets, head, nxt, ref_code, label,
                     pool, at, cap, row_len)


@njit(cache=True)
def _build_many(items, m, positions, radii, geo, offsets, head, nxt, ref_code,
                label, pool, at, cap, row_len):
    """Build the rows of ``items[:m]`` within their room (each row writes
    only its own part of the pool, so they can go in parallel)."""
    if m >= _PARALLEL_MIN_ROWS:
        _build_many_parallel(items, m, positions, radii, geo, offsets, head, nxt,
                             ref_code, label, pool, at, cap, row_len)
    else:
        _build_range(items, 0, m, positions, radii, geo, offsets, head, nxt,
                     ref_code, label, pool, at, cap, row_len)


@njit(cache=True)
def _build_rows(items, m, positions, radii, geo, offsets, head, nxt, ref_code,
                label, pool, at, cap, row_len, state, block_top, block_end, policy):
    """Rebuild the rows of ``items[:m]``; returns the pool, grown if
    needed. Rows that did not fit their room move and are built again."""
    _build_many(items, m, positions, radii, geo, offsets, head, nxt, ref_code,
                label, pool, at, cap, row_len)
    for a in range(m):
        i = items[a]
        if row_len[i] > cap[i]:
            pool = _relocate(i, row_len[i], 0, pool, at, cap, row_len, state,
                             block_top, block_end, policy)
            _build_range(items, a, a + 1, positions, radii, geo, offsets, head,
                         nxt, ref_code, label, pool, at, cap, row_len)
    return pool


@njit(cache=True)
def _check_offsets(at, size):
    if at.itemsize == 4 and size > 2**31 - 1:
        raise MemoryError(
            "the neighbour rows need more than 2^31 entries, beyond the 32-bit "
            "offsets used below 2^24 spheres; such a system needs more than "
            "8 GB of rows")


@njit(cache=True)
def _lay_out(pool, at, cap, row_len, state, block_top, block_end, policy):
    """Fresh pool for the rows' current lengths; returns it.

    Each block of 2^shift consecutive spheres gets a segment of the pool
    with its rows in index order, each ``slack`` entries wider than its
    length, and a free end: the block may fill a fraction ``margin`` more
    before it is compacted, and the segment leaves ``headroom`` beyond
    that for rows that lengthen (pages not yet written cost no memory).
    """
    slack, margin, headroom, shift = policy
    n = row_len.shape[0]
    n_blocks = block_top.shape[0]
    widest = 0
    for b in range(n_blocks):
        total = 0
        for i in range(b << shift, min(n, (b + 1) << shift)):
            total += row_len[i] + slack
        widest = max(widest, total)
    segment = int(widest * (1.0 + margin + headroom)) + 1
    _check_offsets(at, n_blocks * segment)
    state[0] = segment
    for b in range(n_blocks):
        used = b * segment
        for i in range(b << shift, min(n, (b + 1) << shift)):
            at[i] = used
            cap[i] = row_len[i] + slack
            used += cap[i]
        block_top[b] = used
        block_end[b] = min((b + 1) * segment,
                           used + int(margin * (used - b * segment)) + 1)
    return np.empty(n_blocks * segment, dtype=pool.dtype)


@njit(cache=True, inline="always")
def _new_room(k, i, need, cap, row_len, slack):
    if k == i:
        return need + slack
    if row_len[k] > cap[k]:  # built past its room: keeps it until rebuilt
        return cap[k]
    return row_len[k] + slack


@njit(cache=True)
def _grow_pool(pool, at, state, block_top, block_end, segment, shift):
    """Copy the pool into one with longer segments; returns it."""
    old = state[0]
    n = at.shape[0]
    n_blocks = block_top.shape[0]
    _check_offsets(at, n_blocks * segment)
    grown = np.empty(n_blocks * segment, dtype=pool.dtype)
    for b in range(n_blocks):
        move = b * (segment - old)
        for a in range(b * old, block_top[b]):
            grown[a + move] = pool[a]
        block_top[b] += move
        block_end[b] += move
    for i in range(n):
        at[i] += (i >> shift) * (segment - old)
    state[0] = segment
    state[3] += 1
    return grown


@njit(cache=True)
def _compact_block(b, i, need, keep, pool, at, cap, row_len, state, block_top,
                   block_end, policy):
    """Lay block b's rows out again in index order, with fresh slack and
    room for ``need`` entries in row i (its first ``keep`` entries are
    kept); returns the pool, grown if the block outgrew its segment."""
    slack, margin, headroom, shift = policy
    n = row_len.shape[0]
    lo = b << shift
    hi = min(n, lo + (1 << shift))
    total = 0
    for k in range(lo, hi):
        total += _new_room(k, i, need, cap, row_len, slack)
    if total + int(margin * total) + 1 > state[0]:
        pool = _grow_pool(pool, at, state, block_top, block_end,
                          int(total * (1.0 + margin + headroom)) + 1, shift)
    segment = state[0]
    staged = np.empty(total, dtype=pool.dtype)
    used = 0
    for k in range(lo, hi):
        room = _new_room(k, i, need, cap, row_len, slack)
        kept = keep if k == i else min(row_len[k], cap[k])
        src = at[k]
        for a in range(kept):
            staged[used + a] = pool[src + a]
        at[k] = used
        cap[k] = room
        used += room
    base = b * segment
    for a in range(total):
        pool[base + a] = staged[a]
    for k in range(lo, hi):
        at[k] += base
    block_top[b] = base + total
    block_end[b] = min(base + segment, base + total + int(margin * total) + 1)
    state[2] += 1
    return pool


@njit(cache=True)
def _relocate(i, need, keep, pool, at, cap, row_len, state, block_top, block_end,
              policy):
    """Give row i room for ``need`` entries (plus slack), taking its first
    ``keep`` entries along: at the free end of its block's segment, or by
    compacting the block; returns the pool."""
    slack, margin, headroom, shift = policy
    b = i >> shift
    room = need + slack
    if block_top[b] + room > block_end[b]:
        return _compact_block(b, i, need, keep, pool, at, cap, row_len, state,
                              block_top, block_end, policy)
    src = at[i]
    dst = block_top[b]
    for a in range(keep):
        pool[dst + a] = pool[src + a]
    at[i] = dst
    cap[i] = room
    block_top[b] = dst + room
    state[1] += 1
    return pool


@njit(cache=True, inline="always")
def _row_insert_in_place(j, value, label, shift, pool, at, row_len):
    """Insert ``value`` into row j, which has room for it, in sorted
    position."""
    base = at[j]
    b = base + row_len[j]
    key = _order_key(value, label, shift)
    while b > base and _order_key(pool[b - 1], label, shift) > key:
        pool[b] = pool[b - 1]
        b -= 1
    pool[b] = value
    row_len[j] += 1


@njit(cache=True, inline="always")
def _row_insert(j, value, label, shift, pool, at, cap, row_len, state, block_top,
                block_end, policy):
    """Insert ``value`` into row j in sorted position, moving the row if
    it is full; returns the pool."""
    m = row_len[j]
    if m == cap[j]:
        pool = _relocate(j, m + 1, m, pool, at, cap, row_len, state, block_top,
                         block_end, policy)
    _row_insert_in_place(j, value, label, shift, pool, at, row_len)
    return pool


@njit(cache=True, inline="always")
def _row_find(j, i, mask, pool, at):
    """Position in the pool of i's entry in row j."""
    b = at[j]
    while (pool[b] & mask) != i:
        b += 1
    return b


@njit(cache=True, inline="always")
def _row_remove(j, i, mask, pool, at, row_len):
    end = at[j] + row_len[j]
    for b in range(_row_find(j, i, mask, pool, at), end - 1):
        pool[b] = pool[b + 1]
    row_len[j] -= 1


@njit(cache=True, inline="always")
def _row_replace(j, i, value, mask, label, shift, pool, at, row_len):
    """Give i's entry in row j the new ``value`` and restore the order."""
    base = at[j]
    end = base + row_len[j]
    b = _row_find(j, i, mask, pool, at)
    key = _order_key(value, label, shift)
    while b > base and _order_key(pool[b - 1], label, shift) > key:
        pool[b] = pool[b - 1]
        b -= 1
    while b < end - 1 and _order_key(pool[b + 1], label, shift) < key:
        pool[b] = pool[b + 1]
        b += 1
    pool[b] = value


@njit(cache=True)
def _rekey(i, dim, geo, ref_code, label, pool, at, row_len, lo, hi, defer, c):
    """Sphere i changed reference cell: new ranks in its row and in the rows
    of its partners numbered lo .. hi - 1. The new entries due in other
    partners' rows go to ``defer`` as (partner, entry) from line c on;
    returns the line after them."""
    per_side, bits, sentinel, shift = geo[2], geo[3], geo[4], geo[5]
    mask = (1 << shift) - 1
    code_i = ref_code[i]
    base = at[i]
    for a in range(base, base + row_len[i]):
        j = pool[a] & mask
        key = _pair_key(code_i, ref_code[j], dim, bits, per_side, sentinel)
        pool[a] = (key << shift) | j
        value = (_mirror_key(key, sentinel, per_side) << shift) | i
        if lo <= j < hi:
            _row_replace(j, i, value, mask, label, shift, pool, at, row_len)
        else:
            defer[c, 0] = j
            defer[c, 1] = value
            c += 1
    _sort_row(pool, base, row_len[i], label, shift)
    return c


@njit(cache=True, inline="always")
def _part_start(p, n, parts):
    """First sphere of part p when n spheres are cut into ``parts`` ranges
    (sphere i is in part i * parts // n)."""
    return -((-p * n) // parts)


@njit(cache=True, parallel=True)
def _rekey_parallel(active, n_active, events, parts, need, dim, geo, ref_code,
                    label, pool, at, row_len):
    """:func:`_rekey` for every mover that changed reference cell, each part
    of the spheres' numbering by one thread: a part re-ranks its movers'
    rows and their partners' rows within the part, then the entries due in
    other parts' rows. Each row ends sorted by its final entries, so the
    rows are the same whatever the parts. ``need[p]`` is the total length
    of part p's movers' rows."""
    n = row_len.shape[0]
    mask = (1 << geo[5]) - 1
    first = np.zeros(parts + 1, dtype=np.int64)  # part p's lines of defer
    for p in range(parts):
        first[p + 1] = first[p] + need[p]
    last = first[:parts].copy()
    defer = np.empty((first[parts], 2), dtype=pool.dtype)
    edge = np.empty(parts + 1, dtype=np.int64)  # part p's movers in active
    for p in range(parts + 1):
        edge[p] = np.searchsorted(active[:n_active], _part_start(p, n, parts))
    for p in prange(parts):
        lo, hi = _part_start(p, n, parts), _part_start(p + 1, n, parts)
        c = first[p]
        for a in range(edge[p], edge[p + 1]):
            if events[a] & _LEFT_REF_CELL:
                c = _rekey(active[a], dim, geo, ref_code, label, pool, at,
                           row_len, lo, hi, defer, c)
        last[p] = c
    for p in prange(parts):
        lo, hi = _part_start(p, n, parts), _part_start(p + 1, n, parts)
        for q in range(parts):
            for c in range(first[q], last[q]):
                j = defer[c, 0]
                if lo <= j < hi:
                    value = defer[c, 1]
                    _row_replace(j, value & mask, value, mask, label, geo[5], pool,
                                 at, row_len)


# Kinds of change to a partner's row after a row rebuild.
_DROP = 0  # take i's entry out
_ADD = 1  # put i's entry in
_ADD_LATER = 2  # put i's entry in, once its row can be moved (full row)


@njit(cache=True)
def _row_changes(i, old, p, p_end, geo, label, pool, at, row_len, flag, changes,
                 c):
    """What row i's rebuild changes in its partners' rows: a merge of its
    old entries ``old[p:p_end]`` with its new row (both sorted, ranks up to
    date, so a pair listed in both has equal entries). Writes (partner,
    entry for i, kind) to ``changes`` from line c on and returns the line
    after them. Partners flagged as rebuilt themselves are left out."""
    per_side, sentinel, shift = geo[2], geo[4], geo[5]
    mask = (1 << shift) - 1
    base = at[i]
    m = row_len[i]
    q = 0
    while p < p_end or q < m:
        key_old = _order_key(old[p], label, shift) if p < p_end else -1
        key_now = _order_key(pool[base + q], label, shift) if q < m else -1
        if q == m or (p < p_end and key_old < key_now):
            j = old[p] & mask  # dropped from i's row
            if flag[j] == 0:
                changes[c, 0] = j
                changes[c, 1] = i
                changes[c, 2] = _DROP
                c += 1
            p += 1
        elif p == p_end or key_now < key_old:
            now = pool[base + q]
            j = now & mask  # new in i's row
            if flag[j] == 0:
                key = _mirror_key(now >> shift, sentinel, per_side)
                changes[c, 0] = j
                changes[c, 1] = (key << shift) | i
                changes[c, 2] = _ADD
                c += 1
            q += 1
        else:
            p += 1
            q += 1
    return c


@njit(cache=True, parallel=True)
def _change_rows_parallel(items, m, old, old_at, parts, geo, label, pool, at,
                          cap, row_len, flag):
    """The changes of :func:`_row_changes` for ``items[:m]`` (in parallel),
    made part by part of the numbering, each part by one thread: drops and
    additions that fit their row in place. Returns the changes, additions
    to full rows marked ``_ADD_LATER`` (they move rows, so they are made
    serially)."""
    n = row_len.shape[0]
    shift = geo[5]
    mask = (1 << shift) - 1
    first = np.empty(m + 1, dtype=np.int64)  # row a's lines of changes
    first[0] = 0
    for a in range(m):
        first[a + 1] = first[a] + (old_at[a + 1] - old_at[a]) + row_len[items[a]]
    last = np.empty(m, dtype=np.int64)
    changes = np.empty((first[m], 3), dtype=np.int64)
    for a in prange(m):
        last[a] = _row_changes(items[a], old, old_at[a], old_at[a + 1], geo, label,
                               pool, at, row_len, flag, changes, first[a])
    for p in prange(parts):
        lo, hi = _part_start(p, n, parts), _part_start(p + 1, n, parts)
        for a in range(m):
            for c in range(first[a], last[a]):
                j = changes[c, 0]
                if j < lo or j >= hi:
                    continue
                if changes[c, 2] == _DROP:
                    _row_remove(j, changes[c, 1], mask, pool, at, row_len)
                elif row_len[j] < cap[j]:
                    _row_insert_in_place(j, changes[c, 1], label, shift, pool, at,
                                         row_len)
                else:
                    changes[c, 2] = _ADD_LATER
    return changes, first, last


@njit(cache=True)
def _refresh(items, m, positions, radii, geo, offsets, head, nxt, ref_code, label,
             pool, at, cap, row_len, state, block_top, block_end, policy,
             displacement, flag, parts):
    """Rebuild the rows of ``items[:m]`` and patch their partners' rows
    (in parallel, by ``parts`` of the numbering, when there are enough);
    returns the pool. The rows end the same whatever the parts: each is
    kept sorted.

    ``flag`` must be zero on entry and is zero again on return.
    """
    shift = geo[5]
    mask = (1 << shift) - 1
    old_at = np.empty(m + 1, dtype=np.int64)
    total = 0
    for a in range(m):
        old_at[a] = total
        total += row_len[items[a]]
    old_at[m] = total
    old = np.empty(total, dtype=pool.dtype)
    for a in range(m):
        i = items[a]
        base = at[i]
        for b in range(row_len[i]):
            old[old_at[a] + b] = pool[base + b]
        flag[i] = 1
    pool = _build_rows(items, m, positions, radii, geo, offsets, head, nxt,
                       ref_code, label, pool, at, cap, row_len, state, block_top,
                       block_end, policy)
    if parts > 1 and m >= _PARALLEL_MIN_ROWS:
        changes, first, last = _change_rows_parallel(
            items, m, old, old_at, parts, geo, label, pool, at, cap, row_len, flag)
        for a in range(m):
            for c in range(first[a], last[a]):
                if changes[c, 2] == _ADD_LATER:
                    pool = _row_insert(changes[c, 0], changes[c, 1], label, shift,
                                       pool, at, cap, row_len, state, block_top,
                                       block_end, policy)
    else:
        # row by row: an addition may move rows, row i's among them
        widest = 0
        for a in range(m):
            widest = max(widest, old_at[a + 1] - old_at[a] + row_len[items[a]])
        changes = np.empty((widest, 3), dtype=np.int64)
        for a in range(m):
            count = _row_changes(items[a], old, old_at[a], old_at[a + 1], geo,
                                 label, pool, at, row_len, flag, changes, 0)
            for c in range(count):
                j = changes[c, 0]
                if changes[c, 2] == _DROP:
                    _row_remove(j, changes[c, 1], mask, pool, at, row_len)
                else:
                    pool = _row_insert(j, changes[c, 1], label, shift, pool, at,
                                       cap, row_len, state, block_top, block_end,
                                       policy)
    for a in range(m):
        i = items[a]
        flag[i] = 0
        for k in range(positions.shape[1]):
            displacement[i, k] = 0.0
    return pool


# ------------------------------------------------------------ scans


@njit(cache=True, inline="always")
def _widest(start, stop, items, row_len):
    """Longest row among ``items[start:stop]`` (sizes a chunk's scratch)."""
    widest = 1
    for a in range(start, stop):
        widest = max(widest, row_len[items[a]])
    return widest


@njit(cache=True, inline="always")
def _pair_weight(weight_kind, weight_param, seed, step, i, j, low, high):
    if weight_kind == WEIGHT_ONE:
        return 1.0
    if weight_kind == WEIGHT_PAIR_UNIFORM:
        return _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
    if weight_kind == WEIGHT_HALF_PAIR_UNIFORM:
        return _rng.uniform(seed, step, i, j, _rng.STREAM_HALF_PAIR)
    u = _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
    return 1.0 if u < weight_param else 0.0


@njit(cache=True)
def _scan_chunk_any(start, stop, items, step, seed, weight_kind, weight_param,
                    positions, radii, label, geo, pool, at, row_len, vec, shares,
                    found, marks, flag, mark):
    """Contacts of the spheres ``items[start:stop]``, summed in the
    reference engine's order.

    Writes the weighted S_i into ``vec[i]``, the fixed-point loss share
    into ``shares[label[i]]`` and 1 into ``found[a]`` if it has contacts, with
    the arithmetic of ``loss.scan_particle`` (random numbers drawn for the
    labels). When ``mark`` is true, partners not flagged active get
    ``marks[j] = 1``.
    """
    box, exact, sentinel, shift = geo[0], geo[1], geo[4], geo[5]
    dim = positions.shape[1]
    mask = (1 << shift) - 1
    half = 0.5 * box
    widest = _widest(start, stop, items, row_len)
    s_d = np.empty((widest, dim + 1))  # image vector and r^2
    s_e = np.empty(widest, dtype=np.int64)  # row entry
    total = np.empty(dim, dtype=np.int64)
    v_scale, s_scale = geo[9], geo[10]
    for a in range(start, stop):
        i = items[a]
        ri = radii[i]
        m = 0
        base = at[i]
        for q in range(base, base + row_len[i]):  # keep the overlapping ones
            entry = pool[q]
            j = entry & mask
            r2 = 0.0
            for k in range(dim):
                d = _image(positions[i, k] - positions[j, k], box, half, exact)
                s_d[m, k] = d
                r2 += d * d
            contact = ri + radii[j]
            s_d[m, dim] = r2
            s_e[m] = entry
            m += r2 < contact * contact

        total[:] = 0
        share = np.int64(0)
        count = 0
        li = label[i]
        for b in range(m):  # contacts, in the reference order
            entry = s_e[b]
            if (entry >> shift) == sentinel:
                continue
            j = entry & mask
            lj = label[j]
            r2 = s_d[b, dim]
            low = min(li, lj)
            high = max(li, lj)
            r = np.sqrt(r2)
            if r2 > 0.0:
                inverse = 1.0 / r
                for k in range(dim):
                    s_d[b, k] *= inverse
            else:
                _random_direction(seed, step, low, high, 1.0 if li < lj else -1.0,
                                  s_d[b, :dim])
            weight = _pair_weight(weight_kind, weight_param, seed, step, li, lj,
                                  low, high)
            for k in range(dim):
                total[k] += to_fixed(weight * s_d[b, k], v_scale)
            share += to_fixed_up(0.25 * (ri + radii[j] - r), s_scale)
            count += 1
            if mark and flag[j] == 0:  # active partners are rescanned anyway
                marks[j] = 1
        for k in range(dim):
            vec[i, k] = from_fixed(total[k], v_scale)
        shares[li] = share
        found[a] = 1 if count > 0 else 0


@njit(cache=True)
def _scan_chunk_3d(start, stop, items, step, seed, weight_kind, weight_param,
                   positions, radii, label, geo, pool, at, row_len, vec, shares,
                   found, marks, flag, mark):
    """:func:`_scan_chunk_any` unrolled for three dimensions, in boxes
    wider than two contact distances. One function, no calls per sphere:
    a call with many array arguments costs as much as the scan itself."""
    box, sentinel, shift = geo[0], geo[4], geo[5]
    mask = (1 << shift) - 1
    half = 0.5 * box
    widest = _widest(start, stop, items, row_len)
    s_d = np.empty((widest, 4))
    s_e = np.empty(widest, dtype=np.int64)
    v_scale, s_scale = geo[9], geo[10]
    for a in range(start, stop):
        i = items[a]
        x0 = positions[i, 0]
        x1 = positions[i, 1]
        x2 = positions[i, 2]
        ri = radii[i]
        m = 0
        base = np.int64(at[i])
        for q in range(row_len[i]):
            entry = pool[base + q]
            j = entry & mask
            d0 = _image(x0 - positions[j, 0], box, half, False)
            d1 = _image(x1 - positions[j, 1], box, half, False)
            d2 = _image(x2 - positions[j, 2], box, half, False)
            r2 = 0.0
            r2 += d0 * d0
            r2 += d1 * d1
            r2 += d2 * d2
            contact = ri + radii[j]
            s_d[m, 0] = d0
            s_d[m, 1] = d1
            s_d[m, 2] = d2
            s_d[m, 3] = r2
            s_e[m] = entry
            m += r2 < contact * contact

        v0 = np.int64(0)
        v1 = np.int64(0)
        v2 = np.int64(0)
        share = np.int64(0)
        count = 0
        li = label[i]
        for b in range(m):
            entry = s_e[b]
            if (entry >> shift) == sentinel:
                continue
            j = entry & mask
            lj = label[j]
            r2 = s_d[b, 3]
            low = min(li, lj)
            high = max(li, lj)
            r = np.sqrt(r2)
            if r2 > 0.0:
                inverse = 1.0 / r
                u0 = s_d[b, 0] * inverse
                u1 = s_d[b, 1] * inverse
                u2 = s_d[b, 2] * inverse
            else:
                direction = s_d[b, :3]
                _random_direction(seed, step, low, high, 1.0 if li < lj else -1.0,
                                  direction)
                u0 = direction[0]
                u1 = direction[1]
                u2 = direction[2]
            weight = _pair_weight(weight_kind, weight_param, seed, step, li, lj,
                                  low, high)
            v0 += to_fixed(weight * u0, v_scale)
            v1 += to_fixed(weight * u1, v_scale)
            v2 += to_fixed(weight * u2, v_scale)
            share += to_fixed_up(0.25 * (ri + radii[j] - r), s_scale)
            count += 1
            if mark and flag[j] == 0:  # active partners are rescanned anyway
                marks[j] = 1
        vec[i, 0] = from_fixed(v0, v_scale)
        vec[i, 1] = from_fixed(v1, v_scale)
        vec[i, 2] = from_fixed(v2, v_scale)
        shares[li] = share
        found[a] = 1 if count > 0 else 0


@njit(cache=True)
def _scan_chunk(start, stop, items, step, seed, weight_kind, weight_param,
                positions, radii, label, geo, pool, at, row_len, vec, shares, found,
                marks, flag, mark):
    if positions.shape[1] == 3 and not geo[1]:
        _scan_chunk_3d(start, stop, items, step, seed, weight_kind, weight_param,
                       positions, radii, label, geo, pool, at, row_len, vec, shares,
                       found, marks, flag, mark)
    else:
        _scan_chunk_any(start, stop, items, step, seed, weight_kind, weight_param,
                        positions, radii, label, geo, pool, at, row_len, vec, shares,
                        found, marks, flag, mark)


@njit(cache=True, parallel=True)
def _scan_parallel(items, m, step, seed, weight_kind, weight_param, positions,
                   radii, label, geo, pool, at, row_len, vec, shares, found, marks,
                   flag, mark):
    chunks = (m + _CHUNK - 1) // _CHUNK
    for c in prange(chunks):
        _scan_chunk(c * _CHUNK, min(m, (c + 1) * _CHUNK), items, step, seed,
                    weight_kind, weight_param, positions, radii, label, geo, pool,
                    at, row_len, vec, shares, found, marks, flag, mark)


@njit(cache=True)
def _scan(items, m, step, seed, weight_kind, weight_param, positions, radii, label,
          geo, pool, at, row_len, vec, shares, found, marks, flag, mark):
    """Scan ``items[:m]``: S_i into ``vec``, shares by label, whether
    it has contacts into ``found[:m]`` by position in ``items``."""
    if m >= _PARALLEL_MIN_SCAN:
        _scan_parallel(items, m, step, seed, weight_kind, weight_param, positions,
                       radii, label, geo, pool, at, row_len, vec, shares, found,
                       marks, flag, mark)
    else:
        _scan_chunk(0, m, items, step, seed, weight_kind, weight_param, positions,
                    radii, label, geo, pool, at, row_len, vec, shares, found, marks,
                    flag, mark)


# ------------------------------------------------------------ moves


@njit(cache=True)
def _move_range(start, stop, active, factor_kind, scale, spread, seed, step,
                factors, positions, label, geo, vec, displacement, skin2, ref_code,
                left_cell, events):
    """Move the spheres ``active[start:stop]`` and note their events.

    One call for many spheres: a helper called per sphere, even one
    inlined by numba, made a serial move about three times slower.
    """
    box, per_side, bits, side, inv_width = geo[0], geo[2], geo[3], geo[6], geo[7]
    inverse_box = 1.0 / box
    for a in range(start, stop):
        i = active[a]
        if factor_kind == FACTOR_BATCH:
            f = factors[i]
        else:
            f = _factor(factor_kind, scale, spread, seed, step, label[i])
        events[a] = 0
        if f == 0.0:
            continue
        old = _list_cell(positions, i, inv_width, side)
        moved2 = 0.0
        for k in range(positions.shape[1]):
            dx = f * vec[i, k]
            positions[i, k] = wrap(positions[i, k] + dx, box)
            # in units of the box: single precision neither underflows nor
            # overflows at any length a packing accepts
            displacement[i, k] += np.float32(dx * inverse_box)
            moved2 += np.float64(displacement[i, k]) ** 2
        event = 0
        if _list_cell(positions, i, inv_width, side) != old:
            left_cell[a] = old
            event |= _LEFT_CELL
        code = _ref_code(positions, i, box, per_side, bits)
        if code != ref_code[i]:
            ref_code[i] = code
            event |= _LEFT_REF_CELL
        if moved2 > skin2:
            event |= _LEFT_SKIN
        events[a] = event


@njit(cache=True, parallel=True)
def _move_parallel(active, n_active, factor_kind, scale, spread, seed, step,
                   factors, positions, label, geo, vec, displacement, skin2,
                   ref_code, left_cell, events):
    chunks = (n_active + _CHUNK_MOVES - 1) // _CHUNK_MOVES
    for c in prange(chunks):
        _move_range(c * _CHUNK_MOVES, min(n_active, (c + 1) * _CHUNK_MOVES),
                    active, factor_kind, scale, spread, seed, step, factors,
                    positions, label, geo, vec, displacement, skin2, ref_code,
                    left_cell, events)


@njit(cache=True)
def _move(active, n_active, factor_kind, scale, spread, batch_size, seed, step,
          factors, positions, label, geo, vec, displacement, skin2, ref_code,
          left_cell, events):
    """Draw the factors of step ``step`` and move the active spheres."""
    if factor_kind == FACTOR_BATCH:
        for a in range(n_active):  # the movers' labels, until they move
            left_cell[a] = label[active[a]]
        _batch_factors(active, left_cell, n_active, batch_size, scale, seed, step,
                       factors)
    if n_active >= _PARALLEL_MIN:
        _move_parallel(active, n_active, factor_kind, scale, spread, seed, step,
                       factors, positions, label, geo, vec, displacement, skin2,
                       ref_code, left_cell, events)
    else:
        _move_range(0, n_active, active, factor_kind, scale, spread, seed, step,
                    factors, positions, label, geo, vec, displacement, skin2,
                    ref_code, left_cell, events)


# ------------------------------------------------------------ driver


@njit(cache=True)
def _setup(positions, radii, geo, offsets, head, nxt, ref_code, label, pool, at,
           cap, row_len, state, block_top, block_end, policy, displacement, items):
    """Cells, reference cells and rows of every sphere, from scratch;
    returns the pool."""
    box, per_side, bits, side, inv_width = geo[0], geo[2], geo[3], geo[6], geo[7]
    n, dim = positions.shape
    head[:] = -1
    for i in range(n):
        _cell_insert(i, _list_cell(positions, i, inv_width, side), head, nxt)
        ref_code[i] = _ref_code(positions, i, box, per_side, bits)
        for k in range(dim):
            displacement[i, k] = 0.0
        items[i] = i
        at[i] = 0
        cap[i] = 0
    # count first (no room: nothing is written), then lay out and build
    _build_many(items, n, positions, radii, geo, offsets, head, nxt, ref_code,
                label, pool, at, cap, row_len)
    pool = _lay_out(pool, at, cap, row_len, state, block_top, block_end, policy)
    _build_many(items, n, positions, radii, geo, offsets, head, nxt, ref_code,
                label, pool, at, cap, row_len)
    return pool


@njit(cache=True)
def _take_marked(marks, flag, items, n):
    """Collect (ascending) and clear the marked spheres not yet active."""
    words = marks.view(np.uint64)
    m = 0
    for w in range(words.shape[0]):
        if words[w] == 0:
            continue
        for i in range(8 * w, min(8 * w + 8, n)):
            if marks[i] != 0 and flag[i] == 0:
                items[m] = i
                m += 1
        words[w] = 0
    return m


@njit(cache=True)
def _collect_flagged(flag, n, active):
    """Fill ``active`` with the flagged spheres in index order; returns
    their number. Eight unflagged spheres in a row cost one test, so the
    pass follows the active spheres."""
    words = flag.view(np.uint64)
    m = 0
    for w in range(words.shape[0]):
        if words[w] == 0:
            continue
        for i in range(8 * w, min(8 * w + 8, n)):  # m <= i: stays below n
            active[m] = i
            m += flag[i]
    return m


@njit(cache=True)
def _loss(active, n_active, label, shares, s_scale):
    """The loss: the active spheres' fixed-point shares (stored by label)
    summed exactly, as ``dynamics.collect_active`` adds them up."""
    high = low = np.int64(0)
    for a in range(n_active):
        high, low = add_share(high, low, shares[label[active[a]]])
    return loss_from_fixed(high, low, s_scale)


@njit(cache=True)
def _cell_order(positions, inv_width, side, counts, label):
    """Number the spheres cell by cell of the listing grid (row-major),
    ascending by label within a cell: ``label[k]`` is the sphere given
    number k. ``counts`` (one entry per cell) is scratch."""
    counts[:] = 0
    for i in range(positions.shape[0]):
        counts[_list_cell(positions, i, inv_width, side)] += 1
    total = 0
    for c in range(counts.shape[0]):
        here = counts[c]
        counts[c] = total
        total += here
    for i in range(positions.shape[0]):
        c = _list_cell(positions, i, inv_width, side)
        label[counts[c]] = i
        counts[c] += 1


@njit(cache=True)
def _renumber(values, label, done, forward):
    """Reorder the rows of ``values`` in place, following cycles: forward,
    row k becomes the old row ``label[k]``; backward, row ``label[k]``
    becomes the old row k. ``done`` (a byte per row) is scratch."""
    n, width = label.shape[0], values.shape[1]
    done[:n] = 0
    carry = np.empty(width, dtype=values.dtype)
    for s in range(n):  # element by element: row slices cost more than rows
        if done[s]:
            continue
        for c in range(width):
            carry[c] = values[s, c]
        k = s
        while True:
            done[k] = 1
            if forward:  # row k takes row label[k], the start's row last
                src = label[k]
                if src == s:
                    for c in range(width):
                        values[k, c] = carry[c]
                    break
                for c in range(width):
                    values[k, c] = values[src, c]
                k = src
            else:  # row label[k] takes the carried row k
                dst = label[k]
                for c in range(width):
                    carry[c], values[dst, c] = values[dst, c], carry[c]
                if dst == s:
                    break
                k = dst


@njit(cache=True)
def _advance_kernel(
    positions, radii, seed, factor_kind, scale, spread, batch_size, weight_kind,
    weight_param, t_start, t_stop, record_every, rec_times, rec_active, rec_loss,
    n_records, fresh, n_active, loss, skin, geo, offsets, head, nxt, ref_code,
    label, pool, at, cap, row_len, state, block_top, block_end, policy, batch,
    displacement, vec, shares, factors, active, items, found, events, marks, flag,
    parts,
):
    n, dim = positions.shape
    skin2 = (skin / geo[0]) ** 2  # the displacements are in units of the box
    no_defer = np.empty((0, 2), dtype=pool.dtype)  # a serial re-rank defers none
    need = np.zeros(parts, dtype=np.int64)
    t = t_start
    if fresh:
        pool = _setup(positions, radii, geo, offsets, head, nxt, ref_code, label,
                      pool, at, cap, row_len, state, block_top, block_end, policy,
                      displacement, items)
        _scan(items, n, t, seed, weight_kind, weight_param, positions, radii,
              label, geo, pool, at, row_len, vec, shares, found, marks, flag,
              False)
        flag[:n] = found[:n]
        n_active = _collect_flagged(flag, n, active)

    while True:
        absorbed = n_active == 0
        if record_due(t, t_stop, record_every, n_active):
            loss = _loss(active, n_active, label, shares, geo[10])
        n_records = take_record(t, t_stop, record_every, n_active, n, loss,
                                rec_times, rec_active, rec_loss, n_records)
        if absorbed or t == t_stop:
            return t, n_records, absorbed, pool, n_active, loss

        # moves, from the state at the start of step t; a mover that changed
        # cell leaves its old cell in items[a] (items is free until the
        # loop below, which reads entry a before it writes entry m <= a)
        _move(active, n_active, factor_kind, scale, spread, batch_size, seed, t,
              factors, positions, label, geo, vec, displacement, skin2, ref_code,
              items, events)
        m = 0
        n_rekey = 0
        need[:] = 0
        for a in range(n_active):
            event = events[a]
            if event == 0:
                continue
            i = active[a]
            if event & _LEFT_CELL:
                _cell_remove(i, items[a], head, nxt)
                _cell_insert(i, _list_cell(positions, i, geo[7], geo[6]), head, nxt)
            if event & _LEFT_REF_CELL:
                if parts == 1:
                    _rekey(i, dim, geo, ref_code, label, pool, at, row_len, 0, n,
                           no_defer, 0)
                else:
                    need[(i * parts) // n] += row_len[i]
                    n_rekey += 1
            if event & _LEFT_SKIN:
                items[m] = i
                m += 1
        if n_rekey >= _PARALLEL_MIN_ROWS:
            _rekey_parallel(active, n_active, events, parts, need, dim, geo,
                            ref_code, label, pool, at, row_len)
        elif n_rekey > 0:
            for a in range(n_active):
                if events[a] & _LEFT_REF_CELL:
                    _rekey(active[a], dim, geo, ref_code, label, pool, at, row_len,
                           0, n, no_defer, 0)
        # in batches, so that the copies of the old rows stay small
        for b in range(0, m, batch):
            pool = _refresh(items[b:], min(m - b, batch), positions, radii,
                            geo, offsets, head, nxt, ref_code, label, pool, at,
                            cap, row_len, state, block_top, block_end, policy,
                            displacement, marks, parts)
        t += 1

        # rescan: every sphere active at the start, then those it now touches
        _scan(active, n_active, t, seed, weight_kind, weight_param, positions,
              radii, label, geo, pool, at, row_len, vec, shares, found, marks, flag,
              True)
        m = _take_marked(marks, flag, items, n)
        new = found[n_active:]
        _scan(items, m, t, seed, weight_kind, weight_param, positions, radii,
              label, geo, pool, at, row_len, vec, shares, new, marks, flag, False)

        # the new active list: both scans' results as flags, then the
        # flagged spheres in index order
        for a in range(n_active):
            flag[active[a]] = found[a]
        for q in range(m):
            flag[items[q]] = new[q]
        n_active = _collect_flagged(flag, n, active)


class HeldEngine:
    """What the fast engines share: the calling convention of
    ``dynamics._advance_reference``, and positions held in the engine's own
    numbering from one call to the next.

    A subclass keeps ``label`` (``label[k]`` is the caller's index of the
    sphere it numbers k) and ``events`` (a byte per sphere of scratch), and
    provides ``_prepare(positions, radii, per_side, offsets, factor_kind)``
    for a fresh start (it may number the positions itself, then returns
    True) and ``_kernel(positions, seed, ..., n_records, fresh)``, which
    returns (t, n_records, absorbed).
    """

    t_state = None  # the step whose start state has been scanned
    _held = None  # positions left in the engine's numbering

    def advance(self, positions, radii, box, per_side, offsets, cell_of, slots,
                counts, seed, factor_kind, scale, spread, batch_size, weight_kind,
                weight_param, t_start, t_stop, record_every, rec_times, rec_active,
                rec_loss, n_records, keep_numbering=False):
        """Steps t_start .. t_stop - 1, as ``_advance_reference`` (the
        reference engine's cell arrays are ignored, ``slots`` handed back).

        The positions are put in the engine's numbering for the call. With
        ``keep_numbering`` they stay in it, and the next call on the same
        array goes on from there; :meth:`restore` puts them back in the
        caller's numbering (a failing call always does).
        """
        # a call that fails leaves no state to continue from
        fresh, self.t_state = self.t_state != t_start, None
        if self._held is not None and (fresh or positions is not self._held):
            self.restore()
        numbered = False
        if fresh:
            numbered = self._prepare(positions, radii, per_side, offsets,
                                     factor_kind)
        if self._held is None and not numbered:
            _renumber(positions, self.label, self.events, True)
        self._held = positions
        try:
            t, n_records, absorbed = self._kernel(
                positions, seed, factor_kind, scale, spread, batch_size,
                weight_kind, weight_param, t_start, t_stop, record_every,
                rec_times, rec_active, rec_loss, n_records, fresh)
        except BaseException:
            self.restore()
            raise
        if not keep_numbering:
            self.restore()
        self.t_state = t
        return t, n_records, absorbed, slots

    def restore(self):
        """Put positions left in the engine's numbering (``keep_numbering``)
        back in the caller's; nothing to do if there are none."""
        held, self._held = self._held, None
        if held is not None:
            _renumber(held, self.label, self.events, False)


class FastEngine(HeldEngine):
    """State of the active-set engine for one run.

    ``advance`` takes the arguments and returns the values of
    ``dynamics._advance_reference`` (it ignores the reference engine's
    cell arrays and hands ``slots`` back unchanged). The state lives here
    between calls, so a run split into chunks costs no extra full scans.

    Parameters
    ----------
    n, dim : int
        Number of spheres and dimensions.
    box : float
        Box edge.
    max_contact : float
        Largest contact distance R_i + R_j.
    skin : float, optional
        Skin h as a fraction of ``max_contact`` (default ``DEFAULT_SKIN``):
        rows list partners up to R_i + R_j + 3 h. Results do not depend on
        it.
    """

    # Parts of the numbering re-ranked in parallel (None: one per thread of
    # numba's). Results do not depend on it.
    parts = None

    def __init__(self, n, dim, box, max_contact, skin=None):
        self.skin = float(DEFAULT_SKIN if skin is None else skin) * max_contact
        self.box = float(box)
        self.exact = not box > 2.0 * max_contact * (1.0 + 1e-9)
        self.extra = 3.0 * self.skin + _MARGIN * max_contact
        reach = (max_contact + self.extra) * (1.0 + 1e-9)
        side = max(1, int(np.floor(box / reach)))
        side = min(side, max(1, int(np.floor((_MAX_CELLS_PER_SPHERE * n) ** (1 / dim)))))
        if min(side, 3) ** dim > 2 * n + 27:  # high dimensions: one cell
            side = 1
        self.side = side
        self.inv_width = side / box
        self.offsets = neighbor_offsets(side, dim)
        self.head = np.empty(side**dim, dtype=np.int32)
        self.nxt = np.empty(n, dtype=np.int32)
        # rows: laid out in one pool once the reference grid is known
        self.pool = None
        self.row_at = np.zeros(n, dtype=np.int32 if n < _SMALL_OFFSETS else np.int64)
        self.row_cap = np.zeros(n, dtype=np.int32)
        self.row_len = np.zeros(n, dtype=np.int32)
        n_blocks = ((max(n, 1) - 1) >> _BLOCK_SHIFT) + 1
        self.block_top = np.zeros(n_blocks, dtype=np.int64)
        self.block_end = np.zeros(n_blocks, dtype=np.int64)
        # segment length, then counts of row moves, compactions, growths
        self.pool_state = np.zeros(4, dtype=np.int64)
        self.policy = (int(_SLACK), float(_POOL_MARGIN), float(_HEADROOM),
                       int(_BLOCK_SHIFT))
        self.refresh_batch = int(_REFRESH_BATCH)
        self.ref_code = np.empty(n, dtype=np.int32)  # int64 if it must
        self.displacement = np.zeros((n, dim), dtype=np.float32)
        self.vec = np.zeros((n, dim))
        self.shares = np.zeros(n, dtype=np.int64)
        self.factors = np.zeros(1)
        self.active = np.empty(n, dtype=np.int32)
        self.items = np.empty(n, dtype=np.int32)
        self.found = np.empty(n, dtype=np.uint8)  # 1: has a contact
        self.events = np.empty(n, dtype=np.uint8)
        self.marks = np.zeros(-(-n // 8) * 8, dtype=np.uint8)
        self.flag = np.zeros(-(-n // 8) * 8, dtype=np.uint8)  # 1: active
        # the engine numbers the spheres cell by cell: label[k] is the
        # caller's index of the sphere it numbers k (set at each fresh start)
        self.label = np.arange(n, dtype=np.int32)
        self.radii = None  # the radii in the engine's numbering
        self.n_active = 0
        self.loss = 0.0
        self.geo = None

    def _prepare(self, positions, radii, per_side, offsets, factor_kind):
        n, dim = positions.shape
        sentinel = int(offsets.shape[0])
        shift = 31 - sentinel.bit_length()
        dtype = np.int32
        if n > 1 << shift:  # index and rank do not fit 31 bits
            shift, dtype = 32, np.int64
        bits = max(1, int(per_side).bit_length())
        if bits * dim > 63:
            raise ValueError("too many reference cells to pack into 63 bits")
        if bits * dim > 31 and self.ref_code.dtype != np.int64:
            self.ref_code = np.empty(n, dtype=np.int64)
        self.pool = np.empty(0, dtype=dtype)  # the set-up lays it out anew
        if factor_kind == FACTOR_BATCH and self.factors.shape[0] != n:
            self.factors = np.zeros(n)
        self.flag[:] = 0
        self.marks[:] = 0
        _cell_order(positions, self.inv_width, self.side, self.head, self.label)
        # equal radii need no renumbered copy
        self.radii = radii if np.all(radii == radii[0]) else radii[self.label]
        self.geo = (self.box, self.exact, int(per_side), bits, sentinel, shift,
                    self.side, self.inv_width, self.extra,
                    *fixed_scales(n, 2.0 * radii.max()))

    def _kernel(self, positions, seed, factor_kind, scale, spread, batch_size,
                weight_kind, weight_param, t_start, t_stop, record_every,
                rec_times, rec_active, rec_loss, n_records, fresh):
        t, n_records, absorbed, self.pool, self.n_active, self.loss = (
            _advance_kernel(
                positions, self.radii, seed, factor_kind, scale, spread,
                batch_size, weight_kind, weight_param, t_start, t_stop,
                record_every, rec_times, rec_active, rec_loss, n_records, fresh,
                self.n_active, self.loss, self.skin, self.geo, self.offsets,
                self.head, self.nxt, self.ref_code, self.label, self.pool,
                self.row_at, self.row_cap, self.row_len, self.pool_state,
                self.block_top, self.block_end, self.policy,
                self.refresh_batch, self.displacement, self.vec, self.shares,
                self.factors, self.active, self.items, self.found, self.events,
                self.marks, self.flag,
                int(self.parts or get_num_threads()),
            ))
        return t, n_records, absorbed

    def number(self, i):
        """The engine's number for the caller's sphere i."""
        return int(np.flatnonzero(self.label == i)[0])

    def row(self, i):
        """Entries of the caller's sphere i's row, a copy: the rank of the
        partner's reference cell above the partner's index (the caller's,
        not the engine's numbering), in the order the scan visits them."""
        shift = self.geo[5]
        start = int(self.row_at[self.number(i)])
        k = np.int64(self.row_len[self.number(i)])
        entries = self.pool[start: start + k].astype(np.int64)
        partner = self.label[entries & ((1 << shift) - 1)]
        return ((entries >> shift) << shift) | partner
