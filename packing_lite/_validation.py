"""Input checks shared by the public functions.

Every check raises ``ValueError`` or ``TypeError`` with a message that names
the offending parameter and the range it must lie in, so that no bad value
ever reaches a compiled kernel.
"""

import math
import numbers
import os
from pathlib import Path

import numpy as np

__all__ = []

#: Most spheres a packing may hold: the fast engines index spheres with
#: 32-bit integers.
MAX_SPHERES = 2**31 - 1

#: Largest dimension: far beyond any packing that fits in memory, and the
#: ball volumes' arithmetic in floats stays finite.
MAX_DIM = 2**31 - 1

#: Largest seed: seeds are stored as 63-bit integers.
MAX_SEED = 2**63 - 1

#: Most step numbers a run may reach: step counters are 64-bit integers.
MAX_STEPS = 2**62

#: Most records a run may keep, ``steps // record_every + 1``: three arrays
#: of this length are allocated before the run starts (2.4 GB at the bound).
MAX_RECORDS = 10**8

#: Most numbers :func:`packing_lite.sample_displacements` may return
#: (``samples * particles * dim``, 0.8 GB at the bound).
MAX_SAMPLE_VALUES = 10**8


def check_int(value, name, minimum=None, maximum=None):
    """Return ``value`` as a Python int, checking type and range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Integral, np.integer)
    ):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    shown = _shown_int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {shown}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {shown}")
    return value


def _shown_int(value):
    """``value`` for an error message: an integer of hundreds of digits is
    named by its size, not spelt out."""
    if abs(value) < 10**40:
        return f"{value}"
    digits = int(abs(value).bit_length() * math.log10(2)) + 1
    kind = "a negative integer" if value < 0 else "an integer"
    return f"{kind} of about {digits} digits"


def check_real(value, name, low=None, high=None, low_open=True, high_open=True):
    """Return ``value`` as a finite float inside the stated interval.

    ``low`` and ``high`` are the interval ends (``None`` for unbounded);
    ``low_open`` and ``high_open`` say whether the ends are excluded.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    interval = _interval(low, high, low_open, high_open)
    try:
        value = float(value)
    except OverflowError:  # an integer or fraction beyond the largest float
        raise ValueError(f"{name} must be finite and in {interval}, got a "
                         f"number too large for a float") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite and in {interval}, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def _interval(low, high, low_open, high_open):
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    low_text = "-inf" if low is None else f"{low:g}"
    high_text = "inf" if high is None else f"{high:g}"
    return f"{left}{low_text}, {high_text}{right}"


def check_flag(value, name):
    """Return ``value`` as a bool; it must be True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def as_real_array(value, name, shape):
    """``value`` as a float64 array; its entries must be real numbers
    (complex numbers, strings and booleans are refused, not converted).
    ``shape`` describes the expected shape in the error message."""
    try:
        array = np.asarray(value)
        if array.dtype.kind == "O":
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a real {shape} array: {error}") from None
    except OverflowError:  # integers beyond the largest float
        raise ValueError(f"{name} must be finite, got a number too large for a "
                         f"float") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a real {shape} array, got entries of dtype "
            f"{array.dtype}")
    return np.asarray(array, dtype=np.float64)


def check_choice(value, name, choices):
    """Check that ``value`` is one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_dim(value):
    """Return the dimension ``value``, in [1, MAX_DIM]."""
    return check_int(value, "dim", minimum=1, maximum=MAX_DIM)


def check_n(value, name="n"):
    """Return the number of spheres ``value``, in [2, MAX_SPHERES]."""
    return check_int(value, name, minimum=2, maximum=MAX_SPHERES)


def check_steps(steps, record_every, first_step=0):
    """Return ``(steps, record_every)`` after checking that the records fit.

    ``steps`` is in [0, MAX_STEPS - first_step] (a continued run numbers
    its steps from ``first_step``), ``record_every`` in [1, MAX_STEPS], and
    the run keeps at most ``steps // record_every + 1 <= MAX_RECORDS``
    records. Call it before anything is allocated.
    """
    steps = check_int(steps, "steps", minimum=0, maximum=MAX_STEPS - first_step)
    record_every = check_int(record_every, "record_every", minimum=1,
                             maximum=MAX_STEPS)
    records = steps // record_every + 1
    if records > MAX_RECORDS:
        least = steps // MAX_RECORDS + 1
        raise ValueError(
            f"steps={steps} with record_every={record_every} keeps "
            f"steps // record_every + 1 = {records} records, more than the "
            f"{MAX_RECORDS} a run may keep: raise record_every to at least "
            f"{least} or run fewer steps"
        )
    return steps, record_every


def check_samples(samples, particles, dim):
    """Return ``samples`` >= 1 if ``samples * particles * dim`` numbers fit."""
    samples = check_int(samples, "samples", minimum=1)
    values = samples * max(particles, 1) * dim
    if values > MAX_SAMPLE_VALUES:
        most = MAX_SAMPLE_VALUES // (max(particles, 1) * dim)
        raise ValueError(
            f"samples={samples} for {particles} particles in dim={dim} asks "
            f"for samples * particles * dim = {values} numbers, more than "
            f"{MAX_SAMPLE_VALUES}: ask for samples <= {most} or fewer particles"
        )
    return samples


def check_path(value, name):
    """Return ``value`` as a ``pathlib.Path``; it must be a str or path-like."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a str or an os.PathLike path, "
            f"got {type(value).__name__}"
        )
    return Path(value)


def resolve_seed(seed):
    """Turn ``seed`` into a non-negative 63-bit integer.

    ``None`` draws fresh entropy; an integer is used as it is; a
    ``numpy.random.Generator`` supplies one integer. The resolved value is
    stored with every result so that any run can be repeated exactly.
    """
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, MAX_SEED))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(
        seed, (numbers.Integral, np.integer)
    ):
        raise TypeError(
            "seed must be None, an integer or a numpy.random.Generator, "
            f"got {type(seed).__name__}"
        )
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**63), got {_shown_int(seed)}")
    return seed
