"""Structural observables of a packing: the static structure factor.

The structure factor of ``N`` points in a periodic cubic box of edge ``L``
is defined on the wave vectors allowed by the box,
``k = (2 pi / L) m`` with ``m`` a non-zero integer vector:

    S(k) = |sum_j exp(-i k . x_j)|**2 / N.

An ideal gas (independent uniform points) has ``<S(k)> = 1`` at every
``k != 0``; a perfect lattice has Bragg peaks ``S = N`` on its reciprocal
lattice and ``S = 0`` on every other allowed vector. A packing is
*hyperuniform* when ``S(k) -> 0`` as ``|k| -> 0``: long-wavelength density
fluctuations are suppressed.

:func:`wave_vectors` lists the allowed vectors up to a cutoff (one of each
pair ``+k``, ``-k``, since ``S(-k) = S(k)`` for real positions),
:func:`structure_factor_vectors` evaluates ``S`` on given vectors, and
:func:`structure_factor` does both and averages over shells of ``|k|``.

Lengths are in particle diameters, so wave numbers are in inverse
diameters. Every sphere counts once whatever its radius (the number
structure factor); for a mixture this is not the spectral density that
weighs each sphere by its volume.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit, prange

from ._validation import (
    as_real_array, check_dim, check_int, check_real, resolve_seed,
)
from .packing import check_packing

__all__ = [
    "StructureFactor",
    "wave_vectors",
    "structure_factor_vectors",
    "radial_average",
    "structure_factor",
]


# ---------------------------------------------------------------------------
# kernels (plain arrays in, loops only)


@njit(cache=True, parallel=True)
def _sk_kernel(phases, index, out):
    # phases[d, j, m + m_max] = exp(-2 pi i m x_jd / L); index[v] is the
    # integer vector of wave vector v shifted by m_max. Each v writes only
    # its own entry, so the result does not depend on the thread count.
    n_vec, dim = index.shape
    n = phases.shape[1]
    for v in prange(n_vec):
        re = 0.0
        im = 0.0
        for j in range(n):
            z = phases[0, j, index[v, 0]]
            for d in range(1, dim):
                z = z * phases[d, j, index[v, d]]
            re += z.real
            im += z.imag
        out[v] = (re * re + im * im) / n


# ---------------------------------------------------------------------------
# checks


def _as_positions_box(packing, positions, box):
    if packing is not None:
        check_packing(packing)
        if positions is not None or box is not None:
            raise ValueError("give either packing, or positions and box")
        return np.ascontiguousarray(packing.positions), float(packing.box)
    if positions is None or box is None:
        raise ValueError("give either packing, or positions and box")
    box = check_real(box, "box", low=0.0)
    positions = np.ascontiguousarray(as_real_array(positions, "positions", "(n, dim)"))
    if positions.ndim != 2 or positions.shape[0] < 1 or positions.shape[1] < 1:
        raise ValueError(
            f"positions must have shape (n, dim) with n, dim >= 1, "
            f"got {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions must be finite")
    return positions, box


# ---------------------------------------------------------------------------
# public


# Most integer vectors a wave-vector grid may hold (8 bytes a component).
_MAX_GRID_VECTORS = 10**7
# Largest component of a wave vector label, and most phases (16 bytes
# each) structure_factor_vectors tabulates: 1.6 GB at the bound.
_MAX_COMPONENT = 10**6
_MAX_SHELLS = 10**6
_MAX_PHASES = 10**8


def wave_vectors(box, dim, k_max, *, max_vectors=None, seed=None):
    """Integer labels of the allowed wave vectors with ``0 < |k| <= k_max``.

    The allowed vectors of a periodic cubic box of edge ``box`` are
    ``k = (2 pi / box) m``. Only one of ``m`` and ``-m`` is kept (the one
    whose first non-zero component is positive), since ``S(-k) = S(k)``.

    Parameters
    ----------
    box : float
        Edge length of the box, in diameters, > 0.
    dim : int
        Dimension, >= 1.
    k_max : float
        Largest wave number, in inverse diameters, >= ``2 pi / box``.
    max_vectors : int, optional
        Keep at most this many vectors (>= 1), drawn at random without
        replacement; all of them by default. Thins large shells evenly.
    seed : int or numpy.random.Generator, optional
        Seed of that draw.

    Returns
    -------
    ndarray of intp, shape (m, dim)
        The integer vectors ``m``, sorted by ``|m|``.
    """
    box = check_real(box, "box", low=0.0)
    dim = check_dim(dim)
    k_min = 2.0 * math.pi / box
    k_max = check_real(k_max, "k_max", low=k_min, low_open=False)
    if max_vectors is not None:
        max_vectors = check_int(max_vectors, "max_vectors", minimum=1)
    seed = resolve_seed(seed)

    ratio = k_max / k_min  # lengths in units of 2 pi / box: no overflow
    # the grid's size in logarithms: (2 m_max + 1)^dim can have millions of
    # digits
    width = 2.0 * np.floor(ratio + 1e-9) + 1.0  # a float: inf past 1e308
    if dim * math.log(width) > math.log(_MAX_GRID_VECTORS):
        if dim * math.log(3.0) > math.log(_MAX_GRID_VECTORS):
            raise ValueError(
                f"dim={dim} asks for a grid of at least 3^{dim} wave vectors, "
                f"more than {_MAX_GRID_VECTORS}, whatever k_max: wave vectors "
                f"are listed up to dim = "
                f"{int(math.log(_MAX_GRID_VECTORS) / math.log(3.0))}")
        most = k_min * math.floor(0.5 * (_MAX_GRID_VECTORS ** (1 / dim) - 1))
        raise ValueError(
            f"k_max={k_max:.6g} in dim={dim} asks for a grid of about "
            f"10^{dim * math.log10(width):.1f} wave vectors, more than "
            f"{_MAX_GRID_VECTORS}: use k_max <= {most:.6g}")
    m_max = int(math.floor(ratio + 1e-9))
    axis = np.arange(-m_max, m_max + 1, dtype=np.intp)
    grid = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1)
    grid = grid.reshape(-1, dim)
    norm2 = np.sum(grid.astype(np.float64) ** 2, axis=1)
    keep = (norm2 > 0) & (norm2 <= ratio**2 * (1 + 1e-12))
    grid, norm2 = grid[keep], norm2[keep]

    # first non-zero component positive: one of each +m, -m pair
    first = np.argmax(grid != 0, axis=1)
    grid = grid[grid[np.arange(grid.shape[0]), first] > 0]
    norm2 = np.sum(grid.astype(np.float64) ** 2, axis=1)
    order = np.lexsort((*grid.T[::-1], norm2))
    grid = grid[order]
    if max_vectors is not None and grid.shape[0] > max_vectors:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(grid.shape[0], max_vectors, replace=False))
        grid = grid[pick]
    return np.ascontiguousarray(grid, dtype=np.intp)


def structure_factor_vectors(positions, box, vectors):
    """``S(k)`` on given allowed wave vectors.

    ``S(k) = |sum_j exp(-i k . x_j)|**2 / N`` with ``k = (2 pi / box) m``.
    Compiled with numba; vectors are spread over threads, and each result
    is summed by one thread in a fixed order.

    Parameters
    ----------
    positions : array_like, shape (n, dim)
        Centres, in diameters.
    box : float
        Edge length of the periodic box, in diameters, > 0.
    vectors : array_like of int, shape (m, dim)
        Integer labels ``m`` of the wave vectors (from :func:`wave_vectors`).

    Returns
    -------
    ndarray, shape (m,)
        ``S`` at each vector.
    """
    positions, box = _as_positions_box(None, positions, box)
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] != positions.shape[1]:
        raise ValueError(
            f"vectors must have shape (m, {positions.shape[1]}), "
            f"got {vectors.shape}")
    if not np.issubdtype(vectors.dtype, np.integer):
        raise TypeError("vectors must hold integers (multiples of 2 pi / box)")

    out = np.empty(vectors.shape[0])
    if vectors.shape[0] == 0:
        return out
    # as Python integers: abs of the most negative int64 overflows
    m_max = max(-int(vectors.min()), int(vectors.max()))
    if m_max > _MAX_COMPONENT:
        raise ValueError(f"vectors must have components in [-{_MAX_COMPONENT}, "
                         f"{_MAX_COMPONENT}], got one of {m_max} in size")
    tables = positions.size * (2 * m_max + 1)
    if tables > _MAX_PHASES:
        raise ValueError(
            f"vectors up to {m_max} for {positions.shape[0]} points in dim="
            f"{positions.shape[1]} need {tables} phases, more than {_MAX_PHASES}:"
            f" use shorter vectors or fewer points")
    m = np.arange(-m_max, m_max + 1)
    # exp(-2 pi i m x / L) per dimension, once; the kernel multiplies them
    angle = (-2.0 * math.pi / box) * positions.T[:, :, None] * m[None, None, :]
    phases = np.ascontiguousarray(np.exp(1j * angle))
    index = np.ascontiguousarray(vectors + m_max, dtype=np.intp)
    _sk_kernel(phases, index, out)
    return out


def radial_average(k, values, bins):
    """Average values over shells of ``|k|``.

    Parameters
    ----------
    k : array_like, shape (m,)
        Wave numbers ``|k|``.
    values : array_like, shape (m,)
        Values at each (for example ``S(k)``).
    bins : array_like, shape (b + 1,)
        Increasing shell edges; a value lands in ``[edge_i, edge_i+1)``.

    Returns
    -------
    q, mean, sem : ndarray, shape (b',)
        Mean ``|k|``, mean value and its standard error (standard deviation
        over ``sqrt(count)``; ``nan`` for a single vector) of every
        non-empty shell.
    count : ndarray of int, shape (b',)
        Vectors in each shell.
    """
    k = as_real_array(k, "k", "1-D").ravel()
    values = as_real_array(values, "values", "1-D").ravel()
    bins = as_real_array(bins, "bins", "1-D").ravel()
    for name, array in (("k", k), ("values", values), ("bins", bins)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite")
    if k.shape != values.shape:
        raise ValueError(
            f"values must have the same length as k ({k.size}), "
            f"got {values.size}")
    if bins.size < 2 or np.any(np.diff(bins) <= 0):
        raise ValueError("bins must be at least 2 increasing edges")

    which = np.digitize(k, bins) - 1
    inside = (which >= 0) & (which < bins.size - 1)
    which, k, values = which[inside], k[inside], values[inside]
    count = np.bincount(which, minlength=bins.size - 1)
    total = np.bincount(which, values, minlength=bins.size - 1)
    total_k = np.bincount(which, k, minlength=bins.size - 1)
    mean = total / np.maximum(count, 1)
    # squares of the deviations from each shell's mean (two passes: the
    # sum of squares less count * mean^2 loses every digit of a small
    # spread on a large value)
    spread = np.bincount(which, (values - mean[which]) ** 2,
                         minlength=bins.size - 1)
    full = count > 0
    c = count[full].astype(np.float64)
    var = np.where(c > 1, spread[full] / np.maximum(c - 1, 1), np.nan)
    return total_k[full] / c, mean[full], np.sqrt(var) / np.sqrt(c), count[full]


@dataclasses.dataclass(frozen=True)
class StructureFactor:
    """Radially averaged structure factor (see :func:`structure_factor`).

    Attributes
    ----------
    q : ndarray, shape (b,)
        Mean wave number of each shell, in inverse diameters.
    s : ndarray, shape (b,)
        Mean ``S`` over the shell.
    s_err : ndarray, shape (b,)
        Standard error of that mean (``nan`` for a one-vector shell).
    count : ndarray of int, shape (b,)
        Wave vectors in each shell (one of each ``+k``, ``-k`` pair).
    k : ndarray, shape (m,)
        ``|k|`` of every vector used.
    s_k : ndarray, shape (m,)
        ``S`` at every vector used.
    n : int
        Number of points.
    box : float
        Box edge, in diameters.
    """

    q: np.ndarray
    s: np.ndarray
    s_err: np.ndarray
    count: np.ndarray
    k: np.ndarray = dataclasses.field(repr=False)
    s_k: np.ndarray = dataclasses.field(repr=False)
    n: int
    box: float

    def __repr__(self):
        return (f"StructureFactor(n={self.n}, box={self.box:.6g}, "
                f"shells={self.q.size}, q={self.q[0]:.4g}..{self.q[-1]:.4g})")


def structure_factor(packing=None, k_max=None, *, positions=None, box=None,
                     bin_width=None, max_vectors=None, seed=None):
    """Structure factor ``S(q)`` averaged over shells of ``|k|``.

    Evaluates ``S(k) = |sum_j exp(-i k . x_j)|**2 / N`` on every allowed
    wave vector ``k = (2 pi / L) m`` with ``0 < |k| <= k_max`` (or on a
    seeded random subset of ``max_vectors`` of them) and averages over
    shells of width ``bin_width``. The smallest reachable wave number is
    ``2 pi / L``; small-``q`` behaviour therefore needs a large box.

    Parameters
    ----------
    packing : Packing, optional
        The configuration. Alternatively pass ``positions`` and ``box``.
    k_max : float, optional
        Largest wave number, in inverse diameters; default ``2 pi``
        (wavelength one diameter). The first peak of a dense packing of
        unit spheres lies beyond it, near ``k = 7`` to ``7.5``: pass a
        larger ``k_max`` (about 9) to include it.
    positions : array_like, shape (n, dim), optional
        Centres in diameters, with ``box``, instead of ``packing``.
    box : float, optional
        Edge of the periodic box, in diameters.
    bin_width : float, optional
        Shell width, in inverse diameters, in [k_max / 10^6, k_max]; default
        ``2 pi / L``, one spacing of the reciprocal lattice of the box.
    max_vectors : int, optional
        At most this many wave vectors, drawn at random (seeded).
    seed : int or numpy.random.Generator, optional
        Seed of the choice of vectors when ``max_vectors`` thins them.

    Returns
    -------
    StructureFactor
    """
    positions, box = _as_positions_box(packing, positions, box)
    dim = positions.shape[1]
    k_min = 2.0 * math.pi / box
    if k_max is None:
        k_max = max(2.0 * math.pi, k_min)
    k_max = check_real(k_max, "k_max", low=k_min, low_open=False)
    if bin_width is None:
        bin_width = k_min
    # at most _MAX_SHELLS shells: far more than there are wave vectors
    bin_width = check_real(bin_width, "bin_width", low=k_max / _MAX_SHELLS,
                           high=k_max, low_open=False, high_open=False)

    vectors = wave_vectors(box, dim, k_max, max_vectors=max_vectors, seed=seed)
    s_k = structure_factor_vectors(positions, box, vectors)
    k = k_min * np.sqrt(np.sum(vectors.astype(np.float64) ** 2, axis=1))
    # shells centred on multiples of the lattice spacing when bin_width
    # is that spacing: the first holds exactly the vectors with |m| = 1
    start = k_min - 0.5 * bin_width
    edges = start + bin_width * np.arange(
        int(math.ceil((k_max - start) / bin_width)) + 2)
    q, s, s_err, count = radial_average(k, s_k, edges)
    return StructureFactor(q=q, s=s, s_err=s_err, count=count, k=k, s_k=s_k,
                           n=int(positions.shape[0]), box=float(box))
