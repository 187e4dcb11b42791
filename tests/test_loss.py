import numpy as np
import pytest

import packing_lite as pl
from conftest import brute_force_gradient


def test_case_a_loss_gradient_and_activity(case_a):
    assert pl.hinge_loss(case_a) == pytest.approx(0.1, abs=1e-15)
    np.testing.assert_allclose(pl.loss_gradient(case_a),
                               [[0.5, 0, 0], [-0.5, 0, 0]], atol=1e-15)
    np.testing.assert_array_equal(pl.active_mask(case_a), [True, True])


def test_pair_across_the_periodic_boundary():
    p = pl.Packing([[0.1, 0.0, 0.0], [9.9, 0.0, 0.0]], box=10.0)
    assert pl.hinge_loss(p) == pytest.approx(0.4)
    grad = pl.loss_gradient(p)
    # the descent direction -grad pushes sphere 0 towards +x, away from 9.9
    np.testing.assert_allclose(grad, [[-0.5, 0, 0], [0.5, 0, 0]], atol=1e-12)


def test_pair_across_a_corner_in_2d():
    p = pl.Packing([[0.1, 0.1], [9.9, 9.9]], box=10.0)
    r = np.sqrt(0.08)
    assert pl.hinge_loss(p) == pytest.approx((1 - r) / 2)
    u = np.array([1.0, 1.0]) / np.sqrt(2)
    np.testing.assert_allclose(pl.loss_gradient(p), [-0.5 * u, 0.5 * u])


def test_touching_spheres_do_not_overlap():
    p = pl.Packing([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], box=10.0)
    assert pl.hinge_loss(p) == 0.0
    assert not pl.active_mask(p).any()
    np.testing.assert_array_equal(pl.loss_gradient(p), 0.0)


def test_three_spheres_on_a_line():
    p = pl.Packing([[0.0], [0.9], [1.5]], box=10.0)
    # pairs 0-1 (r = 0.9) and 1-2 (r = 0.6); 0-2 at 1.5 do not touch
    assert pl.hinge_loss(p) == pytest.approx(0.05 + 0.2)
    np.testing.assert_allclose(pl.loss_gradient(p)[:, 0], [0.5, 0.0, -0.5], atol=1e-15)
    np.testing.assert_array_equal(pl.contact_numbers(p), [1, 2, 1])


def test_case_b_contacts_and_gradient(case_b):
    np.testing.assert_array_equal(pl.contact_numbers(case_b), [1, 2, 1])
    grad = pl.loss_gradient(case_b)
    np.testing.assert_allclose(grad[1], [0.0, -np.sqrt(2) / 2], atol=1e-12)


def test_polydisperse_contact_distance():
    p = pl.Packing([[0.0, 0.0], [1.1, 0.0]], box=10.0, radius=[0.5, 0.7])
    assert pl.hinge_loss(p) == pytest.approx((1.2 - 1.1) / 2)


@pytest.mark.parametrize("dim,n,phi", [(2, 60, 0.6), (3, 80, 0.5), (3, 40, 0.8)])
def test_gradient_against_finite_differences(dim, n, phi):
    p = pl.random_packing(n, phi, dim=dim, seed=5)
    grad = pl.loss_gradient(p)
    h = 1e-7
    x = np.array(p.positions)
    for i in range(0, n, 7):
        for k in range(dim):
            up, down = x.copy(), x.copy()
            up[i, k] += h
            down[i, k] -= h
            numeric = (pl.hinge_loss(p.with_positions(up))
                       - pl.hinge_loss(p.with_positions(down))) / (2 * h)
            assert numeric == pytest.approx(grad[i, k], abs=1e-6)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
# 40 spheres at phi = 0.7 in 4D fill a box of 2.05, just above the
# narrowest allowed (twice the contact distance)
@pytest.mark.parametrize("n,phi", [(40, 0.7), (400, 0.6), (400, 0.05)])
def test_loss_and_gradient_match_brute_force(dim, n, phi):
    p = pl.random_packing(n, phi, dim=dim, seed=dim * 100 + n)
    loss, grad = brute_force_gradient(p)
    assert pl.hinge_loss(p) == pytest.approx(loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(pl.loss_gradient(p), grad, rtol=1e-10, atol=1e-12)


def test_coincident_centres_get_a_seeded_random_direction():
    p = pl.Packing([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0]], box=10.0)
    grad = pl.loss_gradient(p, seed=3)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(np.linalg.norm(grad[0]), 0.5)
    np.testing.assert_allclose(grad[0], -grad[1])
    np.testing.assert_array_equal(grad, pl.loss_gradient(p, seed=3))
    assert not np.array_equal(grad, pl.loss_gradient(p, seed=4))
    assert pl.hinge_loss(p) == pytest.approx(0.5)


def test_loss_is_the_exact_sum_of_fixed_point_shares_rounded_once():
    """loss_from_fixed(add_share ...) against Python's exact integers, for
    sums far past 2**63 (the two words carry), in any order of the
    shares."""
    from packing_lite.loss import _total_loss

    rng = np.random.default_rng(5)
    scale = 2.0**50 / 3.0
    for top in (2**20, 2**40, 2**59):
        shares = rng.integers(0, top, size=5000, dtype=np.int64)
        exact = int(sum(int(q) for q in shares))
        want = float(exact) / scale  # float(int) rounds once, to nearest
        assert _total_loss(shares, scale) == want
        assert _total_loss(rng.permutation(shares), scale) == want
    big = np.full(300, 2**59 - 1, dtype=np.int64)  # 300 * 2**59 > 2**67
    assert _total_loss(big, 1.0) == float(300 * (2**59 - 1))
    # a low word far past 2**53 must carry into the high one
    from packing_lite.loss import loss_from_fixed

    for high, low in [(2**40 + 7, 2**60 + 12345), (3, 2**62 + 2**33 + 1),
                      (2**52 - 1, 2**62 - 1)]:
        assert loss_from_fixed(high, low, 1.0) == float(high * 2**32 + low)
        assert loss_from_fixed(high, low, 3.0) == float(high * 2**32 + low) / 3.0


@pytest.mark.parametrize("dim", [2, 3])
def test_hinge_loss_and_a_run_agree_bit_for_bit(dim):
    """The run's first record (pair engine in 3D, neighbour rows in 2D) is
    the loss of its start, to the last bit."""
    p = pl.random_packing(400, 0.7, dim=dim, seed=3, radius=[0.4, 0.6] * 200)
    assert pl.run_bro(p, 0.02, 1, seed=1).loss[0] == pl.hinge_loss(p)


def test_the_smallest_overlap_still_has_a_loss():
    """Loss terms are rounded up: an overlap of 1e-100 between two tiny
    spheres (far below the fixed-point step) gives a loss above zero, and
    touching spheres give exactly zero."""
    p = pl.Packing([[0, 0, 0], [1e-100, 0, 0], [5, 5, 5]], 40.0,
                   radius=[1e-100, 1e-100, 1.0])
    assert pl.active_mask(p).tolist() == [True, True, False]
    assert pl.hinge_loss(p) > 0.0
    assert pl.run_bro(p, 0.02, 1, seed=1).loss[0] == pl.hinge_loss(p)
    touching = pl.Packing([[0, 0, 0], [1, 0, 0], [5, 5, 5]], 40.0, radius=0.5)
    assert not pl.active_mask(touching).any()
    assert pl.hinge_loss(touching) == 0.0
