"""The pair-list engine behind BRO, SGD and the stochastic approximation in 3D.

It takes the same steps as ``dynamics._advance_reference`` and gives
bit-identical results, at a cost that follows the active spheres.

What it keeps between steps
---------------------------
* A Verlet list: every pair closer than R_i + R_j + h (the skin h) when
  the list was built, stored in both partners' rows. The list stays
  complete until some sphere has moved h / 2 since the build (two spheres
  that each moved less came closer by less than h); then it is built
  again from cell lists, and the spheres are numbered anew, cell by cell,
  so that partners lie close in memory.
* The spheres that were active at the last scan: the candidates of the
  next one.

What one step does
------------------
Every pair that overlaps at step t + 1 has a partner that was active at
step t: if neither partner moved, the pair already overlapped. So a scan
walks the rows of the candidates only, and meets each pair once: a pair of
two candidates from the lower-numbered one. Each contact is added to both
partners. The sums are fixed-point integers (``loss.fixed_scales``), the
reference engine's own arithmetic, which makes them independent of the
order of the pairs: the engines agree bit for bit although this one visits
pairs in list order, from either end, and on several threads. Random
numbers are hashes of the caller's labels, as in the reference.

When every sphere is a candidate (a fresh start, or more than half of them
active) the scan is a plain sweep of the half list. With several threads,
each thread owns a contiguous range of the numbering (cells, so mostly
its own region of space): it adds the contacts of its own spheres in place
and hands those of other threads' spheres to their owners, who add them
after a barrier.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from . import _rng
from .dynamics import (
    FACTOR_BATCH, _batch_factors, _factor, record_due, take_record,
)
from .loss import (
    WEIGHT_HALF_PAIR_UNIFORM, WEIGHT_ONE, WEIGHT_PAIR_UNIFORM, _random_direction,
    add_share, fixed_scales, loss_from_fixed, to_fixed, to_fixed_up,
)
from .packing import image_from, wrap
from ._engine import HeldEngine

__all__ = []

# Skin h in contact distances (benchmarks/NOTES.md has the choice): the list
# holds about 11 partners a sphere at phi = 0.6 and is rebuilt every 20 to 50
# steps at eps = 0.02. Results do not depend on it.
DEFAULT_SKIN = 0.3
# A sphere's move is checked against h / 2 shrunk by this fraction, which
# covers the rounding of the distances (about 1e-16 of the box).
_MARGIN = 1e-9
# Serial below this many candidates (spheres, for a build): a parallel loop
# costs microseconds to start. Results do not depend on it.
_PARALLEL_MIN = 512
# Overlapping pairs a scan collects before it adds up their contacts (8
# bytes each: the block stays in the first-level cache), or the longest
# row if that is longer.
_BLOCK = 1024

# Indexing: numbers read from arrays index other arrays as np.uint64, so
# that numba leaves out its handling of negative indices (a tenth of a
# step: BRO at N = 20 000, phi = 0.6, 59 against 52 ns a sphere). They are
# compared and counted as int64: numba does mixed signed and unsigned
# arithmetic in float64.


def eligible(n, dim, box, max_contact, skin=None):
    """Whether this engine runs a packing: 3D, a box wider than two contact
    distances (the minimum image is then a comparison) and at least three
    listing cells a side."""
    skin = DEFAULT_SKIN if skin is None else skin
    return (dim == 3 and box > 2.0 * max_contact * (1.0 + 1e-9)
            and _side(n, box, max_contact * (1.0 + skin)) >= 3)


def _side(n, box, reach):
    """Listing cells a side: at least ``reach`` wide, at most about n in
    all."""
    width = reach * (1.0 + 1e-9)
    return max(1, min(int(np.floor(box / width)), int(np.floor(n ** (1.0 / 3.0))) + 1))


@njit(cache=True, inline="always")
def _image(d, box, half):
    """Minimum-image component; equal to ``min_image`` bit for bit for
    every pair closer than half the box (all that can overlap here)."""
    if d > half:
        return d - box
    if d < -half:
        return d + box
    return d


@njit(cache=True, inline="always")
def _cell(x0, x1, x2, inv_width, side):
    c0 = min(int(x0 * inv_width), side - 1)
    c1 = min(int(x1 * inv_width), side - 1)
    c2 = min(int(x2 * inv_width), side - 1)
    return (c0 * side + c1) * side + c2


# ------------------------------------------------------------ the list


@njit(cache=True)
def _sort_by_cell(positions, label, radii, flag, side, inv_width, cell_start,
                  order, scratch, scratch_int):
    """Number the spheres cell by cell (ascending old number within a cell)
    and carry positions, labels, radii and flags along: cell c holds
    numbers ``cell_start[c]:cell_start[c + 1]``."""
    n = positions.shape[0]
    cell_start[:] = 0
    for i in range(n):
        c = _cell(positions[i, 0], positions[i, 1], positions[i, 2], inv_width, side)
        order[i] = c
        cell_start[np.uint64(c + 1)] += 1
    for c in range(side**3):
        cell_start[c + 1] += cell_start[c]
    for i in range(n):  # order[old] = new, with cell_start as fill pointers
        c = np.uint64(order[i])
        order[i] = cell_start[c]
        cell_start[c] += 1
    for c in range(side**3, 0, -1):
        cell_start[c] = cell_start[c - 1]
    cell_start[0] = 0
    _permute(order, positions, label, radii, flag, scratch, scratch_int)


@njit(cache=True, parallel=True)
def _permute(order, positions, label, radii, flag, scratch, scratch_int):
    """Apply ``order[old] = new`` to every per-sphere array (a build's
    rare parallel loops cost microseconds to start, however small)."""
    n = positions.shape[0]
    for k in range(3):
        for i in prange(n):
            scratch[np.uint64(order[i])] = positions[i, k]
        for i in prange(n):
            positions[i, k] = scratch[i]
    for i in prange(n):
        scratch_int[np.uint64(order[i])] = label[i]
    for i in prange(n):
        label[i] = scratch_int[i]
    if radii.shape[0] == n:
        for i in prange(n):
            scratch[np.uint64(order[i])] = radii[i]
        for i in prange(n):
            radii[i] = scratch[i]
    for i in prange(n):
        scratch_int[np.uint64(order[i])] = flag[i]
    for i in prange(n):
        flag[i] = scratch_int[i]


@njit(cache=True, inline="always")
def _radius(radii, i):
    return radii[i] if radii.shape[0] > 1 else radii[0]


@njit(cache=True, inline="always")
def _copy_run(positions, radii, skin, first, last, s0, s1, s2, near0, near1, near2,
              near_r, near_j, size):
    """Append the spheres numbered first..last - 1, shifted by (s0, s1,
    s2), to the copies; returns the new count."""
    for j in range(np.uint64(first), np.uint64(last)):
        at = np.uint64(size)
        near0[at] = positions[j, 0] + s0
        near1[at] = positions[j, 1] + s1
        near2[at] = positions[j, 2] + s2
        near_r[at] = _radius(radii, j) + skin
        near_j[at] = j
        size += 1
    return size


@njit(cache=True)
def _list_range(lo, hi, positions, radii, box, side, skin, cell_start, start, up,
                rows, base, cap, most):
    """Rows of the spheres numbered lo..hi - 1: the partners closer than
    R_i + R_j + skin, those numbered above first (``up[i]`` of them),
    written from ``rows[base]`` on, at most ``cap`` entries. The spheres
    of the 27 cells around each cell are copied once, shifted to their
    nearest image, and each sphere of the cell tests them all without
    branches. Returns the end of the rows written, the longest row,
    whether they fitted and how many entries are numbered outside
    lo..hi - 1 (the most contacts the range can hand to other parts; only
    part of the count if they did not fit)."""
    near0 = np.empty(27 * most)
    near1 = np.empty(27 * most)
    near2 = np.empty(27 * most)
    near_r = np.empty(27 * most)
    near_j = np.empty(27 * most, dtype=np.int64)
    close = np.empty(27 * most, dtype=np.bool_)
    found = np.empty(27 * most, dtype=np.int64)
    m = base
    widest = 0
    outside = 0
    c = np.searchsorted(cell_start, lo, side="right") - 1
    while c < side**3 and cell_start[c] < hi:
        first, last = max(lo, cell_start[c]), min(hi, cell_start[c + 1])
        if first == last:
            c += 1
            continue
        cx, cy, cz = c // (side * side), (c // side) % side, c % side
        size = 0
        for o in range(9):  # the three cells of a column along z are
            # numbered in a row: one run, or two where it wraps round
            ax, ay = cx + o // 3 - 1, cy + o % 3 - 1
            s0 = s1 = 0.0
            if ax < 0:
                ax, s0 = ax + side, -box
            elif ax == side:
                ax, s0 = 0, box
            if ay < 0:
                ay, s1 = ay + side, -box
            elif ay == side:
                ay, s1 = 0, box
            column = (ax * side + ay) * side
            low, high = max(cz - 1, 0), min(cz + 1, side - 1)
            size = _copy_run(positions, radii, skin, cell_start[column + low],
                             cell_start[column + high + 1], s0, s1, 0.0, near0,
                             near1, near2, near_r, near_j, size)
            if cz == 0:
                size = _copy_run(positions, radii, skin,
                                 cell_start[column + side - 1],
                                 cell_start[column + side], s0, s1, -box, near0,
                                 near1, near2, near_r, near_j, size)
            elif cz == side - 1:
                size = _copy_run(positions, radii, skin, cell_start[column],
                                 cell_start[column + 1], s0, s1, box, near0,
                                 near1, near2, near_r, near_j, size)
        for i in range(first, last):
            ui = np.uint64(i)
            x0 = positions[ui, 0]
            x1 = positions[ui, 1]
            x2 = positions[ui, 2]
            ri = _radius(radii, ui)
            for b in range(size):  # no branches, no gathers: vectorised
                d0 = x0 - near0[b]
                d1 = x1 - near1[b]
                d2 = x2 - near2[b]
                reach = ri + near_r[b]
                close[b] = d0 * d0 + d1 * d1 + d2 * d2 < reach * reach
            k = 0
            for b in range(size):
                j = near_j[b]
                found[np.uint64(k)] = j
                k += close[b] & (j != i)
            if m + k > base + cap:
                return m, widest, False, outside
            # partners above i straight into the row, the others back into
            # ``found`` to follow them: each is written to both places (the
            # write not kept is overwritten later), so that nothing in the
            # loop can be mispredicted
            front = m
            n_below = 0
            for b in range(k):
                j = found[b]
                above = j > i
                rows[np.uint64(front)] = j
                found[np.uint64(n_below)] = j
                front += above
                n_below += not above
                outside += (j < lo) | (j >= hi)
            for b in range(n_below):
                rows[front + b] = found[b]
            start[ui] = m
            up[ui] = front - m
            m += k
            widest = max(widest, k)
        c += 1
    return m, widest, True, outside


@njit(cache=True, parallel=True)
def _list_parallel(bounds, positions, radii, box, side, skin, cell_start, start, up,
                   rows, at, ends, widths, fits, cross, most):
    for p in prange(bounds.shape[0] - 1):
        ends[p], widths[p], fits[p], cross[p] = _list_range(
            bounds[p], bounds[p + 1], positions, radii, box, side, skin, cell_start,
            start, up, rows, at[p], at[p + 1] - at[p], most)


@njit(cache=True)
def _list_rows(bounds, positions, radii, box, side, skin, cell_start, start, up,
               rows, room, cross):
    """Rows of every sphere, each part's into its own stretch of ``rows``
    (``room[p]`` entries, in parallel), then closed up. Returns the rows
    (a new array if they did not fit) and the longest row's length; sets
    ``room`` for the next build and ``cross[p]``, part p's entries that
    belong to other parts."""
    n = positions.shape[0]
    parts = bounds.shape[0] - 1
    most = 1
    for c in range(side**3):
        most = max(most, cell_start[c + 1] - cell_start[c])
    at = np.zeros(parts + 1, dtype=np.int64)
    ends = np.empty(parts, dtype=np.int64)
    widths = np.empty(parts, dtype=np.int64)
    fits = np.zeros(parts, dtype=np.bool_)
    while True:
        for p in range(parts):
            at[p + 1] = at[p] + room[p]
        if rows.shape[0] < at[parts]:  # with room to grow: pages never
            # written take no memory
            rows = np.empty(at[parts] + at[parts] // 2, dtype=rows.dtype)
        if parts > 1 and n >= _PARALLEL_MIN:
            _list_parallel(bounds, positions, radii, box, side, skin, cell_start,
                           start, up, rows, at, ends, widths, fits, cross, most)
        else:
            for p in range(parts):
                ends[p], widths[p], fits[p], cross[p] = _list_range(
                    bounds[p], bounds[p + 1], positions, radii, box, side, skin,
                    cell_start, start, up, rows, at[p], room[p], most)
        if fits.all():
            break
        for p in range(parts):  # more room where it was short
            if not fits[p]:
                room[p] += room[p] // 4 + 27 * most
    m = ends[0]  # close the gaps between the parts' rows
    for p in range(1, parts):
        shift = at[p] - m
        for q in range(at[p], ends[p]):
            rows[q - shift] = rows[q]
        for i in range(bounds[p], bounds[p + 1]):
            start[i] -= shift
        m += ends[p] - at[p]
    start[n] = m
    for p in range(parts):  # the next build's room: this one's and a little
        used = ends[p] - at[p]
        room[p] = used + used // 16 + 27 * most
    return rows, widths.max()


@njit(cache=True)
def _build(positions, radii, label, flag, built, box, side, skin, cell_start,
           start, up, rows, room, bounds, cross, order, scratch, scratch_int):
    """Number the spheres by cell and list their pairs; returns the rows
    (a new array if the old one was too short) and the longest row's
    length, and sets ``cross`` (see ``_list_rows``). ``order``, ``scratch``
    and ``scratch_int`` are scratch for the renumbering. ``built`` keeps
    the positions of the build, in units of the box and in single
    precision (the moves allow for its rounding)."""
    _sort_by_cell(positions, label, radii, flag, side, side / box, cell_start,
                  order, scratch, scratch_int)
    rows, widest = _list_rows(bounds, positions, radii, box, side, skin, cell_start,
                              start, up, rows, room, cross)
    inverse_box = 1.0 / box
    for i in range(positions.shape[0]):
        for k in range(3):
            built[i, k] = positions[i, k] * inverse_box
    return rows, widest


# ------------------------------------------------------------ the scan


@njit(cache=True, inline="always")
def _weights(weight_kind, weight_param, seed, step, li, lj):
    """The weights of a contact in the sums of its two partners."""
    if weight_kind == WEIGHT_ONE:
        return 1.0, 1.0
    low = min(li, lj)
    high = max(li, lj)
    if weight_kind == WEIGHT_PAIR_UNIFORM:
        w = _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
        return w, w
    if weight_kind == WEIGHT_HALF_PAIR_UNIFORM:
        return (_rng.uniform(seed, step, li, lj, _rng.STREAM_HALF_PAIR),
                _rng.uniform(seed, step, lj, li, _rng.STREAM_HALF_PAIR))
    u = _rng.uniform(seed, step, low, high, _rng.STREAM_PAIR)
    w = 1.0 if u < weight_param else 0.0
    return w, w


@njit(cache=True, inline="always")
def _add_terms(j, t0, t1, t2, term, total, share, count):
    """Add one contact's terms to sphere j's sums."""
    total[j, 0] += t0
    total[j, 1] += t1
    total[j, 2] += t2
    share[j] += term
    count[j] = 1


@njit(cache=True, inline="always")
def _add_contact(j, t0, t1, t2, term, flag, total, share, count, touched,
                 n_touched):
    """Add one contact's terms to sphere j, which a scan from candidates
    met; a sphere first touched that is not a candidate is appended to
    ``touched``. Returns the new ``n_touched``."""
    if count[j] == 0 and not flag[j]:
        touched[n_touched] = j
        n_touched += 1
    _add_terms(j, t0, t1, t2, term, total, share, count)
    return n_touched


@njit(cache=True)
def _scan_range(lo, hi, items, every, owner_lo, owner_hi, step, seed,
                weight_kind, weight_param, box, scales, positions, radii, label,
                start, up, rows, widest, flag, total, count, share, handed,
                n_handed, touched, n_touched):
    """Contacts of the pairs met from the spheres ``items[lo:hi]``
    (``every``: the numbers lo..hi - 1 themselves, and only partners
    numbered above them).

    A candidate meets its partners numbered above it, and those below that
    are not candidates (``flag``). A first pass over the rows collects the
    overlapping pairs without branches, as (i << 32) | j, into a block of
    ``max(_BLOCK, widest)``; :func:`_block_contacts` adds it up whenever
    the next row might not fit, and at the end. Sums and flags go as
    that function says. Returns the new ``n_handed`` and ``n_touched``.

    Two passes over long blocks, rather than over each row, leave nothing
    to mispredict but the end of each row.
    """
    inverse_box = 1.0 / box
    mono = radii.shape[0] == 1
    contact2 = (2.0 * radii[0]) ** 2
    size = max(_BLOCK, widest)
    found = np.empty(size, dtype=np.int64)
    direction = np.empty(3)
    m = 0
    for a in range(lo, hi):
        if m + widest > size:
            n_handed, n_touched = _block_contacts(
                found, m, every, owner_lo, owner_hi, step, seed, weight_kind,
                weight_param, box, scales, positions, radii, label, flag, total,
                count, share, handed, n_handed, touched, n_touched, direction)
            m = 0
        i = a if every else items[a]
        x0 = positions[i, 0]
        x1 = positions[i, 1]
        x2 = positions[i, 2]
        ri = _radius(radii, i)
        key = np.int64(i) << 32
        first = start[i]
        middle = first + up[i]
        if every and mono:  # the common case, with nothing else to look up
            for q in range(np.uint64(first), np.uint64(middle)):
                j = rows[q]
                uj = np.uint64(j)
                d0, d1, d2 = image_from(x0, x1, x2, positions, uj, box, inverse_box)
                found[np.uint64(m)] = key | j
                m += d0 * d0 + d1 * d1 + d2 * d2 < contact2
        else:
            stop = middle if every else start[i + 1]
            for q in range(first, stop):
                j = rows[np.uint64(q)]
                uj = np.uint64(j)
                d0, d1, d2 = image_from(x0, x1, x2, positions, uj, box, inverse_box)
                if not mono:
                    contact2 = (ri + radii[uj]) ** 2
                found[np.uint64(m)] = key | j
                # a candidate below i met the pair in its own scan
                m += ((d0 * d0 + d1 * d1 + d2 * d2 < contact2)
                      & ((q < middle) | (flag[uj] == 0)))
    return _block_contacts(
        found, m, every, owner_lo, owner_hi, step, seed, weight_kind, weight_param,
        box, scales, positions, radii, label, flag, total, count, share, handed,
        n_handed, touched, n_touched, direction)


@njit(cache=True)
def _block_contacts(found, m, every, owner_lo, owner_hi, step, seed, weight_kind,
                    weight_param, box, scales, positions, radii, label, flag, total,
                    count, share, handed, n_handed, touched, n_touched, direction):
    """Add the contacts of the pairs ``found[:m]`` ((i << 32) | j, sphere i
    in [owner_lo, owner_hi)) to both partners: in place, with
    :func:`_add_contact`, for partners numbered in [owner_lo, owner_hi);
    appended to ``handed`` (number, three vector terms, share term) from
    ``n_handed`` on for others. Returns the new ``n_handed`` and
    ``n_touched``."""
    inverse_box = 1.0 / box
    v_scale, s_scale = scales[0], scales[1]
    for b in range(m):
        i = np.uint64(found[b] >> 32)
        j = found[b] & 0xFFFFFFFF
        uj = np.uint64(j)
        d0, d1, d2 = image_from(positions[i, 0], positions[i, 1], positions[i, 2],
                                positions, uj, box, inverse_box)
        r2 = 0.0
        r2 += d0 * d0
        r2 += d1 * d1
        r2 += d2 * d2
        r = np.sqrt(r2)
        li = label[i]
        lj = label[uj]
        if r2 > 0.0:
            inverse = 1.0 / r
            u0 = d0 * inverse
            u1 = d1 * inverse
            u2 = d2 * inverse
        else:
            _random_direction(seed, step, min(li, lj), max(li, lj),
                              1.0 if li < lj else -1.0, direction)
            u0 = direction[0]
            u1 = direction[1]
            u2 = direction[2]
        w_i, w_j = _weights(weight_kind, weight_param, seed, step, li, lj)
        term = to_fixed_up(0.25 * (_radius(radii, i) + _radius(radii, uj) - r),
                           s_scale)
        a0 = to_fixed(w_i * u0, v_scale)
        a1 = to_fixed(w_i * u1, v_scale)
        a2 = to_fixed(w_i * u2, v_scale)
        _add_terms(i, a0, a1, a2, term, total, share, count)
        # the partner's own terms: its unit vector is exactly -u, and
        # rounding to the nearest integer is symmetric about zero
        if w_j == w_i:
            t0 = -a0
            t1 = -a1
            t2 = -a2
        else:
            t0 = to_fixed(w_j * -u0, v_scale)
            t1 = to_fixed(w_j * -u1, v_scale)
            t2 = to_fixed(w_j * -u2, v_scale)
        if owner_lo <= j < owner_hi:
            # a sweep touches no list: looking whether it should, even
            # behind a test of ``every`` inside one helper, costs a third
            # of its time (the test has to stand here, at the call)
            if every:
                _add_terms(uj, t0, t1, t2, term, total, share, count)
            else:
                n_touched = _add_contact(uj, t0, t1, t2, term, flag, total,
                                         share, count, touched, n_touched)
        else:
            handed[n_handed, 0] = j
            handed[n_handed, 1] = t0
            handed[n_handed, 2] = t1
            handed[n_handed, 3] = t2
            handed[n_handed, 4] = term
            n_handed += 1
    return n_handed, n_touched


@njit(cache=True)
def _take_handed(handed, n_handed, owner_lo, owner_hi, every, flag, total, count,
                 share, touched, n_touched):
    """Add the contacts another part handed over to the spheres numbered
    in [owner_lo, owner_hi); returns the new ``n_touched``."""
    for h in range(n_handed):
        j = handed[h, 0]
        if not owner_lo <= j < owner_hi:
            continue
        k = np.uint64(j)
        if every:
            _add_terms(k, handed[h, 1], handed[h, 2], handed[h, 3], handed[h, 4],
                       total, share, count)
        else:
            n_touched = _add_contact(k, handed[h, 1], handed[h, 2], handed[h, 3],
                                     handed[h, 4], flag, total, share, count,
                                     touched, n_touched)
    return n_touched


@njit(cache=True)
def _gather(p, lo, hi, every, cand, n_cand, touched, n_touched, active, n_active,
            flag, count, share, loss_parts):
    """The new active spheres of part p (numbers lo..hi - 1) into
    ``active[lo:]``: candidates (or, with ``every``, all its spheres) with
    contacts, then the spheres first touched. Their flags mark them as the
    next candidates, and the exact sum of their loss shares goes to
    ``loss_parts[p]`` (``loss.add_share``)."""
    m = 0
    if every:
        for i in range(lo, hi):
            flag[i] = 0
            if count[i] > 0:
                active[lo + m] = i
                m += 1
    else:
        for a in range(lo, lo + n_cand[p]):
            i = np.uint64(cand[a])
            flag[i] = 0
            if count[i] > 0:
                active[lo + m] = i
                m += 1
        for a in range(lo, lo + n_touched):
            active[lo + m] = touched[a]
            m += 1
    high = low = np.int64(0)
    for a in range(lo, lo + m):
        i = np.uint64(active[a])
        flag[i] = 1
        high, low = add_share(high, low, share[i])
    loss_parts[p, 0] = high
    loss_parts[p, 1] = low
    n_active[p] = m


@njit(cache=True, inline="always")
def _clear(i, total, count, share):
    """Clear sphere i's sums."""
    total[i, 0] = 0
    total[i, 1] = 0
    total[i, 2] = 0
    count[i] = 0
    share[i] = 0


@njit(cache=True)
def _move_part(p, lo, factor_kind, scale, spread, seed, step, factors, active,
               n_active, positions, built, label, box, v_scale, limit2, total,
               count, share, moved):
    """Move part p's active spheres by their factor times S_i and clear
    their sums; ``moved[p]`` is set when one has left half the skin."""
    half = 0.5 * box
    # v_scale is a power of two: a product by its inverse is exact, and
    # equal to from_fixed's quotient
    inverse = 1.0 / v_scale
    far = False
    for a in range(lo, lo + n_active[p]):
        i = np.uint64(active[a])
        if factor_kind == FACTOR_BATCH:
            f = factors[i]
        else:
            f = _factor(factor_kind, scale, spread, seed, step, label[i])
        if f != 0.0:
            d2 = 0.0
            for k in range(3):
                x = wrap(positions[i, k] + f * (np.float64(total[i, k]) * inverse),
                         box)
                positions[i, k] = x
                d = _image(x - np.float64(built[i, k]) * box, box, half)
                d2 += d * d
            far |= d2 > limit2
        _clear(i, total, count, share)
    moved[p] = far


@njit(cache=True)
def _clear_part(p, lo, active, n_active, total, count, share):
    """Clear the sums of part p's active spheres without moving them."""
    for a in range(lo, lo + n_active[p]):
        _clear(np.uint64(active[a]), total, count, share)


@njit(cache=True)
def _after_build(p, bounds, flag, cand, n_cand):
    """Part p's candidates from the flags, in number order."""
    lo, hi = bounds[p], bounds[p + 1]
    m = 0
    for i in range(lo, hi):
        if flag[i]:
            cand[lo + m] = i
            m += 1
    n_cand[p] = m


@njit(cache=True, parallel=True)
def _after_build_parallel(bounds, flag, cand, n_cand):
    for p in prange(bounds.shape[0] - 1):
        _after_build(p, bounds, flag, cand, n_cand)


@njit(cache=True)
def _parts_after_build(bounds, flag, cand, n_cand, cross, hand_at, handed):
    """Each part's candidates and room for the contacts it hands over (at
    most ``cross[p]``, its listed pairs whose partner belongs to another
    part); returns ``handed`` (a new array if it was too short)."""
    parts = bounds.shape[0] - 1
    if parts > 1 and bounds[parts] >= _PARALLEL_MIN:
        _after_build_parallel(bounds, flag, cand, n_cand)
    else:
        for p in range(parts):
            _after_build(p, bounds, flag, cand, n_cand)
    for p in range(parts):
        hand_at[p + 1] = hand_at[p] + cross[p]
    if handed.shape[0] < hand_at[parts]:
        handed = np.empty((hand_at[parts], 5), dtype=np.int64)
    return handed


# ------------------------------------------------------------ one step


@njit(cache=True)
def _scan_part(p, every, bounds, cand, n_cand, step, seed, weight_kind,
               weight_param, box, scales, positions, radii, label, start, up, rows,
               widest, flag, total, count, share, handed, hand_at, n_handed, touched,
               n_touched):
    lo, hi = bounds[p], bounds[p + 1]
    if every:
        first, last = lo, hi
    else:
        first, last = lo, lo + n_cand[p]
    n_handed[p], n_touched[p] = _scan_range(
        first, last, cand, every, lo, hi, step, seed, weight_kind, weight_param,
        box, scales, positions, radii, label, start, up, rows, widest, flag, total,
        count, share, handed[hand_at[p]:hand_at[p + 1]], 0, touched[lo:hi], 0)


@njit(cache=True)
def _finish_part(p, every, bounds, cand, n_cand, active, n_active, flag, total,
                 count, share, handed, hand_at, n_handed, touched, n_touched,
                 loss_parts):
    lo, hi = bounds[p], bounds[p + 1]
    m = n_touched[p]
    for other in range(bounds.shape[0] - 1):
        if other != p:
            m = _take_handed(handed[hand_at[other]:], n_handed[other], lo, hi,
                             every, flag, total, count, share, touched[lo:hi], m)
    _gather(p, lo, hi, every, cand, n_cand, touched, m, active, n_active, flag,
            count, share, loss_parts)


@njit(cache=True, parallel=True)
def _scan_parallel(every, bounds, cand, n_cand, active, n_active, step, seed,
                   weight_kind, weight_param, box, scales, positions, radii, label,
                   start, up, rows, widest, flag, total, count, share, handed,
                   hand_at, n_handed, touched, n_touched, loss_parts, move,
                   factor_kind, scale, spread, factors, built, limit2, moved):
    """Scan every part, then finish each part's new active list and, with
    ``move``, move its spheres in the same loop: a step then waits for the
    other threads twice, not three times. Not for a batch (its draw needs
    every part's list) nor a run's last step (it does not move)."""
    parts = bounds.shape[0] - 1
    for p in prange(parts):
        _scan_part(p, every, bounds, cand, n_cand, step, seed, weight_kind,
                   weight_param, box, scales, positions, radii, label, start, up,
                   rows, widest, flag, total, count, share, handed, hand_at, n_handed,
                   touched, n_touched)
    for p in prange(parts):
        _finish_part(p, every, bounds, cand, n_cand, active, n_active, flag, total,
                     count, share, handed, hand_at, n_handed, touched, n_touched,
                     loss_parts)
        if move:  # a part's finish and move touch only its own spheres
            _move_part(p, bounds[p], factor_kind, scale, spread, seed, step,
                       factors, active, n_active, positions, built, label, box,
                       scales[0], limit2, total, count, share, moved)


@njit(cache=True, parallel=True)
def _move_parallel(bounds, factor_kind, scale, spread, seed, step, factors, active,
                   n_active, positions, built, label, box, v_scale, limit2, total,
                   count, share, moved):
    for p in prange(bounds.shape[0] - 1):
        _move_part(p, bounds[p], factor_kind, scale, spread, seed, step, factors,
                   active, n_active, positions, built, label, box, v_scale, limit2,
                   total, count, share, moved)


@njit(cache=True)
def _advance_kernel(
    positions, radii, label, built, seed, factor_kind, scale, spread, batch_size,
    weight_kind, weight_param, t_start, t_stop, record_every, rec_times,
    rec_active, rec_loss, n_records, fresh, box, side, skin, scales, bounds,
    cell_start, start, up, rows, room, flag, cand, n_cand,
    active, n_active, total, count, share, loss_parts, factors, items,
    item_labels, handed, hand_at, n_handed, touched, n_touched, moved, cross, state,
    scratch,
):
    n = positions.shape[0]
    parts = bounds.shape[0] - 1
    # half the skin, less the rounding of the single-precision positions of
    # the build (2^-24 of the box a coordinate, and the product by the box);
    # at 0, every move rebuilds
    limit = max(0.0, 0.5 * skin * (1.0 - _MARGIN) - 4.0 * box * 2.0**-24)
    limit2 = limit * limit
    t = t_start
    widest = state[0]
    if fresh:  # every sphere is a candidate
        flag[:] = 1
        rows, widest = _build(positions, radii, label, flag, built, box, side,
                              skin, cell_start, start, up, rows, room, bounds,
                              cross, active, scratch, touched)
        handed = _parts_after_build(bounds, flag, cand, n_cand, cross, hand_at,
                                    handed)
    while True:
        n_cands = n_cand.sum()
        every = 2 * n_cands > n  # a sweep of the half list costs less
        parallel = parts > 1 and n_cands >= _PARALLEL_MIN
        fused = parallel and factor_kind != FACTOR_BATCH and t != t_stop
        if parallel:
            _scan_parallel(every, bounds, cand, n_cand, active, n_active, t, seed,
                           weight_kind, weight_param, box, scales, positions, radii,
                           label, start, up, rows, widest, flag, total, count,
                           share, handed, hand_at, n_handed, touched, n_touched,
                           loss_parts, fused, factor_kind, scale, spread, factors,
                           built, limit2, moved)
        else:
            for p in range(parts):
                _scan_part(p, every, bounds, cand, n_cand, t, seed, weight_kind,
                           weight_param, box, scales, positions, radii, label,
                           start, up, rows, widest, flag, total, count, share,
                           handed, hand_at, n_handed, touched, n_touched)
            for p in range(parts):
                _finish_part(p, every, bounds, cand, n_cand, active, n_active,
                             flag, total, count, share, handed, hand_at, n_handed,
                             touched, n_touched, loss_parts)
        actives = n_active.sum()
        absorbed = actives == 0
        loss = 0.0
        if record_due(t, t_stop, record_every, actives):
            loss = loss_from_fixed(loss_parts[:parts, 0].sum(),
                                   loss_parts[:parts, 1].sum(), scales[1])
        n_records = take_record(t, t_stop, record_every, actives, n, loss,
                                rec_times, rec_active, rec_loss, n_records)
        # the active spheres are the next scan's candidates
        cand, active = active, cand
        n_cand, n_active = n_active, n_cand
        if absorbed or t == t_stop:
            # the next call scans this state again from the same candidates
            for p in range(parts):
                _clear_part(p, bounds[p], cand, n_cand, total, count, share)
            state[0] = widest
            return t, n_records, absorbed, rows, handed, cand, active, n_cand, n_active
        if not fused:
            if factor_kind == FACTOR_BATCH:
                m = 0
                for p in range(parts):
                    for a in range(bounds[p], bounds[p] + n_cand[p]):
                        items[m] = cand[a]
                        item_labels[m] = label[np.uint64(cand[a])]
                        m += 1
                _batch_factors(items, item_labels, m, batch_size, scale, seed, t,
                               factors)
            if parts > 1 and actives >= _PARALLEL_MIN:
                _move_parallel(bounds, factor_kind, scale, spread, seed, t,
                               factors, cand, n_cand, positions, built, label, box,
                               scales[0], limit2, total, count, share, moved)
            else:
                for p in range(parts):
                    _move_part(p, bounds[p], factor_kind, scale, spread, seed, t,
                               factors, cand, n_cand, positions, built, label,
                               box, scales[0], limit2, total, count, share, moved)
        t += 1
        if moved[:parts].any():
            # the lists of the last step's candidates, and the positions of
            # the last build (``scratch``), are free: scratch for the
            # renumbering
            rows, widest = _build(positions, radii, label, flag, built, box,
                                  side, skin, cell_start, start, up, rows, room,
                                  bounds, cross, active, scratch, touched)
            handed = _parts_after_build(bounds, flag, cand, n_cand, cross,
                                        hand_at, handed)


class PairEngine(HeldEngine):
    """State of the pair-list engine for one run.

    ``advance`` takes the arguments and returns the values of
    ``dynamics._advance_reference`` (see ``_engine.HeldEngine``). The state
    lives here between calls, so a run split into chunks costs no extra
    full scans.

    Parameters
    ----------
    n : int
        Number of spheres (in 3D; see :func:`eligible`).
    box : float
        Box edge.
    max_contact : float
        Largest contact distance R_i + R_j.
    skin : float, optional
        Skin h in contact distances (default ``DEFAULT_SKIN``). Results do
        not depend on it.
    """

    # Parts of the numbering, one per thread (None: numba's thread count).
    # Results do not depend on it.
    parts = None

    def __init__(self, n, box, max_contact, skin=None):
        skin = DEFAULT_SKIN if skin is None else float(skin)
        self.box = float(box)
        self.skin = skin * max_contact
        self.max_contact = float(max_contact)
        self.side = _side(n, box, max_contact + self.skin)
        self.scales = fixed_scales(n, max_contact)
        self.n = n
        self.label = np.arange(n, dtype=np.int32)
        self.built = np.empty((n, 3), dtype=np.float32)
        self.cell_start = np.empty(self.side**3 + 1, dtype=np.int64)
        # row starts: 4 bytes while the rows (about 11 entries a sphere at
        # phi = 0.6, rarely more than 20) cannot pass 2^31 entries
        self.start = np.empty(n + 1, dtype=np.int32 if n < 2**26 else np.int64)
        self.up = np.empty(n, dtype=np.int32)
        self.rows = np.empty(0, dtype=np.int32)
        self.flag = np.zeros(n, dtype=np.uint8)
        self.cand = np.empty(n, dtype=np.int32)
        self.active = np.empty(n, dtype=np.int32)
        self.total = np.zeros((n, 3), dtype=np.int64)
        self.count = np.zeros(n, dtype=np.uint8)  # 1: has a contact
        self.share = np.zeros(n, dtype=np.int64)
        # n float64 of scratch for the renumbering, in the memory of the
        # build's positions (which it writes only afterwards)
        self.scratch = self.built.reshape(-1)[:2 * n].view(np.float64)
        self.factors = np.zeros(1)
        self.items = np.empty(0, dtype=np.int32)
        self.item_labels = np.empty(0, dtype=np.int32)
        self.touched = np.empty(n, dtype=np.int32)
        self.handed = np.empty((0, 5), dtype=np.int64)
        self.events = np.empty(n, dtype=np.uint8)  # scratch for renumbering
        self.radii = None
        self.bounds = None

    def _prepare(self, positions, radii, per_side, offsets, factor_kind):
        """A fresh start: the kernel numbers the positions at its first
        build (returns True: they are numbered)."""
        n = self.n
        parts = int(self.parts or get_num_threads())
        parts = max(1, min(parts, n))
        self.bounds = np.array([p * n // parts for p in range(parts + 1)],
                               dtype=np.int64)
        self.n_cand = np.zeros(parts, dtype=np.int64)
        self.n_active = np.zeros(parts, dtype=np.int64)
        self.n_handed = np.zeros(parts, dtype=np.int64)
        self.n_touched = np.zeros(parts, dtype=np.int64)
        self.moved = np.zeros(parts, dtype=np.bool_)
        self.cross = np.zeros(parts, dtype=np.int64)
        self.hand_at = np.zeros(parts + 1, dtype=np.int64)
        self.state = np.zeros(1, dtype=np.int64)  # the longest row
        # each part's exact sum of its active spheres' loss shares
        self.loss_parts = np.zeros((parts, 2), dtype=np.int64)
        # room for each part's rows: at first the partners an ideal gas (a
        # random start) would have within the listing distance, and a tenth
        # more; a part that needs more takes a quarter more and lists again
        # (in units of the box: no overflow or underflow at any scale)
        reach = (self.max_contact + self.skin) / self.box
        guess = 1.1 * (n - 1) * 4.0 / 3.0 * np.pi * reach**3 + 1.0
        self.room = (np.diff(self.bounds) * guess).astype(np.int64) + 64
        if factor_kind == FACTOR_BATCH:
            self.factors = np.zeros(n)
            self.items = np.empty(n, dtype=np.int32)
            self.item_labels = np.empty(n, dtype=np.int32)
        self.label[:] = np.arange(n)
        # equal radii need no renumbered copy
        if np.all(radii == radii[0]):
            self.radii = np.array(radii[:1])
        else:
            self.radii = np.array(radii)
        self.total[:] = 0
        self.count[:] = 0
        self.share[:] = 0
        return True

    def _kernel(self, positions, seed, factor_kind, scale, spread, batch_size,
                weight_kind, weight_param, t_start, t_stop, record_every,
                rec_times, rec_active, rec_loss, n_records, fresh):
        (t, n_records, absorbed, self.rows, self.handed, self.cand, self.active,
         self.n_cand, self.n_active) = _advance_kernel(
            positions, self.radii, self.label, self.built, seed, factor_kind,
            scale, spread, batch_size, weight_kind, weight_param, t_start, t_stop,
            record_every, rec_times, rec_active, rec_loss, n_records, fresh,
            self.box, self.side, self.skin, self.scales, self.bounds,
            self.cell_start, self.start, self.up, self.rows, self.room, self.flag,
            self.cand, self.n_cand, self.active, self.n_active,
            self.total, self.count, self.share, self.loss_parts, self.factors,
            self.items, self.item_labels, self.handed, self.hand_at, self.n_handed,
            self.touched, self.n_touched, self.moved, self.cross, self.state,
            self.scratch)
        return t, n_records, absorbed
