"""One-step statistics, absorbing and active states, records and determinism."""

import dataclasses

import numba
import numpy as np
import pytest

import packing_lite as pl

SAMPLES = 100_000
Z = 5.0  # tolerance in standard errors: a false alarm once in ~2 million runs


def assert_mean(samples, expected):
    """Sample mean within Z standard errors of ``expected`` (per component)."""
    samples = np.asarray(samples)
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - expected) <= Z * se + 1e-15)


def assert_covariance(samples, expected):
    """Sample covariance within Z standard errors of ``expected``.

    The standard error of each entry comes from the sample's own fourth
    moments: Var(c_kl) = (E[(a_k a_l)^2] - c_kl^2) / N for centred a.
    """
    a = np.asarray(samples) - np.mean(samples, axis=0)
    n = len(a)
    cov = a.T @ a / (n - 1)
    prod2 = np.einsum("nk,nl->kl", a**2, a**2) / n
    se = np.sqrt(np.maximum(prod2 - cov**2, 0) / n)
    assert np.all(np.abs(cov - expected) <= Z * se + 1e-15), (cov, expected, se)


# ------------------------------------------------------------ case A


def test_case_a_bro_kick(case_a):
    eps = 0.1
    dx = pl.sample_displacements(case_a, "bro", SAMPLES, particles=[0], eps=eps,
                                 seed=1)[:, 0]
    assert dx[:, 0].min() >= -eps and dx[:, 0].max() <= 0
    np.testing.assert_array_equal(dx[:, 1:], 0.0)
    assert_mean(dx, [-eps / 2, 0, 0])
    assert_covariance(dx[:, :1], [[eps**2 / 12]])
    assert dx[:, 0].mean() == pytest.approx(-0.05, rel=0.02)
    assert dx[:, 0].var() == pytest.approx(8.333e-4, rel=0.05)


@pytest.mark.parametrize("b", [0.2, 0.75, 1.0])
def test_case_a_sgd_step(case_a, b):
    lr = 4 * 0.1 / 3
    dx = pl.sample_displacements(case_a, "sgd", SAMPLES, particles=[0], lr=lr,
                                 batch_fraction=b, seed=2)[:, 0, 0]
    assert set(np.unique(dx)) <= {0.0, -lr / 2}
    p_hat = np.mean(dx != 0)
    se = np.sqrt(b * (1 - b) / SAMPLES)
    assert abs(p_hat - b) <= Z * se
    if b < 1:
        assert_covariance(dx[:, None], [[lr**2 * b * (1 - b) / 4]])


def test_sgd_at_three_quarters_matches_bro_moments(case_a):
    eps = 0.1
    sgd = pl.sample_displacements(case_a, "sgd", SAMPLES, particles=[0],
                                  lr=4 * eps / 3, batch_fraction=0.75, seed=3)[:, 0, 0]
    assert_mean(sgd, -eps / 2)
    assert_covariance(sgd[:, None], [[eps**2 / 12]])


def test_reciprocal_pair_bro_conserves_the_centre_of_mass(case_a):
    dx = pl.sample_displacements(case_a, "bro", 1000, eps=0.1, variant="reciprocal",
                                 seed=4)
    np.testing.assert_array_equal(dx[:, 0] + dx[:, 1], 0.0)
    r = pl.run_bro(case_a, 0.1, 50, seed=4, variant="reciprocal")
    x0, x1 = r.packing.positions
    separation = x1 - x0 - r.packing.box * np.round((x1 - x0) / r.packing.box)
    midpoint = (x0 + separation / 2) % r.packing.box
    np.testing.assert_allclose(midpoint, [0.4, 0, 0], atol=1e-12)
    assert r.absorbed


def test_nonreciprocal_pair_bro_draws_each_side(case_a):
    dx = pl.sample_displacements(case_a, "bro", 20_000, eps=0.1,
                                 variant="nonreciprocal", seed=5)
    corr = np.corrcoef(dx[:, 0, 0], dx[:, 1, 0])[0, 1]
    assert abs(corr) < Z / np.sqrt(20_000)


def test_touching_pair_does_not_move():
    p = pl.Packing([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], box=10.0)
    r = pl.run_bro(p, 0.1, 10, seed=1)
    assert r.absorbed and r.steps == 0
    assert r.packing == p


# ------------------------------------------------------------ case B


def test_case_b_particle_wise_bro_covariance(case_b):
    eps = 0.1
    dx = pl.sample_displacements(case_b, "bro", SAMPLES, particles=[1], eps=eps,
                                 seed=6)[:, 0]
    np.testing.assert_allclose(dx[:, 0], 0.0, atol=1e-15)
    assert_mean(dx, [0, eps / 2 * np.sqrt(2)])
    assert_covariance(dx, eps**2 / 12 * np.array([[0, 0], [0, 2]]))


@pytest.mark.parametrize("variant", ["reciprocal", "nonreciprocal"])
def test_case_b_pair_wise_bro_covariance(case_b, variant):
    eps = 0.1
    dx = pl.sample_displacements(case_b, "bro", SAMPLES, particles=[1], eps=eps,
                                 variant=variant, seed=7)[:, 0]
    assert_mean(dx, [0, eps / 2 * np.sqrt(2)])
    assert_covariance(dx, eps**2 / 12 * np.eye(2))


# ------------------------------------------------------------ Eqs. 1 and 3 on a packing


@pytest.fixture(scope="module")
def dense():
    return pl.random_packing(400, 0.7, seed=8)


def _active_particles(packing, count=3):
    return np.nonzero(pl.active_mask(packing))[0][:count]


def test_bro_moments_follow_eq1(dense):
    eps = 0.02
    particles = _active_particles(dense)
    grad = pl.loss_gradient(dense)[particles]
    dx = pl.sample_displacements(dense, "bro", SAMPLES, particles=particles,
                                 eps=eps, seed=9)
    for q, g in enumerate(grad):
        assert_mean(dx[:, q], -eps * g)
        assert_covariance(dx[:, q], eps**2 / 3 * np.outer(g, g))


@pytest.mark.parametrize("b", [0.2, 0.75])
def test_sgd_moments_follow_eq3(dense, b):
    lr = 0.02
    particles = _active_particles(dense)
    grad = pl.loss_gradient(dense)[particles]
    dx = pl.sample_displacements(dense, "sgd", SAMPLES, particles=particles, lr=lr,
                                 batch_fraction=b, seed=10)
    for q, g in enumerate(grad):
        assert_mean(dx[:, q], -lr * b * g)
        assert_covariance(dx[:, q], lr**2 * (b - b * b) * np.outer(g, g))


def test_batch_size_selects_uniformly_without_replacement(dense):
    n_active = int(pl.active_mask(dense).sum())
    batch = 50
    samples = 4_000
    dx = pl.sample_displacements(dense, "sgd", samples, lr=0.02, batch_size=batch,
                                 seed=11)
    moved = np.any(dx != 0, axis=2)
    np.testing.assert_array_equal(moved.sum(axis=1), batch)
    b = batch / n_active
    freq = moved[:, pl.active_mask(dense)].mean(axis=0)
    se = np.sqrt(b * (1 - b) / samples)
    assert np.all(np.abs(freq - b) <= Z * se)


def test_sde_moments_equal_the_exact_ones(dense):
    eps = 0.02
    particles = _active_particles(dense, 2)
    grad = pl.loss_gradient(dense)[particles]
    dx = pl.sample_displacements(dense, "sde", SAMPLES, particles=particles,
                                 eps=eps, seed=12)
    for q, g in enumerate(grad):
        assert_mean(dx[:, q], -eps * g)
        assert_covariance(dx[:, q], eps**2 / 3 * np.outer(g, g))


# ------------------------------------------------------------ the transition


@pytest.fixture(scope="module")
def paper_runs():
    out = {}
    for phi in (0.5, 0.7):
        p = pl.random_packing(2000, phi, seed=20)
        out[phi, "bro"] = pl.run_bro(p, 0.02, 3000, seed=21, record_every=20)
        out[phi, "sgd"] = pl.run_sgd(p, 0.02, 3000, batch_fraction=0.75, seed=21,
                                     record_every=20)
    return out


@pytest.mark.parametrize("dynamics", ["bro", "sgd"])
def test_low_density_absorbs(paper_runs, dynamics):
    r = paper_runs[0.5, dynamics]
    assert r.absorbed and r.steps < 3000
    assert r.active_fraction[-1] == 0 and r.loss[-1] == 0
    assert r.times[-1] == r.steps
    assert pl.hinge_loss(r.packing) == 0.0
    assert r.active_fraction[0] > 0.9


@pytest.mark.parametrize("dynamics", ["bro", "sgd"])
def test_high_density_stays_active(paper_runs, dynamics):
    r = paper_runs[0.7, dynamics]
    assert not r.absorbed and r.steps == 3000
    assert r.active_fraction[-1] > 0.5
    assert r.loss[-1] == pytest.approx(pl.hinge_loss(r.packing), rel=1e-9)
    np.testing.assert_array_equal(r.times, np.arange(0, 3001, 20))


# ------------------------------------------------------------ records, determinism


def test_records_and_input_untouched():
    p = pl.random_packing(300, 0.6, seed=30)
    before = np.array(p.positions)
    r = pl.run_bro(p, 0.02, 95, seed=31, record_every=10)
    np.testing.assert_array_equal(p.positions, before)
    np.testing.assert_array_equal(r.times, list(range(0, 91, 10)) + [95])
    assert r.active_fraction[0] == pytest.approx(pl.active_mask(p).mean())
    # every engine adds up the loss exactly in fixed point and rounds once
    assert r.loss[0] == pl.hinge_loss(p)
    assert r.active_fraction[-1] == pytest.approx(pl.active_mask(r.packing).mean())
    assert r.params["eps"] == 0.02 and r.params["dynamics"] == "bro"


def test_progress_chunks_give_the_same_run():
    p = pl.random_packing(300, 0.62, seed=32)
    a = pl.run_sgd(p, 0.05, 450, batch_fraction=0.5, seed=3, record_every=7)
    b = pl.run_sgd(p, 0.05, 450, batch_fraction=0.5, seed=3, record_every=7,
                   progress=True)
    assert a.packing == b.packing
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.loss, b.loss)


def test_same_seed_same_result_different_seed_different():
    p = pl.random_packing(500, 0.65, seed=40)
    a = pl.run_bro(p, 0.02, 200, seed=41)
    b = pl.run_bro(p, 0.02, 200, seed=41)
    c = pl.run_bro(p, 0.02, 200, seed=42)
    assert a.packing == b.packing and a.seed == 41
    assert a.packing != c.packing
    again = pl.run_bro(p, 0.02, 200, seed=pl.run_bro(p, 0.02, 1).seed)
    assert again.seed >= 0


@pytest.mark.parametrize("run", [
    lambda p: pl.run_bro(p, 0.02, 150, seed=1),
    lambda p: pl.run_bro(p, 0.02, 150, seed=1, variant="reciprocal"),
    lambda p: pl.run_sgd(p, 0.02, 150, batch_fraction=0.3, seed=1),
    lambda p: pl.run_sgd(p, 0.02, 150, batch_size=40, seed=1),
    lambda p: pl.run_sgd(p, 0.02, 150, batch_fraction=0.3, variant="pair", seed=1),
])
def test_thread_count_does_not_change_the_result(run):
    p = pl.random_packing(1500, 0.66, seed=50)
    numba.set_num_threads(1)
    try:
        one = run(p)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    two = run(p)
    assert one.packing == two.packing
    np.testing.assert_array_equal(one.loss, two.loss)


def test_gd_is_sgd_with_batch_fraction_one():
    p = pl.random_packing(300, 0.6, seed=60)
    a = pl.run_gd(p, 0.05, 100, seed=1)
    b = pl.run_sgd(p, 0.05, 100, batch_fraction=1.0, seed=99)
    assert a.packing == b.packing  # no randomness left when every sphere moves


def test_coincident_centres_separate_without_nan():
    p = pl.Packing([[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]], box=6.0)
    for r in (pl.run_bro(p, 0.1, 100, seed=1), pl.run_gd(p, 0.1, 100)):
        assert np.all(np.isfinite(r.packing.positions))
        assert r.absorbed
    a = pl.run_bro(p, 0.1, 100, seed=1)
    b = pl.run_bro(p, 0.1, 100, seed=2)
    assert a.packing != b.packing


def test_sde_runs_and_absorbs_at_low_density():
    p = pl.random_packing(500, 0.4, seed=70)
    r = pl.run_sde(p, 3000, eps=0.02, seed=71, record_every=10)
    assert r.absorbed and r.params["dynamics"] == "sde-bro"
    r = pl.run_sde(p, 3000, lr=0.02, batch_fraction=0.75, seed=71)
    assert r.absorbed


@pytest.mark.parametrize("kind", ["distinct", "few values", "all equal"])
def test_batch_selection_takes_the_first_keys_of_a_stable_sort(kind):
    """The fixed-size batch is chosen by a histogram select instead of a
    sort: it must take exactly the first k keys of a stable sort, equal
    keys by position, or by a given order."""
    from packing_lite.dynamics import _select_smallest

    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 400))
        k = int(rng.integers(1, n + 1))
        if kind == "distinct":
            keys = rng.choice(2**62, n, replace=False).astype(np.uint64) * np.uint64(4)
        elif kind == "few values":  # many ties, spread over the top bits
            keys = rng.integers(0, 4, n).astype(np.uint64) << np.uint64(62)
        else:
            keys = np.full(n, np.uint64(2**64 - 1))
        chosen = np.zeros(n, dtype=bool)
        _select_smallest(keys, k, chosen, np.arange(n))
        expected = np.zeros(n, dtype=bool)
        expected[np.argsort(keys, kind="stable")[:k]] = True
        assert np.array_equal(chosen, expected), (n, k)
        # equal keys by a given order instead of by position
        order = rng.permutation(n).astype(np.int32)
        _select_smallest(keys, k, chosen, order)
        expected[:] = False
        expected[np.lexsort((order, keys))[:k]] = True
        assert np.array_equal(chosen, expected), (n, k)


def test_repr_of_a_run_names_its_state_and_survives_a_broken_one():
    run = pl.run_bro(pl.random_packing(50, phi=0.2, seed=1), eps=0.1, steps=400,
                     seed=2)
    assert run.absorbed
    assert repr(run) == (f"RunResult(bro, n=50, phi={run.packing.phi:.4f}, "
                         f"steps={run.steps}, absorbed, final f_a=0)")
    empty = dataclasses.replace(run, active_fraction=np.array([]), params=None,
                                packing=None)
    assert repr(empty) == (f"RunResult(run, packing=NoneType, steps={run.steps}, "
                           "absorbed, no records)")
    odd = dataclasses.replace(run, absorbed=np.array([True, False]))
    assert "absorbed=array([ True, False])" in repr(odd)
