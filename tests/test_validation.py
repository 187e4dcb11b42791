"""Every bad input gets a clear error naming the parameter and its range."""

import numpy as np
import pytest

import packing_lite as pl


@pytest.fixture(scope="module")
def packing():
    return pl.random_packing(50, 0.5, seed=1)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(n=50, phi=0.0), ValueError, r"phi must be in \(0, 1\)"),
    (dict(n=50, phi=1.0), ValueError, r"phi must be in \(0, 1\)"),
    (dict(n=50, phi=-0.2), ValueError, r"phi must be in \(0, 1\)"),
    (dict(n=50, phi=float("nan")), ValueError, r"phi must be finite"),
    (dict(n=50, phi="0.5"), TypeError, r"phi must be a real number"),
    (dict(n=1, phi=0.5), ValueError, r"n must be >= 2"),
    (dict(n=2.5, phi=0.5), TypeError, r"n must be an integer"),
    (dict(n=50, phi=0.5, dim=0), ValueError, r"dim must be >= 1"),
    (dict(n=50, phi=0.5, radius=0.0), ValueError, r"radius must be in \[1e-150, 1e\+150\]"),
    (dict(n=50, phi=0.5, radius=-1.0), ValueError, r"radius must be in \[1e-150, 1e\+150\]"),
    (dict(n=50, phi=0.5, radius=np.ones(3)), ValueError, r"radius must be .* shape \(50,\)"),
    (dict(n=3, phi=0.5, radius=[0.5, 0.0, 0.5]), ValueError,
     r"radius must be finite and in \[1e-150, 1e\+150\] for every sphere .* got 0 "
     r"for sphere 1"),
    (dict(n=50, phi=0.5, seed=-1), ValueError, r"seed must be in \[0, 2\*\*63\)"),
    (dict(n=50, phi=0.5, seed=1.5), TypeError, r"seed must be None, an integer"),
])
def test_random_packing_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        pl.random_packing(**kwargs)


@pytest.mark.parametrize("positions,box,match", [
    (np.zeros(6), 5.0, r"positions must have shape \(n, dim\)"),
    (np.zeros((1, 3)), 5.0, r"positions must have shape \(n, dim\) with n >= 2"),
    (np.zeros((4, 0)), 5.0, r"positions must have shape"),
    ([[0, 0], [np.nan, 1]], 5.0, r"positions must be finite"),
    ([[0, 0], [np.inf, 1]], 5.0, r"positions must be finite"),
    (np.zeros((3, 2)), 0.0, r"box must be in \[1e-150, 1e\+150\]"),
    (np.zeros((3, 2)), 1e151, r"box must be in \[1e-150, 1e\+150\], got 1e\+151"),
    (np.zeros((3, 2)), 1e-151, r"box must be in \[1e-150, 1e\+150\], got 1e-151"),
    (np.zeros((3, 2)), np.inf, r"box must be finite"),
    (np.zeros((3, 2)), 10**400,
     r"box must be finite and in \[1e-150, 1e\+150\], got a number too large"),
    ([[10**400, 0.0], [0.0, 1.0]], 5.0,
     r"positions must be finite, got a number too large for a float"),
])
def test_packing_rejects(positions, box, match):
    with pytest.raises(ValueError, match=match):
        pl.Packing(positions, box)


def test_packing_rejects_text_positions():
    with pytest.raises(TypeError, match="positions must be a real"):
        pl.Packing([["a", "b"], ["c", "d"]], 5.0)


@pytest.mark.parametrize("eps", [0.0, -0.1, np.nan, np.inf, 1e300, 100.0])
def test_bro_rejects_eps(packing, eps):
    with pytest.raises(ValueError, match=r"eps must be .*\(0, 3.74\d*\]"):
        pl.run_bro(packing, eps, 10)


@pytest.mark.parametrize("call", [
    lambda: pl.ball_volume(10**400),
    lambda: pl.random_packing(100, 0.3, dim=10**400),
])
def test_a_dimension_beyond_the_bound_is_named_by_its_size(call):
    with pytest.raises(ValueError,
                       match="dim must be <= 2147483647, got an integer of about 401 digits"):
        call()


def test_bro_rejects_an_integer_beyond_the_floats(packing):
    with pytest.raises(ValueError, match=r"eps must be finite and in \(0, 3.74\d*\]"):
        pl.run_bro(packing, 10**400, 10)


@pytest.mark.parametrize("lr", [0.0, -1.0, np.nan, np.inf, 5.0])
def test_sgd_rejects_lr(packing, lr):
    with pytest.raises(ValueError, match=r"lr must be .*\(0, 3.74\d*\]"):
        pl.run_sgd(packing, lr, 10, batch_fraction=0.5)


@pytest.mark.parametrize("b", [0.0, -0.5, 1.01, np.nan])
def test_sgd_rejects_batch_fraction(packing, b):
    with pytest.raises(ValueError, match=r"batch_fraction must be .*\(0, 1\]"):
        pl.run_sgd(packing, 0.02, 10, batch_fraction=b)


def test_sgd_rejects_batch_size(packing):
    with pytest.raises(ValueError, match=r"batch_size must be >= 1"):
        pl.run_sgd(packing, 0.02, 10, batch_size=0)
    with pytest.raises(TypeError, match=r"batch_size must be an integer"):
        pl.run_sgd(packing, 0.02, 10, batch_size=2.5)


def test_sgd_needs_exactly_one_batch_rule(packing):
    with pytest.raises(ValueError, match="exactly one of batch_fraction"):
        pl.run_sgd(packing, 0.02, 10)
    with pytest.raises(ValueError, match="exactly one of batch_fraction"):
        pl.run_sgd(packing, 0.02, 10, batch_fraction=0.5, batch_size=3)


@pytest.mark.parametrize("call,match", [
    (lambda p: pl.run_bro(p, 0.02, -1), r"steps must be >= 0"),
    (lambda p: pl.run_bro(p, 0.02, 1.5), r"steps must be an integer"),
    (lambda p: pl.run_bro(p, 0.02, 10, record_every=0), r"record_every must be >= 1"),
    # above the 64-bit range the kernels would see a wrapped integer
    (lambda p: pl.run_bro(p, 0.02, 5, record_every=2**63),
     r"record_every must be <= 4611686018427387904"),
    (lambda p: pl.run_sgd(p, 0.02, 5, batch_size=2**63),
     r"batch_size must be <= 2147483647"),
    (lambda p: pl.run_bro(p, 0.02, 10, variant="pairs"), r"variant must be one of"),
    (lambda p: pl.run_sgd(p, 0.02, 10, batch_fraction=0.5, variant="x"),
     r"variant must be one of"),
    (lambda p: pl.run_bro(p.positions, 0.02, 10), r"packing must be a packing_lite"),
    (lambda p: pl.run_sde(p, 10), r"give eps"),
    (lambda p: pl.run_sde(p, 10, eps=0.1, lr=0.1), r"not both"),
    (lambda p: pl.sample_displacements(p, "bro", 0, eps=0.1), r"samples must be >= 1"),
    (lambda p: pl.sample_displacements(p, "gd", 5, eps=0.1), r"dynamics must be one of"),
    (lambda p: pl.sample_displacements(p, "bro", 5, particles=[50], eps=0.1),
     r"particles must be indices in \[0, 49\]"),
])
def test_run_arguments_are_checked(packing, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(packing)


def test_zero_steps_records_the_initial_state(packing):
    r = pl.run_bro(packing, 0.02, 0, seed=1)
    assert r.steps == 0
    np.testing.assert_array_equal(r.times, [0])
    assert r.packing == packing


# ------------------------------------------------ sizes that cannot be allocated
# regression: huge n or steps reached numpy, which failed with a MemoryError
# ("Unable to allocate 7.28 TiB") or "Maximum allowed dimension exceeded"
from packing_lite import _validation  # noqa: E402
from packing_lite import sweep  # noqa: E402


@pytest.mark.parametrize("n", [10**12, 2**31])
def test_random_packing_bounds_n(n):
    with pytest.raises(ValueError, match=r"n must be <= 2147483647"):
        pl.random_packing(n, phi=0.5, dim=3, seed=1)


def test_check_steps_bounds_the_records():
    assert _validation.check_steps(10**8 - 1, 1) == (10**8 - 1, 1)
    assert _validation.check_steps(10**18, 10**10 + 1) == (10**18, 10**10 + 1)
    with pytest.raises(ValueError, match=r"steps=10+ with record_every=1 .* "
                       r"raise record_every to at least 10000000001"):
        _validation.check_steps(10**18, 1)
    with pytest.raises(ValueError, match=r"steps must be <= \d+, got 10{30}"):
        _validation.check_steps(10**30, 10**25)
    with pytest.raises(ValueError, match=r"steps must be <= 10\b"):
        _validation.check_steps(11, 1, first_step=_validation.MAX_STEPS - 10)
    with pytest.raises(ValueError, match=r"record_every must be >= 1"):
        _validation.check_steps(10, 0)


def test_check_samples_bounds_the_output():
    assert _validation.check_samples(10**6, 10, 10) == 10**6
    with pytest.raises(ValueError, match=r"samples=1000001 .* samples <= 1000000"):
        _validation.check_samples(10**6 + 1, 10, 10)


@pytest.mark.parametrize("steps,record_every,match", [
    (10**18, 1, r"steps=10+ with record_every=1 .* raise record_every"),
    (10**30, 1, r"steps must be <= \d+"),
])
def test_sweep_bounds_steps(steps, record_every, match):
    with pytest.raises(ValueError, match=match):
        sweep.run_sweep("bro", 0.5, 100, params={"eps": 0.02}, steps=steps,
                        record_every=record_every, progress=False)


def test_sweep_bounds_n():
    with pytest.raises(ValueError, match=r"n must be <= 2147483647"):
        sweep.run_sweep("bro", 0.5, [100, 10**12], params={"eps": 0.02},
                        steps=10, progress=False)


@pytest.mark.parametrize("run", [
    lambda p, **kw: pl.run_bro(p, 0.02, seed=1, **kw),
    lambda p, **kw: pl.run_sgd(p, 0.02, batch_fraction=0.5, seed=1, **kw),
    lambda p, **kw: pl.run_gd(p, 0.02, seed=1, **kw),
    lambda p, **kw: pl.run_sde(p, eps=0.02, seed=1, **kw),
])
@pytest.mark.parametrize("steps,match", [
    (10**18, r"steps=10+ with record_every=1 .* raise record_every"),
    (10**30, r"steps must be <= \d+"),
])
def test_runs_bound_steps(packing, run, steps, match):
    with pytest.raises(ValueError, match=match):
        run(packing, steps=steps)


def test_continue_run_bounds_steps(packing):
    result = pl.run_bro(packing, 0.02, 5, seed=1)
    with pytest.raises(ValueError, match=r"steps=10+ with record_every=1"):
        pl.continue_run(result, 10**18)
    with pytest.raises(ValueError, match=r"steps must be <= \d+"):
        pl.continue_run(result, 10**30)


def test_sample_displacements_bounds_samples(packing):
    with pytest.raises(ValueError, match=r"samples=10+ .* samples <= \d+"):
        pl.sample_displacements(packing, "bro", 10**12, eps=0.02, seed=1)


def test_sample_displacements_of_no_sphere_is_empty(packing):
    out = pl.sample_displacements(packing, "bro", 3, particles=[], eps=0.02, seed=1)
    assert out.shape == (3, 0, packing.dim)


@pytest.mark.parametrize("function", [
    pl.hinge_loss, pl.loss_gradient, pl.active_mask, pl.contact_numbers,
    pl.overlapping_pairs, pl.brute_force_pairs,
])
@pytest.mark.parametrize("value", [None, np.zeros((4, 3)), "packing"])
def test_packing_functions_name_a_wrong_argument(function, value):
    with pytest.raises(TypeError, match="packing must be a packing_lite.Packing"):
        function(value)


@pytest.mark.parametrize("positions", [
    np.array([[1 + 5j, 0, 0], [0, 0, 0]]),
    np.array([[True, False], [False, True]]),
    [["1", "2"], ["3", "4"]],
])
def test_packing_refuses_positions_that_are_not_real(positions):
    with pytest.raises(TypeError, match="positions must be a real"):
        pl.Packing(positions, 10.0)


def test_packing_refuses_complex_radii():
    with pytest.raises(TypeError, match="radius must be a real"):
        pl.Packing(np.zeros((2, 3)), 10.0, radius=np.array([0.5, 0.5 + 1j]))


@pytest.mark.parametrize("radius,error", [
    (-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError),
    ("1", TypeError), (True, TypeError),
])
def test_ball_volume_refuses_bad_radius(radius, error):
    with pytest.raises(error, match="radius must"):
        pl.ball_volume(3, radius)


def test_ball_volume_of_a_point_is_zero():
    assert pl.ball_volume(3, 0.0) == 0.0


@pytest.mark.parametrize("r", [np.nan, -0.5, [0.3, np.inf], [0.2, np.nan]])
def test_pair_loss_refuses_bad_distances(r):
    with pytest.raises(ValueError, match="r must hold finite distances >= 0"):
        pl.pair_loss(r)


@pytest.mark.parametrize("contact,error", [
    (-1.0, ValueError), (0.0, ValueError), (np.nan, ValueError), ("1", TypeError),
])
def test_pair_loss_refuses_bad_contact(contact, error):
    with pytest.raises(error, match="contact must"):
        pl.pair_loss(0.5, contact=contact)


def test_pair_loss_values():
    assert np.array_equal(pl.pair_loss([0.0, 0.4, 1.0, 2.0], contact=1.0),
                          [0.5, 0.3, 0.0, 0.0])


@pytest.mark.parametrize("progress", ["yes", 2, 1.0, None])
def test_runs_refuse_a_progress_that_is_not_a_bool(packing, progress):
    with pytest.raises(TypeError, match="progress must be True or False"):
        pl.run_bro(packing, 0.02, 5, progress=progress)
    result = pl.run_bro(packing, 0.02, 5, seed=1)
    with pytest.raises(TypeError, match="progress must be True or False"):
        pl.continue_run(result, 5, progress=progress)


def test_runs_accept_numpy_bools_for_progress(packing):
    assert pl.run_bro(packing, 0.02, 5, seed=1, progress=np.False_).steps == 5


def test_huge_boxes_and_radii_give_inf_or_zero_not_an_overflow():
    assert pl.Packing(np.full((5, 3), 0.5), 1e150).phi == 0.0
    assert "phi=0.0000" in repr(pl.Packing(np.full((5, 3), 0.5), 1e150))
    assert pl.ball_volume(3, 1e308) == np.inf
    assert pl.ball_volume(400, 0.0) == 0.0


@pytest.mark.parametrize("call,error,match", [
    (lambda an, t, f: an.steady_state(t, f, absorbed="no"), TypeError,
     "absorbed must be True or False"),
    (lambda an, t, f: an.steady_state(t, f + 0.5j), TypeError, "f_a must be a real"),
    (lambda an, t, f: an.steady_state(t, f > 0.5), TypeError, "f_a must be a real"),
    (lambda an, t, f: an.relaxation_time(t, f, steady="x"), TypeError,
     "steady must be a SteadyState"),
    (lambda an, t, f: an.relaxation_time(t, f, smooth=2**70), ValueError,
     "smooth must be <="),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, phi_range=0.6), TypeError,
     "phi_range must be a pair"),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, phi_range=(0.7, 0.6)), ValueError,
     "phi_range must be increasing"),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, p0=1), TypeError,
     "p0 must be three real numbers"),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, p0=(np.nan, 1, 1)), ValueError,
     "p0 must be finite"),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, beta=1e308), ValueError,
     r"beta must be in \(0, 50\]"),
    (lambda an, t, f: an.fit_critical_point(PHI, FA, absolute_sigma="yes"), TypeError,
     "absolute_sigma must be True or False"),
    (lambda an, t, f: an.extrapolate_to_zero([1, 2, 3], [1, 2, 3], absolute_sigma=1),
     TypeError, "absolute_sigma must be True or False"),
    (lambda an, t, f: an.collapse_quality([1, 2], [1, 2], [1, 1], log="no"), TypeError,
     "log must be True or False"),
    (lambda an, t, f: an.fit_collapse(PHI, FA, np.full(PHI.size, 100), None),
     TypeError, "bounds must be a pair"),
    (lambda an, t, f: an.fit_collapse(PHI, FA, np.full(PHI.size, 100), (0.5, 0.7),
                                      n_grid=2**70), ValueError, "n_grid must be <="),
])
def test_analysis_names_bad_options(call, error, match):
    from packing_lite import analysis
    times = np.arange(100)
    f_a = np.linspace(0.9, 0.3, 100)
    with pytest.raises(error, match=match):
        call(analysis, times, f_a)


PHI = np.array([0.62, 0.63, 0.64, 0.65, 0.66, 0.67])
FA = np.array([0.01, 0.05, 0.09, 0.13, 0.17, 0.21])


@pytest.mark.parametrize("call,error,match", [
    (lambda: pl.run_sweep("bro", [0.6], [100], params=3, steps=10), TypeError,
     "params must be a dict"),
    (lambda: pl.run_sweep(["bro"], [0.6], [100], params={"eps": [0.02]}, steps=10),
     ValueError, "dynamics must be one of"),
    (lambda: pl.run_sweep("bro", [0.6], [100], params={"eps": [0.02]}, steps=10,
                          progress="no"), TypeError, "progress must be True or False"),
    (lambda: pl.summarize_sweep(None), TypeError, "table must be a pandas.DataFrame"),
    (lambda: pl.run_sweep("bro", [0.6], [100], params={"eps": 0.02}, steps=10,
                          radius_ratio=np.nan), ValueError,
     r"radius_ratio must be finite and in \[2e-150, 2e\+150\], got nan"),
    (lambda: pl.run_sweep("bro", [10**400], [100], params={"eps": 0.02}, steps=10),
     ValueError, r"phi must be finite and in \(0, 1\), got a number too large"),
    (lambda: pl.run_sweep("bro", [0.5, 1 - 1e-14], [100], params={"eps": 0.02},
                          steps=10), ValueError, r"phi must be in \(0, 1\), got 1.0"),
    (lambda: pl.run_sweep("sgd", [0.6], [100], steps=10,
                          params={"lr": 0.02, "batch_fraction": 10**400}),
     ValueError, r"batch_fraction must be finite and in \(0, 1\], got a number"),
])
def test_sweeps_name_bad_options(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_structure_factor_checks_its_seed_and_grid(packing):
    with pytest.raises(TypeError, match="seed must be None, an integer"):
        pl.structure_factor(packing, 10.0, seed=object())
    with pytest.raises(ValueError, match="k_max=1e\\+06 in dim=3 asks for a grid"):
        pl.structure_factor(packing, 1e6)


def test_structure_factor_bin_width_is_at_most_k_max(packing):
    with pytest.raises(ValueError, match=r"bin_width must be in \[1e-05, 10\]"):
        pl.structure_factor(packing, 10.0, bin_width=1e308)
    wide = pl.structure_factor(packing, 10.0, bin_width=10.0)
    assert len(wide.q) <= 2 and wide.count.sum() == len(wide.k)


@pytest.mark.parametrize("radius", [1e-151, 1e151, [0.5, 1e-160], [0.5, np.nan]])
def test_packing_refuses_radii_whose_squares_leave_the_floats(radius):
    with pytest.raises(ValueError,
                       match=r"radius must be (finite and )?in \[1e-150, 1e\+150\]"):
        pl.Packing(np.zeros((2, 3)), 1e150, radius=radius)


@pytest.mark.parametrize("scale", [1e-149, 1e149])
def test_overlaps_are_found_at_both_ends_of_the_lengths_accepted(scale):
    """At 1e+-200 squared distances would overflow or underflow and every
    overlap would be missed; the lengths accepted keep them in range."""
    packing = pl.Packing(np.array([[0.0, 0.0, 0.0], [0.9, 0.0, 0.0]]) * scale,
                         10.0 * scale, radius=0.5 * scale)
    assert pl.active_mask(packing).tolist() == [True, True]
    assert pl.hinge_loss(packing) == pytest.approx(0.05 * scale, rel=1e-12)


@pytest.mark.parametrize("radius,dim", [(1e-150, 3), (1e-108, 3), (1e102, 3),
                                        (1e100, 4), (1e-100, 4)])
def test_random_packing_takes_radii_whose_powers_leave_the_floats(radius, dim):
    """radius**dim under- or overflows here; the box is found without it."""
    packing = pl.random_packing(200, 0.5, dim=dim, seed=1, radius=radius)
    unit = pl.random_packing(200, 0.5, dim=dim, seed=1, radius=1.0)
    assert packing.box == pytest.approx(radius * unit.box, rel=1e-12)
    assert packing.phi == pytest.approx(0.5, rel=1e-12)


def test_box_for_phi_counts_spheres_of_each_radius():
    radii = np.array([0.5, 0.7])
    assert pl.packing.box_for_phi(radii, 0.4, 3, counts=[3, 2]) == pytest.approx(
        pl.packing.box_for_phi(np.array([0.5, 0.5, 0.5, 0.7, 0.7]), 0.4, 3),
        rel=1e-14)
