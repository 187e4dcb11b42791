import numba
import numpy as np
import pytest

import packing_lite as pl


def brute_force_gradient(packing):
    """O(n^2) gradient with explicit minimum images, independent of the package."""
    x = np.asarray(packing.positions)
    radii = np.asarray(packing.radii)
    box = packing.box
    grad = np.zeros_like(x)
    loss = 0.0
    for i in range(packing.n):
        d = x[i] - x
        d -= box * np.round(d / box)
        r = np.sqrt(np.sum(d * d, axis=1))
        contact = radii[i] + radii
        touching = (r < contact) & (np.arange(packing.n) != i)
        grad[i] = -0.5 * np.sum(d[touching] / r[touching, None], axis=0)
        loss += 0.25 * np.sum(contact[touching] - r[touching])
    return loss, grad


@pytest.fixture
def case_a():
    """Physics reference, case A: two spheres overlapping by 0.2 along x."""
    return pl.Packing([[0.0, 0.0, 0.0], [0.8, 0.0, 0.0]], box=10.0)


@pytest.fixture
def case_b():
    """Physics reference, case B: three spheres in 2D, contacts 0-1 and 1-2."""
    s = np.sqrt(2.0)
    return pl.Packing([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], box=20.0,
                      radius=[s - 1, s + 1, s - 1])


@pytest.fixture(scope="module")
def one_numba_thread():
    """Run a module's tests on one numba thread (results do not depend on
    it; long runs are faster without waiting threads on a busy machine)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
