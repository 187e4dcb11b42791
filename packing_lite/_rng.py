"""Counter-based random numbers for the kernels.

Each number is a hash of (seed, step, two integer labels, stream), so it
does not depend on the order in which particles are visited or on how many
threads visit them. This is what makes a run bit-identical for one seed
whatever the thread count, and what lets the fast engines and the
reference engine draw exactly the same numbers.
"""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Streams keep the numbers for different purposes independent.
STREAM_FACTOR = 1  # one number per particle and step (BRO kick, SGD batch)
STREAM_PAIR = 2  # one number per pair and step, shared by the partners
STREAM_HALF_PAIR = 3  # one number per ordered pair and step
STREAM_BATCH_KEY = 4  # sort keys for batches of fixed size
STREAM_NORMAL = 5  # Gaussian numbers for the stochastic approximation
STREAM_DIRECTION = 16  # components of random unit vectors (16 + k)


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def hash4(seed, step, a, b, stream):
    """64-bit hash of five non-negative integers."""
    h = _mix(np.uint64(seed) + _GOLDEN * np.uint64(stream + 1))
    h = _mix(h + _GOLDEN * np.uint64(step + 1))
    h = _mix(h + _GOLDEN * np.uint64(a + 1))
    return _mix(h + _GOLDEN * np.uint64(b + 1))


@njit(cache=True, inline="always")
def uniform(seed, step, a, b, stream):
    """A number uniform in [0, 1)."""
    return np.float64(hash4(seed, step, a, b, stream) >> _S11) * _TO_UNIT


@njit(cache=True, inline="always")
def normal(seed, step, a, b, stream):
    """A standard normal number (Box-Muller on two hashed uniforms)."""
    u1 = 1.0 - uniform(seed, step, a, b, stream)  # in (0, 1]
    u2 = uniform(seed, step, a, b, stream + 1000)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
