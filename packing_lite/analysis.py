"""Measuring the absorbing transition: steady states, times, phi_c, scaling.

Everything here works on plain arrays, so it applies equally to one run's
record (``RunResult.times`` and ``RunResult.active_fraction``), to the tidy
tables that :func:`packing_lite.sweep.run_sweep` returns, and to synthetic
data in tests. The functions fall in four groups.

Steady state of one run
    :func:`block_error`, :func:`steady_state`, :func:`relaxation_time` and
    :func:`summarize_run`. An absorbed run has steady activity ``f_a = 0``
    and relaxation time equal to its absorption step.
Averages over independent seeds
    :func:`ensemble_mean`.
The critical point
    :func:`fit_critical_point` (power law above the transition, with
    covariance errors), :func:`bootstrap_critical_point` (errors from
    resampling seeds), :func:`phi_c_half_absorbed` (the volume fraction at
    which half of the runs absorb within a given number of steps) and
    :func:`extrapolate_to_zero` (``phi_c`` at vanishing kick size or
    learning rate).
Finite-size scaling
    :data:`EXPONENT_SETS`, :func:`exponent_set`, :func:`scaling_powers`,
    :func:`rescale_activity`, :func:`rescale_tau`, :func:`collapse_quality`
    and :func:`fit_collapse`.

Times are counted in steps of the dynamics; volume fractions are plain
numbers; nothing here depends on the length unit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import warnings
from typing import NamedTuple

import numpy as np

from ._validation import as_real_array, check_dim, check_flag
from ._validation import check_int as _check_int
from ._validation import check_real

# scipy is imported where it is used: ``import packing_lite`` then takes
# about half the time (a chapter or a run that needs no fit never loads it).

__all__ = [
    "EXPONENT_SETS",
    "ExponentSet",
    "SteadyState",
    "CriticalFit",
    "BootstrapFit",
    "HalfAbsorbed",
    "LinearExtrapolation",
    "ScalingPowers",
    "CollapseFit",
    "block_error",
    "steady_state",
    "relaxation_time",
    "summarize_run",
    "ensemble_mean",
    "fit_critical_point",
    "bootstrap_critical_point",
    "phi_c_half_absorbed",
    "extrapolate_to_zero",
    "exponent_set",
    "scaling_powers",
    "rescale_activity",
    "rescale_tau",
    "collapse_quality",
    "fit_collapse",
]

TAU_METHODS = ("reach", "area")

# Largest fixed exponent beta a fit takes, and most grid points of a
# collapse scan (each point rescales and compares every curve).
_MAX_BETA = 50.0
_MAX_GRID = 10**6
# Widest moving average of the "reach" relaxation time, in records.
_MAX_SMOOTH = 2**31


# ---------------------------------------------------------------------------
# input checks (local: messages name the parameter and the allowed range)


def _as_1d(values, name, *, min_size=1, finite=True):
    arr = np.ascontiguousarray(as_real_array(values, name, "1-D"))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(
            f"{name} must hold at least {min_size} values, got {arr.size}"
        )
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr


def _flag_or_none(value, name):
    return None if value is None else check_flag(value, name)


def _reals(value, name, count, what):
    """``value`` as a tuple of ``count`` finite reals; ``what`` describes
    them in the error."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(
            value) != count:
        raise TypeError(f"{name} must be {what}, got {value!r}")
    return tuple(check_real(v, name) for v in value)


def _interval_pair(value, name):
    """``value`` as an increasing pair of finite reals (lo, hi)."""
    lo, hi = _reals(value, name, 2, "a pair (low, high) of real numbers")
    if not lo < hi:
        raise ValueError(f"{name} must be increasing, got {value!r}")
    return lo, hi


def _same_length(*pairs):
    first_name, first = pairs[0]
    for name, arr in pairs[1:]:
        if arr is not None and arr.shape != first.shape:
            raise ValueError(
                f"{name} must have the same length as {first_name} "
                f"({first.size}), got {arr.size}"
            )


# Analysis intervals are closed unless a caller says otherwise.
_check_real = functools.partial(check_real, low_open=False, high_open=False)


def _check_times(times, f_a):
    times = _as_1d(times, "times")
    f_a = _as_1d(f_a, "f_a")
    _same_length(("times", times), ("f_a", f_a))
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    if np.any(f_a < 0) or np.any(f_a > 1):
        raise ValueError("f_a must lie in [0, 1]")
    return times, f_a


# ---------------------------------------------------------------------------
# one run


def block_error(x, n_blocks=8):
    """Standard error of the mean of a correlated series by block averaging.

    The series is cut into ``n_blocks`` contiguous blocks of equal length
    (the earliest ``len(x) % n_blocks`` samples are dropped) and the error
    is the standard deviation of the block means over ``sqrt(n_blocks)``.
    When the blocks are much longer than the autocorrelation time their
    means are nearly independent, so the estimate accounts for
    correlations that the naive ``std / sqrt(len(x))`` ignores.

    Parameters
    ----------
    x : array_like, shape (n,)
        The series, equally spaced in time.
    n_blocks : int, optional
        Number of blocks, at least 2. With fewer samples than blocks each
        sample is its own block (the naive error).

    Returns
    -------
    float
        The error of ``mean(x)``; ``nan`` when ``x`` has a single value.
    """
    x = _as_1d(x, "x")
    n_blocks = _check_int(n_blocks, "n_blocks", 2)

    if x.size < 2:
        return math.nan
    n_blocks = min(n_blocks, x.size)
    length = x.size // n_blocks
    means = x[x.size - n_blocks * length:].reshape(n_blocks, length).mean(axis=1)
    return float(np.std(means, ddof=1) / math.sqrt(n_blocks))


@dataclasses.dataclass(frozen=True)
class SteadyState:
    """Steady-state activity of one run (see :func:`steady_state`).

    Attributes
    ----------
    f_a : float
        Mean active fraction over the steady window (0 if absorbed).
    f_a_err : float
        Its block-averaged standard error (0 if absorbed).
    steady : bool
        Whether the window passed the drift test (always true if absorbed).
    absorbed : bool
        Whether the run reached the absorbing state.
    start : float
        First time in the steady window (the absorption time if absorbed).
    drift : float
        Mean of the later half of the window minus mean of the earlier.
    drift_err : float
        Standard error of ``drift``.
    n_samples : int
        Number of records in the window.
    """

    f_a: float
    f_a_err: float
    steady: bool
    absorbed: bool
    start: float
    drift: float
    drift_err: float
    n_samples: int


def _infer_absorbed(f_a, absorbed):
    # A run stops at the absorbing state and always records that step, so
    # a final activity of exactly zero means it was absorbed.
    if absorbed is None:
        return bool(f_a[-1] == 0.0)
    absorbed = check_flag(absorbed, "absorbed")
    if absorbed and f_a[-1] != 0.0:
        raise ValueError(f"absorbed is True, but the last record has f_a = "
                         f"{f_a[-1]}: an absorbed run ends with no sphere active")
    return absorbed


def steady_state(times, f_a, *, absorbed=None, window=0.5, n_blocks=8,
                 n_sigma=2.0, atol=0.0, min_samples=8):
    """Steady-state active fraction of one run, and whether it was reached.

    Rule. The steady window is the last ``window`` fraction of the run in
    time (records with ``t >= t_last - window * (t_last - t_first)``). It
    is cut into ``n_blocks`` blocks of equal length (rounded down to an
    even number, dropping the earliest records that do not fill a block).
    The drift is the mean of the later half of the block means minus the
    mean of the earlier half; its standard error comes from the spread of
    the block means about their own half's mean (a two-sample t-test with
    ``n_blocks - 2`` degrees of freedom). The run is called steady when
    ``|drift| <= n_sigma * drift_err + atol``. The steady value is the mean
    over the whole window and its error the :func:`block_error` of the
    window. An absorbed run has ``f_a = 0`` with zero error and counts as
    steady.

    With ``n_sigma = 2`` and 8 blocks a truly stationary run is called
    unsteady about 9 % of the time, and more often when the blocks are
    not much longer than the autocorrelation time of ``f_a``: a high
    unsteady fraction over seeds means the runs are too short.

    Parameters
    ----------
    times : array_like, shape (n,)
        Recorded steps, strictly increasing (``RunResult.times``).
    f_a : array_like, shape (n,)
        Active fraction at those steps, in [0, 1].
    absorbed : bool, optional
        Whether the run was absorbed. By default a run whose last recorded
        activity is exactly zero is taken as absorbed.
    window : float, optional
        Fraction of the run, in (0, 1], used as the steady window.
    n_blocks : int, optional
        Blocks in the window, at least 4 (odd numbers are rounded down for
        the drift test).
    n_sigma : float, optional
        Allowed drift in standard errors, >= 0.
    atol : float, optional
        Extra absolute allowance for the drift, >= 0.
    min_samples : int, optional
        Fewest records in the window, at least 4; a shorter window is
        never called steady.

    Returns
    -------
    SteadyState
        The value, its error and the outcome of the drift test.
    """
    times, f_a = _check_times(times, f_a)
    window = _check_real(window, "window", 0.0, 1.0, low_open=True)
    n_blocks = _check_int(n_blocks, "n_blocks", 4)
    n_sigma = _check_real(n_sigma, "n_sigma", 0.0)
    atol = _check_real(atol, "atol", 0.0)
    min_samples = _check_int(min_samples, "min_samples", 4)

    if _infer_absorbed(f_a, absorbed):
        return SteadyState(0.0, 0.0, True, True, float(times[-1]), 0.0, 0.0, 0)

    start = times[-1] - window * (times[-1] - times[0])
    tail = f_a[times >= start]
    if tail.size < 2:
        return SteadyState(float(tail.mean()), math.nan, False, False,
                           float(times[-1]), math.nan, math.nan, tail.size)
    # two-sample t-test on block means: blocks are long enough to be nearly
    # independent, and the spread is estimated within each half so that a
    # drift does not inflate its own error
    k = min(n_blocks, tail.size) // 2 * 2
    length = tail.size // k
    means = tail[tail.size - k * length:].reshape(k, length).mean(axis=1)
    first, second = means[:k // 2], means[k // 2:]
    drift = float(second.mean() - first.mean())
    if k >= 4:
        pooled = (np.sum((first - first.mean()) ** 2)
                  + np.sum((second - second.mean()) ** 2)) / (k - 2)
        drift_err = math.sqrt(pooled * 4.0 / k)
    else:
        drift_err = math.nan
    steady = (tail.size >= min_samples and math.isfinite(drift_err)
              and abs(drift) <= n_sigma * drift_err + atol)
    return SteadyState(
        f_a=float(tail.mean()),
        f_a_err=block_error(tail, n_blocks),
        steady=bool(steady),
        absorbed=False,
        start=float(times[times >= start][0]),
        drift=drift,
        drift_err=float(drift_err),
        n_samples=int(tail.size),
    )


def relaxation_time(times, f_a, *, method="reach", absorbed=None, steady=None,
                    rtol=0.1, smooth=5, **steady_kwargs):
    """Relaxation time of one run, by one of two definitions.

    Below the transition a run is absorbed and, for both methods, its
    relaxation time is the absorption step. Above it the run settles at a
    steady activity ``f_ss`` (from :func:`steady_state`), and:

    ``"reach"``
        the first recorded time at which the activity, smoothed by a
        centred moving average over ``smooth`` records, comes within a
        relative tolerance of the steady value,
        ``f_a(t) <= (1 + rtol) * f_ss``;
    ``"area"``
        the area between the activity and its steady value, up to the start
        of the steady window, in units of the steady value,
        ``tau = int (f_a(t) - f_ss) dt / f_ss`` (trapezoid rule).

    Far above the transition the activity may start within the tolerance
    of its steady value; ``"reach"`` is then 0.

    Both scale like the correlation time near the transition: with
    ``f_a(t) = t**(-alpha) F(t / tau)`` and ``f_ss ~ tau**(-alpha)``, each
    is ``tau`` times a number that does not depend on the distance to the
    critical point. A fixed fraction of the decay from ``f_a(0)`` (a 1/e
    time) would not, because near ``phi_c`` it is reached during the
    initial power-law decay.

    Parameters
    ----------
    times, f_a : array_like, shape (n,)
        The run's record, as for :func:`steady_state`.
    method : {"reach", "area"}, optional
        Which definition to use.
    absorbed : bool, optional
        Whether the run was absorbed (inferred from the last record by
        default).
    steady : SteadyState, optional
        A precomputed steady state; computed with ``steady_kwargs`` if not
        given.
    rtol : float, optional
        Relative tolerance of ``"reach"``, > 0.
    smooth : int, optional
        Width in records of the moving average of ``"reach"``, >= 1.
    **steady_kwargs
        Passed to :func:`steady_state`.

    Returns
    -------
    float
        The relaxation time in steps; ``nan`` if it is undefined (the
        smoothed activity never reaches the tolerance, or ``f_ss`` is 0
        without absorption).
    """
    times, f_a = _check_times(times, f_a)
    if method not in TAU_METHODS:
        raise ValueError(f"method must be one of {TAU_METHODS}, got {method!r}")
    rtol = _check_real(rtol, "rtol", 0.0, low_open=True)
    smooth = _check_int(smooth, "smooth", 1, _MAX_SMOOTH)

    if steady is not None and not isinstance(steady, SteadyState):
        raise TypeError(f"steady must be a SteadyState from steady_state() or "
                        f"None, got {type(steady).__name__}")
    if steady is None:
        steady = steady_state(times, f_a, absorbed=absorbed, **steady_kwargs)
    if steady.absorbed:
        return float(times[-1])
    f_ss = steady.f_a
    if not f_ss > 0:
        return math.nan

    if method == "reach":
        from scipy import ndimage
        smoothed = ndimage.uniform_filter1d(f_a, size=smooth, mode="nearest")
        hits = np.flatnonzero(smoothed <= (1.0 + rtol) * f_ss)
        return float(times[hits[0]]) if hits.size else math.nan

    upto = times <= steady.start
    if upto.sum() < 2:
        return 0.0
    excess = f_a[upto] - f_ss
    from scipy import integrate
    return float(integrate.trapezoid(excess, times[upto]) / f_ss)


def summarize_run(times, f_a, *, absorbed=None, steady_kwargs=None, rtol=0.1,
                  smooth=5):
    """Steady state and both relaxation times of one run, as a dict.

    Parameters
    ----------
    times, f_a : array_like, shape (n,)
        The run's record, as for :func:`steady_state`.
    absorbed : bool, optional
        Whether the run was absorbed (inferred from the last record by
        default).
    steady_kwargs : dict, optional
        Options of :func:`steady_state`.
    rtol, smooth : optional
        Options of the ``"reach"`` relaxation time.

    Returns
    -------
    dict
        ``f_a``, ``f_a_err``, ``steady``, ``absorbed``, ``absorption_time``
        (``nan`` unless absorbed), ``tau_reach`` and ``tau_area``.
    """
    steady_kwargs = dict(steady_kwargs or {})
    state = steady_state(times, f_a, absorbed=absorbed, **steady_kwargs)
    times = np.asarray(times, dtype=np.float64)
    return {
        "f_a": state.f_a,
        "f_a_err": state.f_a_err,
        "steady": state.steady,
        "absorbed": state.absorbed,
        "absorption_time": float(times[-1]) if state.absorbed else math.nan,
        "tau_reach": relaxation_time(times, f_a, method="reach", steady=state,
                                     rtol=rtol, smooth=smooth),
        "tau_area": relaxation_time(times, f_a, method="area", steady=state),
    }


# ---------------------------------------------------------------------------
# seeds


def ensemble_mean(values, errors=None):
    """Mean over independent runs and its standard error.

    The error is the sample standard deviation over ``sqrt(n)``, which
    already contains each run's own time noise. With a single run the
    error is that run's own error if given, else ``nan``. Absorbed runs
    enter with ``f_a = 0``; ``nan`` values (undefined times) are ignored.

    Parameters
    ----------
    values : array_like, shape (n,)
        One value per run.
    errors : array_like, shape (n,), optional
        Each run's own error, used only when one run is left.

    Returns
    -------
    mean, error : float
    """
    values = _as_1d(values, "values", finite=False)
    if errors is not None:
        errors = _as_1d(errors, "errors", finite=False)
        _same_length(("values", values), ("errors", errors))
        if np.any(errors < 0):
            raise ValueError("errors must be >= 0 (or nan)")

    keep = np.isfinite(values)
    v = values[keep]
    if v.size == 0:
        return math.nan, math.nan
    if v.size == 1:
        err = float(errors[keep][0]) if errors is not None else math.nan
        return float(v[0]), err
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


# ---------------------------------------------------------------------------
# the critical point


@dataclasses.dataclass(frozen=True)
class CriticalFit:
    """Fit of ``f_a = A (phi - phi_c)**beta`` (see :func:`fit_critical_point`).

    Attributes
    ----------
    phi_c, phi_c_err : float
        Critical volume fraction and its standard error.
    beta, beta_err : float
        Exponent and its error (``beta_err = 0`` when beta was fixed).
    amplitude, amplitude_err : float
        Prefactor ``A`` and its error.
    cov : ndarray, shape (3, 3)
        Covariance of ``(amplitude, phi_c, beta)``; zero row and column for
        a fixed beta.
    chi2 : float
        Sum of squared (weighted) residuals.
    dof : int
        Points minus free parameters.
    n_points : int
        Points used.
    beta_fixed : bool
        Whether beta was held fixed.
    at_limit : tuple of str
        Parameters (``"amplitude"``, ``"phi_c"``, ``"beta"``) that ended on
        a limit of their range: the data do not pin them down, and a fit
        with any is not a measurement (it warns as well).
    """

    phi_c: float
    phi_c_err: float
    beta: float
    beta_err: float
    amplitude: float
    amplitude_err: float
    cov: np.ndarray = dataclasses.field(repr=False)
    chi2: float
    dof: int
    n_points: int
    beta_fixed: bool
    at_limit: tuple = ()


def _power_law(phi, amplitude, phi_c, beta):
    return amplitude * np.clip(phi - phi_c, 0.0, None) ** beta


def _initial_guess(phi, f_a, beta):
    pos = f_a > 0
    lowest = phi[pos].min()
    beta0 = 1.0 if beta is None else beta
    if pos.sum() >= 2 and np.ptp(phi[pos]) > 0:
        # f_a**(1/beta) is linear in phi for the model; its root is phi_c.
        slope, icept = np.polyfit(phi[pos], f_a[pos] ** (1.0 / beta0), 1)
        phi_c0 = -icept / slope if slope > 0 else lowest
    else:
        phi_c0 = lowest
    span = max(np.ptp(phi), 1e-3)
    phi_c0 = min(phi_c0, lowest - 1e-3 * span)
    phi_c0 = max(phi_c0, phi.min() - span)
    amp0 = f_a.max() / max(phi.max() - phi_c0, 1e-12) ** beta0
    return amp0, phi_c0, beta0


def fit_critical_point(phi, f_a, f_a_err=None, *, beta=None, phi_range=None,
                       p0=None, absolute_sigma=None):
    """Fit the steady activity near the transition to a power law.

    The model is ``f_a = A * max(phi - phi_c, 0)**beta`` (paper, critical
    behaviour of SGD), fitted by nonlinear least squares
    (:func:`scipy.optimize.curve_fit`, trust-region reflective, with
    ``A > 0``, ``0.05 <= beta <= 5`` and ``phi_c`` below the largest
    ``phi``). Absorbed points (``f_a = 0``) may be included: the model is
    zero below ``phi_c``, so they bound ``phi_c`` from below. Choose the
    points close to the transition, where the power law holds, with
    ``phi_range``.

    Parameters
    ----------
    phi : array_like, shape (n,)
        Volume fractions.
    f_a : array_like, shape (n,)
        Steady active fractions, in [0, 1], at least one positive.
    f_a_err : array_like, shape (n,), optional
        Standard errors of ``f_a``. Zero errors (absorbed points) are
        replaced by the smallest positive error. Without errors all points
        weigh the same and the covariance is scaled by ``chi2 / dof``.
    beta : float, optional
        Hold the exponent fixed at this value (> 0); free by default.
    phi_range : (float, float), optional
        Use only points with ``phi_range[0] <= phi <= phi_range[1]``.
    p0 : (float, float, float), optional
        Starting ``(A, phi_c, beta)``; a guess from the data by default.
    absolute_sigma : bool, optional
        Whether ``f_a_err`` are absolute errors (default: true when they
        are given). If false the covariance is scaled by ``chi2 / dof``.

    Returns
    -------
    CriticalFit
        Parameters, standard errors from the covariance, and chi-squared.

    Notes
    -----
    The covariance errors come from linearising the model at the optimum.
    Close to ``phi_c`` the model is strongly nonlinear in ``phi_c`` and
    ``beta`` (the two are correlated), and on synthetic data with a grid
    starting just above ``phi_c`` these errors come out about 20-30 %
    too small. :func:`bootstrap_critical_point` does not rely on the
    linearisation.
    """
    phi = _as_1d(phi, "phi")
    f_a = _as_1d(f_a, "f_a")
    _same_length(("phi", phi), ("f_a", f_a))
    if f_a_err is not None:
        f_a_err = _as_1d(f_a_err, "f_a_err")
        _same_length(("phi", phi), ("f_a_err", f_a_err))
        if np.any(f_a_err < 0):
            raise ValueError("f_a_err must be >= 0")
    if beta is not None:
        beta = _check_real(beta, "beta", 0.0, _MAX_BETA, low_open=True,
                           high_open=False)
    absolute_sigma = _flag_or_none(absolute_sigma, "absolute_sigma")
    if p0 is not None:
        p0 = _reals(p0, "p0", 3, "three real numbers (amplitude, phi_c, beta)")
    if phi_range is not None:
        lo, hi = _interval_pair(phi_range, "phi_range")
        keep = (phi >= lo) & (phi <= hi)
        phi, f_a = phi[keep], f_a[keep]
        f_a_err = None if f_a_err is None else f_a_err[keep]
    n_free = 2 if beta is not None else 3
    distinct = np.unique(phi).size
    if distinct <= n_free:
        raise ValueError(
            f"need more than {n_free} distinct volume fractions to fit, got "
            f"{distinct} (check phi_range)"
        )
    if np.any(f_a < 0) or np.any(f_a > 1):
        raise ValueError("f_a must lie in [0, 1]")
    if not np.any(f_a > 0):
        raise ValueError("f_a must have at least one positive value to fit")

    sigma = None
    if f_a_err is not None:
        positive = f_a_err[f_a_err > 0]
        if positive.size == 0:
            raise ValueError("f_a_err must have at least one positive value")
        sigma = np.where(f_a_err > 0, f_a_err, positive.min())
    if absolute_sigma is None:
        absolute_sigma = sigma is not None
    if p0 is None:
        p0 = _initial_guess(phi, f_a, beta)
    amp0, phi_c0, beta0 = (float(v) for v in p0)
    span = max(np.ptp(phi), 1e-3)
    lo_c, hi_c = phi.min() - span, phi.max()
    phi_c0 = min(max(phi_c0, lo_c + 1e-9 * span), hi_c - 1e-9 * span)

    if beta is None:
        model = _power_law
        start = [max(amp0, 1e-12), phi_c0, min(max(beta0, 0.06), 4.9)]
        bounds = ([0.0, lo_c, 0.05], [np.inf, hi_c, 5.0])
    else:
        def model(x, amplitude, phi_c):
            return _power_law(x, amplitude, phi_c, beta)
        start = [max(amp0, 1e-12), phi_c0]
        bounds = ([0.0, lo_c], [np.inf, hi_c])

    with warnings.catch_warnings():
        from scipy import optimize
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        popt, pcov = optimize.curve_fit(
            model, phi, f_a, p0=start, sigma=sigma,
            absolute_sigma=bool(absolute_sigma), bounds=bounds,
            method="trf", max_nfev=20000,
        )
    lows, highs = np.array(bounds[0]), np.array(bounds[1])
    width = np.where(np.isfinite(highs), highs - lows, 1.0)
    stuck = np.flatnonzero((popt - lows <= 1e-6 * width)
                           | (highs - popt <= 1e-6 * width))
    stuck = tuple(("amplitude", "phi_c", "beta")[k] for k in stuck)
    if stuck:
        warnings.warn(
            f"fit_critical_point: {' and '.join(stuck)} ended on the limit of "
            f"its range, so the fit has not found a power law in these points "
            f"(choose points closer to the transition with phi_range)",
            RuntimeWarning, stacklevel=2)
    resid = f_a - model(phi, *popt)
    if sigma is not None:
        resid = resid / sigma
    chi2 = float(resid @ resid)
    cov = np.zeros((3, 3))
    cov[:n_free, :n_free] = pcov
    errs = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return CriticalFit(
        phi_c=float(popt[1]),
        phi_c_err=float(errs[1]),
        beta=float(popt[2]) if beta is None else beta,
        beta_err=float(errs[2]),
        amplitude=float(popt[0]),
        amplitude_err=float(errs[0]),
        cov=cov,
        chi2=chi2,
        dof=int(phi.size - n_free),
        n_points=int(phi.size),
        beta_fixed=beta is not None,
        at_limit=stuck,
    )


@dataclasses.dataclass(frozen=True)
class BootstrapFit:
    """Critical point with errors from resampling seeds.

    Attributes
    ----------
    phi_c, phi_c_err : float
        The fit to the full data and the bootstrap standard deviation.
    beta, beta_err : float
        Likewise for the exponent (error 0 when it was fixed).
    fit : CriticalFit
        The fit to the full data.
    samples : ndarray, shape (n_ok, 3)
        ``(amplitude, phi_c, beta)`` of each successful resample.
    n_failed : int
        Resamples whose fit failed (left out of ``samples``).
    """

    phi_c: float
    phi_c_err: float
    beta: float
    beta_err: float
    fit: CriticalFit
    samples: np.ndarray = dataclasses.field(repr=False)
    n_failed: int


def _group(phi):
    values, inverse = np.unique(phi, return_inverse=True)
    return values, [np.flatnonzero(inverse == k) for k in range(values.size)]


def bootstrap_critical_point(phi, f_a, *, n_boot=200, seed=None, beta=None,
                             phi_range=None):
    """Power-law fit with errors from a bootstrap over independent runs.

    The runs are grouped by volume fraction. Each resample draws, at every
    volume fraction, as many runs as there are with replacement, averages
    them, and refits with :func:`fit_critical_point` (equal weights). The
    reported errors are the standard deviations over the resamples, which
    do not rely on the covariance being Gaussian.

    Parameters
    ----------
    phi : array_like, shape (n_runs,)
        Volume fraction of each run (repeated over seeds).
    f_a : array_like, shape (n_runs,)
        Steady active fraction of each run (0 for absorbed runs).
    n_boot : int, optional
        Number of resamples, >= 2.
    seed : int or numpy.random.Generator, optional
        Seed of the resampling.
    beta : float, optional
        Hold the exponent fixed; free by default.
    phi_range : (float, float), optional
        As in :func:`fit_critical_point`.

    Returns
    -------
    BootstrapFit
    """
    phi = _as_1d(phi, "phi")
    f_a = _as_1d(f_a, "f_a")
    _same_length(("phi", phi), ("f_a", f_a))
    n_boot = _check_int(n_boot, "n_boot", 2)
    if seed is not None and not isinstance(seed, np.random.Generator):
        seed = _check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)

    values, groups = _group(phi)
    means = np.array([f_a[g].mean() for g in groups])
    fit = fit_critical_point(values, means, beta=beta, phi_range=phi_range)
    start = (fit.amplitude, fit.phi_c, fit.beta)
    samples, failed = [], 0
    for _ in range(n_boot):
        resampled = np.array(
            [f_a[rng.choice(g, size=g.size, replace=True)].mean() for g in groups]
        )
        try:
            with warnings.catch_warnings():  # the fit to all data warned
                warnings.simplefilter("ignore", RuntimeWarning)
                b = fit_critical_point(values, resampled, beta=beta,
                                       phi_range=phi_range, p0=start)
        except (ValueError, RuntimeError):
            failed += 1
            continue
        samples.append((b.amplitude, b.phi_c, b.beta))
    samples = np.array(samples).reshape(-1, 3)
    spread = samples.std(axis=0, ddof=1) if len(samples) > 1 else np.full(3, np.nan)
    return BootstrapFit(
        phi_c=fit.phi_c,
        phi_c_err=float(spread[1]),
        beta=fit.beta,
        beta_err=0.0 if beta is not None else float(spread[2]),
        fit=fit,
        samples=samples,
        n_failed=failed,
    )


@dataclasses.dataclass(frozen=True)
class HalfAbsorbed:
    """Volume fraction at which half of the runs absorb within ``T`` steps.

    Attributes
    ----------
    phi_c, phi_c_err : float
        The estimate and its standard error.
    width : float
        Width ``w`` of the fitted logistic step (``nan`` for ``"gap"``).
    method : str
        ``"logistic"`` (maximum-likelihood fit) or ``"gap"`` (the data are
        separated: every run absorbed below some ``phi``, none above).
    phi : ndarray
        Distinct volume fractions.
    fraction : ndarray
        Fraction of runs absorbed within ``T`` at each.
    counts : ndarray
        Number of runs at each.
    """

    phi_c: float
    phi_c_err: float
    width: float
    method: str
    phi: np.ndarray = dataclasses.field(repr=False)
    fraction: np.ndarray = dataclasses.field(repr=False)
    counts: np.ndarray = dataclasses.field(repr=False)


def _logistic_fit(x, k, n, max_iter=100):
    # Binomial logistic regression p = 1 / (1 + exp(-(a + b x))) by Newton
    # iterations; returns (a, b, covariance) or None when it runs away,
    # which happens when the data are (quasi-)separated.
    theta = np.zeros(2)
    design = np.column_stack([np.ones_like(x), x])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        weight = n * p * (1.0 - p)
        info = design.T @ (design * weight[:, None])
        grad = design.T @ (k - n * p)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        theta = theta + step
        if abs(theta[1]) > 1e3:
            return None
        if np.max(np.abs(step)) < 1e-10:
            p = 1.0 / (1.0 + np.exp(-(design @ theta)))
            info = design.T @ (design * (n * p * (1.0 - p))[:, None])
            try:
                return theta, np.linalg.inv(info)
            except np.linalg.LinAlgError:
                return None
    return None


def phi_c_half_absorbed(phi, absorption_time, T):
    """The volume fraction at which half of the runs absorb within T steps.

    A run counts as absorbed within ``T`` when its absorption time is
    finite and at most ``T``. The absorbed fraction ``p(phi)`` is fitted
    by maximum likelihood (binomial) to the logistic step
    ``p = 1 / (1 + exp((phi - phi_half) / w))``; the estimate is
    ``phi_half``, its error from the inverse Fisher information by the
    delta method. When the data are separated (all runs absorbed up to
    some ``phi_lo``, none from the next ``phi_hi`` on) the likelihood has
    no maximum; the estimate is then the midpoint of the gap and its error
    the standard deviation of a uniform distribution over the gap,
    ``(phi_hi - phi_lo) / sqrt(12)``.

    Unlike a threshold on the final activity, this estimator is not biased
    low by the slow decay near the transition, but it does depend on ``T``
    (and on ``N``): report ``T`` along with it.

    Parameters
    ----------
    phi : array_like, shape (n_runs,)
        Volume fraction of each run.
    absorption_time : array_like, shape (n_runs,)
        Step at which each run was absorbed; ``nan`` or ``inf`` if never.
    T : float
        Step budget, > 0.

    Returns
    -------
    HalfAbsorbed
    """
    phi = _as_1d(phi, "phi")
    absorption_time = _as_1d(absorption_time, "absorption_time", finite=False)
    _same_length(("phi", phi), ("absorption_time", absorption_time))
    T = _check_real(T, "T", 0.0, low_open=True)
    if np.any(absorption_time < 0):
        raise ValueError("absorption_time must be >= 0 (nan or inf for a run "
                         "that never absorbed)")

    hit = np.isfinite(absorption_time) & (absorption_time <= T)
    values, groups = _group(phi)
    counts = np.array([g.size for g in groups], dtype=np.float64)
    k = np.array([hit[g].sum() for g in groups], dtype=np.float64)
    fraction = k / counts
    if values.size < 2:
        raise ValueError("phi must hold at least 2 distinct volume fractions")
    if np.all(fraction == 1) or np.all(fraction == 0):
        raise ValueError(
            "the absorbed fraction must change across phi (all runs "
            f"{'absorbed' if fraction[0] == 1 else 'active'} within T={T:g})"
        )

    absorbed_any = values[k > 0]
    active_any = values[k < counts]
    if active_any.max() < absorbed_any.min():
        raise ValueError(
            "runs must absorb at the low volume fractions and stay active at "
            "the high ones; here every run at the lower phi stayed active")
    hi_abs, lo_act = absorbed_any.max(), active_any.min()
    if hi_abs < lo_act:
        return HalfAbsorbed(
            phi_c=float(0.5 * (hi_abs + lo_act)),
            phi_c_err=float((lo_act - hi_abs) / math.sqrt(12.0)),
            width=math.nan, method="gap",
            phi=values, fraction=fraction, counts=counts.astype(int),
        )

    centre, scale = values.mean(), max(np.ptp(values), 1e-12)
    fitted = _logistic_fit((values - centre) / scale, k, counts)
    if fitted is None:
        # quasi-separated: fall back on the interpolated crossing and the
        # spacing of the grid around it
        order = np.argsort(values)
        x, y = values[order], fraction[order]
        cross = np.flatnonzero((y[:-1] >= 0.5) & (y[1:] <= 0.5))
        j = cross[0] if cross.size else int(np.argmin(np.abs(y - 0.5)))
        j = min(j, x.size - 2)
        if y[j] == y[j + 1]:
            est = 0.5 * (x[j] + x[j + 1])
        else:
            est = x[j] + (y[j] - 0.5) / (y[j] - y[j + 1]) * (x[j + 1] - x[j])
        return HalfAbsorbed(
            phi_c=float(est), phi_c_err=float((x[j + 1] - x[j]) / math.sqrt(12)),
            width=math.nan, method="gap",
            phi=values, fraction=fraction, counts=counts.astype(int),
        )
    (a, b), cov = fitted
    if not b < 0:
        raise ValueError(
            "runs must absorb at the low volume fractions and stay active at "
            "the high ones; here the absorbed fraction does not fall with phi")
    phi_half = centre - scale * a / b
    if not values.min() <= phi_half <= values.max():
        raise ValueError(
            f"the absorbed fraction crosses 1/2 at phi = {phi_half:.6g}, outside "
            f"the volume fractions given ([{values.min():.6g}, "
            f"{values.max():.6g}]): the absorbed fraction does not step from 1 "
            f"to 0 within them; extend the grid across the transition or "
            f"check the runs")
    # delta method for the variance of phi_half
    grad = np.array([-1.0 / b, a / b**2]) * scale
    return HalfAbsorbed(
        phi_c=float(phi_half),
        phi_c_err=float(math.sqrt(max(grad @ cov @ grad, 0.0))),
        width=float(-scale / b),
        method="logistic",
        phi=values, fraction=fraction, counts=counts.astype(int),
    )


@dataclasses.dataclass(frozen=True)
class LinearExtrapolation:
    """Straight-line fit ``y = intercept + slope * x``.

    Attributes
    ----------
    intercept, intercept_err : float
        Value at ``x = 0`` (``phi_c`` at vanishing kick size or learning
        rate) and its standard error.
    slope, slope_err : float
        Slope and its standard error.
    cov : ndarray, shape (2, 2)
        Covariance of ``(intercept, slope)``.
    chi2 : float
        Sum of squared (weighted) residuals.
    dof : int
        Points minus 2.
    """

    intercept: float
    intercept_err: float
    slope: float
    slope_err: float
    cov: np.ndarray = dataclasses.field(repr=False)
    chi2: float
    dof: int


def extrapolate_to_zero(x, y, y_err=None, *, absolute_sigma=None):
    """Extrapolate ``phi_c(x)`` linearly to ``x = 0``.

    Weighted least squares for ``y = intercept + slope * x``, with weights
    ``1 / y_err**2``. With errors the covariance is absolute by default;
    without them it is scaled by ``chi2 / dof`` (which needs at least 3
    points). The protocol of the paper reads ``phi_c`` at several learning
    rates and extrapolates to zero this way; use only the small-``x``
    points where ``phi_c(x)`` looks straight.

    Parameters
    ----------
    x : array_like, shape (n,)
        Kick sizes or learning rates (>= 0), at least 2 distinct.
    y : array_like, shape (n,)
        Critical volume fractions measured at each.
    y_err : array_like, shape (n,), optional
        Their standard errors (> 0).
    absolute_sigma : bool, optional
        Whether ``y_err`` are absolute (default: true when given).

    Returns
    -------
    LinearExtrapolation
    """
    x = _as_1d(x, "x", min_size=2)
    y = _as_1d(y, "y", min_size=2)
    _same_length(("x", x), ("y", y))
    if np.unique(x).size < 2:
        raise ValueError("x must hold at least 2 distinct values")
    if y_err is not None:
        y_err = _as_1d(y_err, "y_err")
        _same_length(("x", x), ("y_err", y_err))
        if np.any(y_err <= 0):
            raise ValueError("y_err must be > 0")
    absolute_sigma = _flag_or_none(absolute_sigma, "absolute_sigma")
    if absolute_sigma is None:
        absolute_sigma = y_err is not None
    if not absolute_sigma and x.size < 3:
        raise ValueError(
            "need at least 3 points to estimate errors from the scatter; "
            "pass y_err with absolute_sigma=True for 2 points"
        )

    w = np.ones_like(y) if y_err is None else 1.0 / y_err**2
    design = np.column_stack([np.ones_like(x), x])
    info = design.T @ (design * w[:, None])
    cov = np.linalg.inv(info)
    coef = cov @ (design.T @ (w * y))
    resid = y - design @ coef
    chi2 = float(resid @ (w * resid))
    dof = x.size - 2
    if not absolute_sigma:
        cov = cov * (chi2 / dof if dof > 0 else math.nan)
    return LinearExtrapolation(
        intercept=float(coef[0]),
        intercept_err=float(math.sqrt(cov[0, 0])),
        slope=float(coef[1]),
        slope_err=float(math.sqrt(cov[1, 1])),
        cov=cov,
        chi2=chi2,
        dof=int(dof),
    )


# ---------------------------------------------------------------------------
# finite-size scaling


@dataclasses.dataclass(frozen=True)
class ExponentSet:
    """Critical exponents of an absorbing-state universality class.

    Attributes
    ----------
    name : str
        Label.
    beta : float
        Order parameter, ``f_a ~ (phi - phi_c)**beta``.
    nu_perp : float
        Correlation length, ``xi ~ |phi - phi_c|**(-nu_perp)``.
    nu_par : float
        Correlation time, ``tau ~ |phi - phi_c|**(-nu_par)``.
    dim : int
        Dimension used in the finite-size powers of ``N``; for mean field
        it is the upper critical dimension 4.
    """

    name: str
    beta: float
    nu_perp: float
    nu_par: float
    dim: int

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        for field in ("beta", "nu_perp", "nu_par"):
            value = check_real(getattr(self, field), field, low=0.0)
            object.__setattr__(self, field, value)
        object.__setattr__(self, "dim", check_dim(self.dim))

    @property
    def z(self):
        """Dynamical exponent ``nu_par / nu_perp``."""
        return self.nu_par / self.nu_perp


#: Manna-class exponents (the 3D row is the one the paper quotes; the 1D
#: and 2D rows are literature values) and mean field.
#: Finite-size powers of ``N`` for mean field use the upper critical
#: dimension, 4, in place of ``d``.
#: Read-only: a new set is an ``ExponentSet`` passed where these names are.
EXPONENT_SETS = types.MappingProxyType({
    "manna-1d": ExponentSet("manna-1d", 0.38, 1.35, 1.88, 1),
    "manna-2d": ExponentSet("manna-2d", 0.64, 0.80, 1.23, 2),
    "manna-3d": ExponentSet("manna-3d", 0.84, 0.59, 1.08, 3),
    "mean-field": ExponentSet("mean-field", 1.0, 0.5, 1.0, 4),
})


def exponent_set(exponents):
    """Look up an exponent set by name, or pass an :class:`ExponentSet` on.

    Parameters
    ----------
    exponents : str or ExponentSet
        One of ``"manna-1d"``, ``"manna-2d"``, ``"manna-3d"``,
        ``"mean-field"``, or a custom set.

    Returns
    -------
    ExponentSet
    """
    if isinstance(exponents, ExponentSet):
        return exponents
    if isinstance(exponents, str) and exponents in EXPONENT_SETS:
        return EXPONENT_SETS[exponents]
    raise ValueError(
        f"exponents must be an ExponentSet or one of {sorted(EXPONENT_SETS)}, "
        f"got {exponents!r}"
    )


class ScalingPowers(NamedTuple):
    """Powers of ``N`` in the finite-size collapse.

    ``activity = beta / (d nu_perp)``, ``distance = 1 / (d nu_perp)``,
    ``time = nu_par / (d nu_perp)``.
    """

    activity: float
    distance: float
    time: float


def scaling_powers(exponents="manna-3d", dim=None):
    """Powers of ``N`` that make ``f_a``, ``phi - phi_c`` and ``tau`` collapse.

    With the linear size ``L ~ N**(1/d)``, the finite-size forms
    ``f_a = L**(-beta/nu_perp) F(L**(1/nu_perp) (phi - phi_c))`` and
    ``tau = L**(nu_par/nu_perp) G(...)`` become powers of ``N``. In 3D with
    Manna exponents they are 0.475, 0.565 and 0.610.

    Parameters
    ----------
    exponents : str or ExponentSet, optional
        The exponent set (see :func:`exponent_set`).
    dim : int, optional
        Dimension ``d``; the set's own by default. Pass the dimension of
        the data to test another class's exponents on it.

    Returns
    -------
    ScalingPowers
    """
    ex = exponent_set(exponents)
    d = ex.dim if dim is None else check_dim(dim)
    dn = d * ex.nu_perp
    return ScalingPowers(ex.beta / dn, 1.0 / dn, ex.nu_par / dn)


def _scaling_inputs(phi, y, n, yname):
    phi = _as_1d(phi, "phi")
    y = _as_1d(y, yname)
    n = _as_1d(n, "n")
    _same_length(("phi", phi), (yname, y), ("n", n))
    if np.any(n < 1):
        raise ValueError("n must be >= 1")
    return phi, y, n


def rescale_activity(phi, f_a, n, phi_c, exponents="manna-3d", dim=None):
    """Finite-size scaling variables of the steady activity.

    ``x = (phi - phi_c) * N**(1/(d nu_perp))`` and
    ``y = f_a * N**(beta/(d nu_perp))``: at the right ``phi_c`` and
    exponents, the curves of all sizes fall on one.

    Parameters
    ----------
    phi, f_a, n : array_like, shape (m,)
        Volume fraction, steady activity and number of particles of each
        point.
    phi_c : float
        Critical volume fraction.
    exponents : str or ExponentSet, optional
        See :func:`exponent_set`.
    dim : int, optional
        See :func:`scaling_powers`.

    Returns
    -------
    x, y : ndarray, shape (m,)
    """
    phi, f_a, n = _scaling_inputs(phi, f_a, n, "f_a")
    phi_c = _check_real(phi_c, "phi_c")
    powers = scaling_powers(exponents, dim)
    return (phi - phi_c) * n**powers.distance, f_a * n**powers.activity


def rescale_tau(phi, tau, n, phi_c, exponents="manna-3d", dim=None):
    """Finite-size scaling variables of the relaxation time.

    ``x = (phi - phi_c) * N**(1/(d nu_perp))`` and
    ``y = tau * N**(-nu_par/(d nu_perp))``.

    Parameters
    ----------
    phi, tau, n : array_like, shape (m,)
        Volume fraction, relaxation time and number of particles.
    phi_c : float
        Critical volume fraction.
    exponents : str or ExponentSet, optional
        See :func:`exponent_set`.
    dim : int, optional
        See :func:`scaling_powers`.

    Returns
    -------
    x, y : ndarray, shape (m,)
    """
    phi, tau, n = _scaling_inputs(phi, tau, n, "tau")
    phi_c = _check_real(phi_c, "phi_c")
    powers = scaling_powers(exponents, dim)
    return (phi - phi_c) * n**powers.distance, tau * n ** (-powers.time)


def collapse_quality(x, y, group, y_err=None, *, log=False):
    """How well curves from several system sizes fall on one another.

    For every point ``i`` of one curve (one value of ``group``) and every
    other curve whose ``x`` range contains ``x_i``, the other curve is
    interpolated linearly at ``x_i`` and the squared difference
    ``(y_i - y_other(x_i))**2`` is taken. The quality is the mean of these
    over all such pairs, divided by

    - the combined variance ``err_i**2 + err_other(x_i)**2`` of each pair
      when ``y_err`` is given (so about 1 for a collapse within errors),
    - otherwise the variance of all ``y`` values (a dimensionless number
      that does not change when ``y`` is multiplied by a constant).

    Smaller is better; only overlapping ranges count, so compare values
    computed on the same data.

    Parameters
    ----------
    x, y : array_like, shape (m,)
        Rescaled variables (from :func:`rescale_activity` or
        :func:`rescale_tau`).
    group : array_like, shape (m,)
        Curve label of each point, usually ``N``.
    y_err : array_like, shape (m,), optional
        Standard errors of ``y`` (rescaled like ``y``).
    log : bool, optional
        Compare ``log(y)`` instead of ``y`` (all ``y`` must be > 0); natural
        for relaxation times, which span decades. Errors become relative.

    Returns
    -------
    float
        The quality; ``nan`` if no two curves overlap.
    """
    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    log = check_flag(log, "log")
    group = np.asarray(group)
    if group.shape != x.shape:
        raise ValueError(
            f"group must have the same length as x ({x.size}), got {group.size}"
        )
    _same_length(("x", x), ("y", y))
    if y_err is not None:
        y_err = _as_1d(y_err, "y_err")
        _same_length(("x", x), ("y_err", y_err))
    if log:
        if np.any(y <= 0):
            raise ValueError("y must be > 0 when log=True")
        if y_err is not None:
            y_err = y_err / y
        y = np.log(y)

    labels = np.unique(group)
    curves = []
    for label in labels:
        sel = group == label
        order = np.argsort(x[sel], kind="stable")
        err = None if y_err is None else y_err[sel][order]
        curves.append((x[sel][order], y[sel][order], err))

    terms = []
    for a, (xa, ya, ea) in enumerate(curves):
        for b, (xb, yb, eb) in enumerate(curves):
            if a == b or xb.size < 2:
                continue
            inside = (xa >= xb[0]) & (xa <= xb[-1])
            if not inside.any():
                continue
            diff = ya[inside] - np.interp(xa[inside], xb, yb)
            if ea is None:
                terms.append(diff**2)
            else:
                var = ea[inside] ** 2 + np.interp(xa[inside], xb, eb) ** 2
                var = np.where(var > 0, var, np.nan)
                terms.append(diff**2 / var)
    if not terms:
        return math.nan
    terms = np.concatenate(terms)
    terms = terms[np.isfinite(terms)]
    if terms.size == 0:
        return math.nan
    quality = float(terms.mean())
    if y_err is None:
        spread = float(np.var(y))
        quality = quality / spread if spread > 0 else math.nan
    return quality


@dataclasses.dataclass(frozen=True)
class CollapseFit:
    """Best collapse over ``phi_c`` (see :func:`fit_collapse`).

    Attributes
    ----------
    phi_c : float
        Critical volume fraction that minimises the quality.
    quality : float
        The quality there.
    grid : ndarray
        The ``phi_c`` values scanned.
    qualities : ndarray
        The quality at each.
    exponents : ExponentSet
        The exponents used.
    """

    phi_c: float
    quality: float
    grid: np.ndarray = dataclasses.field(repr=False)
    qualities: np.ndarray = dataclasses.field(repr=False)
    exponents: ExponentSet


def fit_collapse(phi, y, n, bounds, *, quantity="activity",
                 exponents="manna-3d", dim=None, y_err=None, log=False,
                 n_grid=201):
    """Choose ``phi_c`` to make the finite-size collapse best.

    The quality (:func:`collapse_quality`) is computed on a grid of
    ``n_grid`` values of ``phi_c`` in ``bounds``, and the best grid point is
    refined by a bounded scalar minimisation between its neighbours. The
    quality is piecewise smooth in ``phi_c`` (points enter and leave the
    overlap ranges), which is why a grid comes first.

    Parameters
    ----------
    phi, y, n : array_like, shape (m,)
        Volume fraction, measured quantity (``f_a`` or ``tau``) and number
        of particles of each point.
    bounds : (float, float)
        Range of ``phi_c`` to search.
    quantity : {"activity", "tau"}, optional
        Which rescaling to apply.
    exponents : str or ExponentSet, optional
        See :func:`exponent_set`.
    dim : int, optional
        See :func:`scaling_powers`.
    y_err : array_like, shape (m,), optional
        Standard errors of ``y`` (unscaled); rescaled along with ``y``.
    log : bool, optional
        See :func:`collapse_quality`.
    n_grid : int, optional
        Grid points, >= 3.

    Returns
    -------
    CollapseFit

    Warns
    -----
    RuntimeWarning
        When the best grid point is at an end of ``bounds``.
    """
    if quantity not in ("activity", "tau"):
        raise ValueError(
            f"quantity must be 'activity' or 'tau', got {quantity!r}"
        )
    phi, y, n = _scaling_inputs(phi, y, n, "y")
    lo, hi = _interval_pair(bounds, "bounds")
    n_grid = _check_int(n_grid, "n_grid", 3, _MAX_GRID)
    log = check_flag(log, "log")
    ex = exponent_set(exponents)
    rescale = rescale_activity if quantity == "activity" else rescale_tau
    if y_err is not None:
        y_err = _as_1d(y_err, "y_err")
        _same_length(("phi", phi), ("y_err", y_err))

    powers = scaling_powers(ex, dim)
    err = None
    if y_err is not None:
        # errors scale by the same power of N as y (also where y == 0)
        p = powers.activity if quantity == "activity" else -powers.time
        err = y_err * n**p

    def quality(phi_c):
        x, yy = rescale(phi, y, n, phi_c, ex, dim)
        q = collapse_quality(x, yy, n, err, log=log)
        return q if math.isfinite(q) else math.inf

    grid = np.linspace(lo, hi, n_grid)
    values = np.array([quality(g) for g in grid])
    if not np.any(np.isfinite(values)):
        raise ValueError("no two curves overlap for any phi_c in bounds")
    best = int(np.argmin(values))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, n_grid - 1)]
    from scipy import optimize
    res = optimize.minimize_scalar(quality, bounds=(a, b), method="bounded",
                                   options={"xatol": 1e-6 * (hi - lo)})
    phi_c, q = (float(res.x), float(res.fun))
    if not q <= values[best]:
        phi_c, q = float(grid[best]), float(values[best])
    if best in (0, n_grid - 1):
        warnings.warn(
            f"the best collapse lies at the edge of bounds ({phi_c:.6g}); "
            "widen bounds, or the data may not bracket phi_c",
            RuntimeWarning, stacklevel=2)
    return CollapseFit(phi_c=phi_c, quality=q, grid=grid, qualities=values,
                       exponents=ex)
