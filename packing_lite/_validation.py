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


def check_int(value, name, minimum=None, maximum=None):
    """Return ``value`` as a Python int, checking type and range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Integral, np.integer)
    ):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(value, name, low=None, high=None, low_open=True, high_open=True):
    """Return ``value`` as a finite float inside the stated interval.

    ``low`` and ``high`` are the interval ends (``None`` for unbounded);
    ``low_open`` and ``high_open`` say whether the ends are excluded.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    interval = _interval(low, high, low_open, high_open)
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


def check_choice(value, name, choices):
    """Check that ``value`` is one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


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
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(
        seed, (numbers.Integral, np.integer)
    ):
        raise TypeError(
            "seed must be None, an integer or a numpy.random.Generator, "
            f"got {type(seed).__name__}"
        )
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    return seed
