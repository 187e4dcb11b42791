"""Spheres in a periodic box: positions, radii, box size and volume fraction.

This module owns the geometry of the box. Everything that needs a periodic
displacement or a wrapped position calls the two kernels defined here.
Lengths are in particle diameters: the default radius is 0.5.
"""

import math
import os

import numpy as np
from numba import njit

from ._validation import (
    as_real_array, check_dim, check_int, check_n, check_real, resolve_seed,
)

__all__ = ["Packing", "random_packing", "ball_volume", "box_for_phi"]


def ball_volume(dim, radius=1.0):
    """Volume of a ball of ``radius`` in ``dim`` dimensions.

    v_d R^d with v_d = pi^(d/2) / Gamma(d/2 + 1); ``radius`` >= 0.
    """
    dim = check_dim(dim)
    radius = check_real(radius, "radius", low=0.0, low_open=False)
    try:
        return math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * radius**dim
    except OverflowError:  # large dim or radius: the same number via logs
        if radius == 0.0:
            return 0.0
        log_volume = (0.5 * dim * math.log(math.pi) - math.lgamma(dim / 2 + 1)
                      + dim * math.log(radius))
        return math.exp(log_volume) if log_volume < _LOG_LARGEST else math.inf


_LOG_LARGEST = math.log(np.finfo(np.float64).max)


def box_for_phi(radii, phi, dim, counts=None):
    """Edge length of the cubic box that gives volume fraction ``phi``
    (``counts``: how many spheres have each radius, 1 if not given)."""
    counts = 1 if counts is None else np.asarray(counts)
    with np.errstate(over="ignore", under="ignore"):
        volume = float(np.sum(counts * _ball_volumes(radii, dim)))
        if 0.0 < volume < np.inf:
            return (volume / phi) ** (1.0 / dim)
        # a power of a radius left the floats: in units of the largest
        largest = float(np.max(radii))
        volume = float(np.sum(counts * _ball_volumes(np.asarray(radii) / largest,
                                                     dim)))
        return largest * (volume / phi) ** (1.0 / dim)


def _ball_volumes(radii, dim):
    return ball_volume(dim) * np.asarray(radii, dtype=np.float64) ** np.float64(dim)


# Lengths a packing accepts (box and radii): the squares of distances
# between them, summed over the axes, stay normal floating-point numbers.
MIN_LENGTH = 1e-150
MAX_LENGTH = 1e150


class Packing:
    """Spheres in a periodic hypercubic box.

    Parameters
    ----------
    positions : array_like, shape (n, dim)
        Sphere centres, in particle diameters. They are wrapped into
        ``[0, box)`` and stored as a read-only float64 array.
    box : float
        Edge length of the box, in [1e-150, 1e150] and at least twice the
        largest contact distance: ``2 * max(radius) <= box / 2``.
    radius : float or array_like of shape (n,), default 0.5
        One radius for all spheres, or one per sphere, in [1e-150, 1e150]
        (squared distances of longer or shorter lengths overflow or
        underflow). Two spheres overlap when their centre distance is
        below ``R_i + R_j``.

    Raises
    ------
    ValueError
        If a contact distance exceeds half the box (see Notes), or a length
        is outside [1e-150, 1e150].

    Notes
    -----
    Distances use the minimum-image convention: each pair interacts
    through its nearest periodic image only. That counts every overlap
    only when no contact distance ``R_i + R_j`` exceeds half the box, since
    a sphere wider than that overlaps several images of a partner; such
    boxes are refused. A ``Packing`` is immutable; the dynamics return new
    ones.
    """

    __slots__ = ("_positions", "_radius", "_radii", "_box")

    def __init__(self, positions, box, radius=0.5):
        self._take(positions, box, radius, copy=True)

    @classmethod
    def _owning(cls, positions, box, radius):
        """A packing that keeps ``positions`` (float64, C order, nobody
        else's) instead of a copy: one array less at the peak."""
        packing = cls.__new__(cls)
        packing._take(positions, box, radius, copy=False)
        return packing

    def _take(self, positions, box, radius, copy):
        box = check_real(box, "box", low=MIN_LENGTH, high=MAX_LENGTH,
                         low_open=False, high_open=False)
        positions = _as_positions(positions)
        n = positions.shape[0]
        radius, radii = _as_radius(radius, n)
        check_minimum_image(box, radii)

        wrapped = np.ascontiguousarray(positions, dtype=np.float64)
        wrapped = wrap_positions(wrapped.copy() if copy else wrapped, box)
        wrapped.setflags(write=False)
        self._positions = wrapped
        self._radius = radius
        self._radii = radii
        self._box = box

    def __reduce__(self):
        # pickles and deep copies are made through the constructor, so
        # they are checked and read-only like the original
        return (Packing, (self._positions, self._box, self._radius))

    @property
    def positions(self):
        """(n, dim) float64 centres in ``[0, box)``, read-only."""
        return self._positions

    @property
    def radius(self):
        """The radius as given: a float, or a read-only (n,) array."""
        return self._radius

    @property
    def radii(self):
        """(n,) float64 radius of every sphere, read-only."""
        return self._radii

    @property
    def box(self):
        """Edge length of the periodic box."""
        return self._box

    @property
    def n(self):
        """Number of spheres."""
        return self._positions.shape[0]

    @property
    def dim(self):
        """Number of dimensions."""
        return self._positions.shape[1]

    @property
    def phi(self):
        """Volume fraction: total sphere volume over box volume."""
        # radii in units of the box: no overflow or underflow at any scale
        # (0 where the spheres are vanishingly small against the box)
        with np.errstate(under="ignore"):
            return float(np.sum(_ball_volumes(self._radii / self._box, self.dim)))

    @property
    def max_contact(self):
        """Largest contact distance R_i + R_j over all pairs."""
        return 2.0 * float(self._radii.max())

    def copy(self):
        """An independent copy."""
        return Packing(self._positions.copy(), self._box, _copy_radius(self._radius))

    def with_positions(self, positions):
        """A packing with the same box and radii and new ``positions``."""
        return Packing(positions, self._box, _copy_radius(self._radius))

    def cell_order(self):
        """Sphere indices sorted by cell of a grid about one contact
        distance wide: cells in row-major order (the cell along the last
        axis varies fastest), spheres within a cell by index.

        In this order spheres close in space are close in memory, which
        code that walks neighbours benefits from. The dynamics need no
        such labels: their engine numbers the spheres in a similar order
        of its own and runs about as fast whatever the labels.
        """
        # at most n cells a side: no overflow in boxes many orders of
        # magnitude wider than a sphere
        side = int(max(1.0, min(self._box / self.max_contact, self.n)))
        cells = np.minimum((self._positions * (side / self._box)).astype(np.int64),
                           side - 1)
        return np.lexsort(cells.T[::-1])

    def sorted_by_cell(self):
        """The same spheres relabelled in :meth:`cell_order`: sphere k of
        the result is sphere ``cell_order()[k]`` of this packing (with its
        radius).

        A random packing's labels are in the order its centres were drawn,
        so neighbours lie far apart in memory. Runs of the dynamics from the
        two labellings take about the same time (the engine orders the
        spheres by cell itself) and differ sphere by sphere (kicks are
        drawn per label) but have the same statistics.
        """
        order = self.cell_order()
        radius = self._radius
        if np.ndim(radius) != 0:
            radius = np.asarray(radius)[order]
        # the reordered positions are a fresh array: kept, not copied again
        return Packing._owning(self._positions[order], self._box, radius)

    def _adopt(self, positions):
        """:meth:`with_positions` for a C-contiguous float64 array that the
        caller hands over and no longer uses: it is wrapped in place and
        kept, not copied. Radii are shared (both packings are read-only)."""
        new = object.__new__(Packing)
        new._positions = wrap_positions(positions, self._box)
        new._positions.setflags(write=False)
        new._radius = self._radius
        new._radii = self._radii
        new._box = self._box
        return new

    def __eq__(self, other):
        if not isinstance(other, Packing):
            return NotImplemented
        return (
            self._box == other._box
            and np.array_equal(self._positions, other._positions)
            and np.array_equal(self._radii, other._radii)
        )

    __hash__ = None

    def __repr__(self):
        kind = "equal" if np.ndim(self._radius) == 0 else "mixed"
        return (
            f"Packing(n={self.n}, dim={self.dim}, box={self._box:.6g}, "
            f"phi={self.phi:.4f}, radii={kind})"
        )


def _copy_radius(radius):
    return radius if np.ndim(radius) == 0 else np.array(radius)


def check_packing(value, name="packing"):
    """Refuse anything but a :class:`Packing`, naming the parameter."""
    if not isinstance(value, Packing):
        raise TypeError(
            f"{name} must be a packing_lite.Packing, got {type(value).__name__}"
        )


def _as_positions(positions):
    array = as_real_array(positions, "positions", "(n, dim)")
    if array.ndim != 2:
        raise ValueError(
            f"positions must have shape (n, dim) with n >= 2 and dim >= 1, "
            f"got an array with {array.ndim} dimension(s)"
        )
    n, dim = array.shape
    if n < 2 or dim < 1:
        raise ValueError(
            f"positions must have shape (n, dim) with n >= 2 and dim >= 1, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("positions must be finite (no NaN or infinity)")
    return array


def _as_radius(radius, n):
    if np.ndim(radius) == 0:
        value = check_real(radius, "radius", low=MIN_LENGTH, high=MAX_LENGTH,
                           low_open=False, high_open=False)
        radii = np.full(n, value)
        radii.setflags(write=False)
        return value, radii
    radii = np.array(as_real_array(radius, "radius", f"({n},)"))
    if radii.shape != (n,):
        raise ValueError(
            f"radius must be a number or an array of shape ({n},), got shape "
            f"{radii.shape}"
        )
    inside = (radii >= MIN_LENGTH) & (radii <= MAX_LENGTH)
    if not np.all(inside):
        raise ValueError(
            f"radius must be finite and in [{MIN_LENGTH:g}, {MAX_LENGTH:g}] for "
            f"every sphere (squared distances of other lengths overflow or "
            f"underflow), got {radii[~inside][0]:g} for sphere "
            f"{int(np.argmin(inside))}")
    radii.setflags(write=False)
    return radii, radii


def check_minimum_image(box, radii, advice="a larger box or smaller radii"):
    """Refuse a box narrower than twice the largest contact distance.

    The minimum-image convention counts every overlap only when the
    contact distance ``2 * max(radii)`` is at most ``box / 2``.
    """
    contact = 2.0 * float(np.max(radii))
    if contact > 0.5 * box:
        raise ValueError(
            f"radius and box: the contact distance 2 * max radius = "
            f"{contact:.6g} must be at most box / 2 = {0.5 * box:.6g}, or "
            f"the minimum-image convention misses overlaps with further "
            f"images; use {advice} (box >= {2.0 * contact:.6g})"
        )


def random_packing(n, phi, dim=3, seed=None, radius=0.5):
    """Independent uniform random centres at volume fraction ``phi``.

    Parameters
    ----------
    n : int
        Number of spheres, in [2, 2**31 - 1] (the engine indexes spheres
        with 32-bit integers).
    phi : float
        Volume fraction in (0, 1); the box edge is chosen to give it.
    dim : int, default 3
        Number of dimensions, >= 1.
    seed : int, numpy.random.Generator or None
        Seed of the positions.
    radius : float or array_like of shape (n,), default 0.5
        Sphere radius (in diameters of a unit sphere) or one per sphere,
        in [1e-150, 1e150].

    Returns
    -------
    Packing
        Overlaps are allowed: this is the initial state of BRO and SGD.

    Raises
    ------
    ValueError
        If the box that gives ``phi`` is narrower than twice the largest
        contact distance (see :class:`Packing`): too few spheres for
        ``phi`` and ``dim``; add spheres or lower ``phi``. Also if that
        box lies outside [1e-150, 1e150].
    """
    n = check_n(n)
    phi = check_real(phi, "phi", low=0.0, high=1.0)
    dim = check_dim(dim)
    message = check_memory(n, dim)
    radius, radii = _as_radius(radius, n)
    rng = np.random.default_rng(resolve_seed(seed))

    box = box_for_phi(radii, phi, dim)  # it keeps its own overflows quiet
    if not MIN_LENGTH <= box <= MAX_LENGTH:
        raise ValueError(
            f"radius, dim and phi={phi} give a box edge of {box}, outside "
            f"[{MIN_LENGTH:g}, {MAX_LENGTH:g}] (where squared distances stay "
            f"finite and non-zero): choose a radius nearer 1, a smaller dim or "
            f"a larger phi"
        )
    check_minimum_image(
        box, radii, f"more spheres than n={n} or a lower phi (dim={dim} gives "
        f"a box edge of {box:.6g})")
    try:
        positions = rng.uniform(0.0, box, size=(n, dim))
    except MemoryError:
        raise MemoryError(message) from None
    return Packing._owning(positions, box, radius)


def check_memory(n, dim, per_sphere=None,
                 what="their positions, radii and one temporary copy"):
    """Refuse ``n`` spheres in ``dim`` dimensions that cannot fit in this
    machine's memory; returns the message for a later failed allocation.

    Linux may promise more memory than it has and kill the process later
    instead of failing the allocation, so the check comes before anything
    of size n exists. ``per_sphere`` bytes are needed for each sphere
    (default: positions, radii and one temporary), ``what`` says for what.
    """
    if per_sphere is None:
        per_sphere = 8 * (dim + 2)
    message = (f"n={n} spheres in dim={dim} need {per_sphere * n / 2**30:.3g} "
               f"GiB for {what}: choose a smaller n")
    memory = _physical_memory()
    if memory is not None and per_sphere * n > memory:
        raise MemoryError(f"{message} (this machine has "
                          f"{memory / 2**30:.3g} GiB)")
    return message


def _physical_memory():
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


@njit(cache=True)
def wrap_positions(positions, box):
    """Wrap every coordinate into [0, box) in place and return the array."""
    n, dim = positions.shape
    for i in range(n):
        for k in range(dim):
            positions[i, k] = wrap(positions[i, k], box)
    return positions


@njit(cache=True, inline="always")
def wrap(x, box):
    """One coordinate wrapped into [0, box)."""
    if 0.0 <= x < box:  # the common case: already inside, left untouched
        return x
    y = x - box * np.floor(x / box)
    if y < 0.0:  # x / box underflowed to -0.0
        y += box
    if y >= box:  # a tiny negative x rounds up to box
        y = 0.0
    if not 0.0 <= y < box:  # |x| above ~1e16 box: the product lost the
        y = np.fmod(x, box)  # remainder (and y left the box); fmod is exact
        if y < 0.0:
            y += box
        if y >= box:
            y = 0.0
    return y


@njit(cache=True, inline="always")
def min_image(dx, box):
    """Minimum-image component of a displacement along one axis."""
    return dx - box * np.rint(dx / box)


@njit(cache=True, inline="always")
def image_from(x0, x1, x2, positions, j, box, inverse_box):
    """Image vector in 3D from sphere j to the point (x0, x1, x2), by a
    product with ``inverse_box`` where :func:`min_image` divides: the two
    agree for every pair closer than half the box, the only ones that can
    overlap."""
    d0 = x0 - positions[j, 0]
    d0 -= box * np.rint(d0 * inverse_box)
    d1 = x1 - positions[j, 1]
    d1 -= box * np.rint(d1 * inverse_box)
    d2 = x2 - positions[j, 2]
    d2 -= box * np.rint(d2 * inverse_box)
    return d0, d1, d2
