"""The hinge loss and its gradient (the paper's Eq. 2).

For a pair at minimum-image distance r, U(r) = (R_i + R_j - r) / 2 when
r < R_i + R_j and 0 otherwise; the loss is L = sum over pairs of U. With
n_ij = (x_i - x_j) / r_ij and S_i = sum over overlapping j of n_ij, the
gradient is grad_i L = -S_i / 2: every contact pushes with strength 1/2.

:func:`scan_particle` is the one kernel that visits the overlapping
partners of a sphere. The loss, the gradient, the activity and every
dynamics in :mod:`packing_lite.dynamics` go through it, so they all agree
on what overlaps (r^2 < (R_i + R_j)^2, strictly) and on how contributions
are rounded and added: in fixed point (:func:`fixed_scales`), so that the
sums do not depend on the order in which pairs are visited. The loss itself
is the exact integer sum of the spheres' fixed-point shares
(:func:`add_share`), converted to a float once and then divided by the
share scale (:func:`loss_from_fixed`): it does not depend on the order of
the spheres either. Loss terms are rounded up (:func:`to_fixed_up`), so the
loss is zero exactly when no pair overlaps.
"""

import numpy as np
from numba import njit, prange

from . import _rng
from .neighbors import CellGrid, neighbor_cell
from .packing import check_packing, min_image
from ._validation import as_real_array, check_real, resolve_seed

__all__ = ["hinge_loss", "loss_gradient", "active_mask", "pair_loss"]


@njit(cache=True)
def fixed_scales(n, max_contact):
    """Scales of the fixed-point sums of ``n`` spheres: (vector, share).

    Each contact's weighted unit vector is rounded to a multiple of
    1 / vector scale and each loss term to a multiple of 1 / share scale,
    and a sphere's sums are added up as integers. Integer sums do not depend
    on the order of their terms, so an engine may visit the pairs in any
    order, from either end and on any number of threads, and still give the
    reference's bits. With at most n - 1 contacts of size <= 1 (vectors) or
    <= max_contact / 4 (loss terms), no sum can pass 2**61.
    """
    bits = 1  # of n - 1
    while (1 << bits) < n:
        bits += 1
    vector = 2.0 ** (61 - bits)
    return vector, vector / max_contact


@njit(cache=True, inline="always")
def to_fixed(x, scale):
    """``x`` as an integer multiple of 1 / scale (nearest, ties to even)."""
    return np.int64(np.rint(x * scale))


@njit(cache=True, inline="always")
def to_fixed_up(x, scale):
    """``x`` as the next integer multiple of 1 / scale at or above it: a
    loss term, so that the smallest overlap still counts."""
    return np.int64(np.ceil(x * scale))


@njit(cache=True, inline="always")
def from_fixed(q, scale):
    """The number a fixed-point sum stands for."""
    return np.float64(q) / scale


@njit(cache=True, inline="always")
def add_share(high, low, q):
    """Add a sphere's fixed-point share ``q`` (>= 0) to the exact sum
    high * 2**32 + low. Returns the new (high, low). Each word stays below
    2**63 for fewer than 2**31 shares under 2**63."""
    return high + (q >> 32), low + (q & 0xFFFFFFFF)


@njit(cache=True)
def loss_from_fixed(high, low, scale):
    """The loss that the sum high * 2**32 + low of fixed-point shares stands
    for: the sum rounded once to a float (exactly, while it is below 2**85,
    that is for fewer than about 2**25 spheres all overlapping), then
    divided by the share scale."""
    high += low >> 32
    low &= 0xFFFFFFFF
    return (np.float64(high) * 4294967296.0 + np.float64(low)) / scale


# How the unit vectors of a sphere's contacts are weighted in its sum.
WEIGHT_ONE = 0  # S_i itself
WEIGHT_PAIR_UNIFORM = 1  # one uniform number per pair, shared (reciprocal)
WEIGHT_HALF_PAIR_UNIFORM = 2  # one uniform number per ordered pair
WEIGHT_PAIR_BERNOULLI = 3  # pair kept with probability p, shared by partners


def pair_loss(r, contact=1.0):
    """U(r) = (contact - r) / 2 for r < contact, else 0 (vectorised).

    ``r`` holds centre distances (finite, >= 0) and ``contact`` > 0 is the
    contact distance R_i + R_j.
    """
    contact = check_real(contact, "contact", low=0.0)
    r = as_real_array(r, "r", "scalar or")
    if not np.all(np.isfinite(r) & (r >= 0.0)):
        raise ValueError("r must hold finite distances >= 0 (no NaN)")
    return np.where(r < contact, 0.5 * (contact - r), 0.0)


@njit(cache=True, inline="always")
def _random_direction(seed, step, a, b, sign, out):
    """A random unit vector for a pair at distance 0, times ``sign``."""
    dim = out.shape[0]
    norm2 = 0.0
    for k in range(dim):
        g = _rng.normal(seed, step, a, b, _rng.STREAM_DIRECTION + k)
        out[k] = g
        norm2 += g * g
    norm = np.sqrt(norm2)
    if norm == 0.0:  # probability zero, but never divide by it
        out[:] = 0.0
        out[0] = sign
        return
    for k in range(dim):
        out[k] = sign * out[k] / norm


@njit(cache=True)
def scan_particle(
    i, step, seed, weight_kind, weight_param, positions, radii, box,
    per_side, offsets, cell_of, slots, counts, vec, marks, mark, scales,
):
    """Visit the overlapping partners of sphere ``i``.

    Writes the weighted sum of unit vectors n_ij into ``vec[i]`` and, when
    ``mark`` is true, sets ``marks[j] = 1`` for every partner. Returns the
    number of partners and sphere ``i``'s share of the loss: half of each
    of its pair terms, so that the shares of all spheres add up to L. Both
    sums are taken in fixed point (``scales`` from :func:`fixed_scales`);
    the share is returned as that integer.
    """
    dim = positions.shape[1]
    direction = np.empty(dim)
    total = np.zeros(dim, dtype=np.int64)
    contacts = 0
    share = np.int64(0)
    home = cell_of[i]
    for o in range(offsets.shape[0]):
        c = neighbor_cell(home, offsets[o], per_side, dim)
        for s in range(counts[c]):
            j = slots[c, s]
            if j == i:
                continue
            r2 = 0.0
            for k in range(dim):
                d = min_image(positions[i, k] - positions[j, k], box)
                direction[k] = d
                r2 += d * d
            contact = radii[i] + radii[j]
            if r2 >= contact * contact:
                continue
            low = min(i, j)
            high = max(i, j)
            r = np.sqrt(r2)
            if r2 > 0.0:
                inverse = 1.0 / r  # one division, then products
                for k in range(dim):
                    direction[k] *= inverse
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
                total[k] += to_fixed(weight * direction[k], scales[0])
            contacts += 1
            share += to_fixed_up(0.25 * (contact - r), scales[1])
            if mark:
                marks[j] = 1
    for k in range(dim):
        vec[i, k] = from_fixed(total[k], scales[0])
    return contacts, share


@njit(cache=True, parallel=True)
def scan_all(seed, step, weight_kind, weight_param, positions, radii, box,
             per_side, offsets, cell_of, slots, counts, vec, contacts, shares,
             scales):
    """:func:`scan_particle` for every sphere, in parallel (``shares``:
    int64)."""
    marks = np.empty(0, dtype=np.uint8)
    for i in prange(positions.shape[0]):
        # prange numbers are unsigned: sphere numbers are compared as int64
        contacts[i], shares[i] = scan_particle(
            np.int64(i), step, seed, weight_kind, weight_param, positions, radii, box,
            per_side, offsets, cell_of, slots, counts, vec, marks, False, scales,
        )


def _scan_packing(packing, seed=0):
    check_packing(packing)
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    cell_of, slots, counts = grid.build(packing.positions, packing.box)
    n, dim = packing.n, packing.dim
    vec = np.zeros((n, dim))
    contacts = np.zeros(n, dtype=np.int64)
    shares = np.zeros(n, dtype=np.int64)
    scan_all(
        seed, 0, WEIGHT_ONE, 0.0, packing.positions, packing.radii, packing.box,
        grid.per_side, grid.offsets, cell_of, slots, counts, vec, contacts, shares,
        fixed_scales(n, packing.max_contact),
    )
    return vec, contacts, shares


def hinge_loss(packing):
    """Hinge loss L = sum over overlapping pairs of (R_i + R_j - r) / 2.

    Each pair's term is added up in fixed point, rounded up to a multiple of
    max_contact * 2**(b - 61) (b: the bits of n - 1; 6e-14 of a contact
    distance at n = 100 000) in each partner's half: L is 0 exactly when no
    pair overlaps, above the exact sum by less than two such steps a pair
    before its last rounding to a float, and equal bit for bit to the loss
    a run records.

    Parameters
    ----------
    packing : Packing

    Returns
    -------
    float
        The loss (paper Eq. 2), not normalised: compare sizes with L / n.
    """
    _, _, shares = _scan_packing(packing)
    return float(_total_loss(shares, fixed_scales(packing.n, packing.max_contact)[1]))


@njit(cache=True)
def _total_loss(shares, scale):
    """The loss of fixed-point ``shares``, as every engine adds it up."""
    high = low = np.int64(0)
    for i in range(shares.shape[0]):
        high, low = add_share(high, low, shares[i])
    return loss_from_fixed(high, low, scale)


def loss_gradient(packing, seed=0):
    """Gradient of the hinge loss, grad_i L = -S_i / 2.

    Parameters
    ----------
    packing : Packing
    seed : int, default 0
        Seed of the random direction given to a pair of coincident
        centres, where the gradient is otherwise undefined.

    Returns
    -------
    ndarray, shape (n, dim)
    """
    vec, _, _ = _scan_packing(packing, resolve_seed(seed))
    return -0.5 * vec


def active_mask(packing):
    """(n,) bool: which spheres overlap at least one other."""
    _, contacts, _ = _scan_packing(packing)
    return contacts > 0


def contact_numbers(packing):
    """(n,) int: how many spheres each sphere overlaps."""
    _, contacts, _ = _scan_packing(packing)
    return contacts
