"""Estimators of the critical point on synthetic data with known answers.

Tolerances are stated in standard errors, derived from the noise put into
the data or from the number of replicas; Z = 4 standard errors gives a
false alarm about once in 16 000 checks, and every test is seeded.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packing_lite import analysis as an

Z = 4.0


def ar1(rng, n, rho, sigma, mean=0.0):
    """Stationary AR(1) series with innovation sd ``sigma``."""
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma / math.sqrt(1 - rho**2))
    noise = rng.normal(0.0, sigma, n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + noise[i]
    return mean + x


# ---------------------------------------------------------------------------
# block averaging and steady states


def test_block_error_matches_ar1_closed_form():
    # Var(mean) of AR(1) for n >> correlation time: s_x^2 (1+rho)/(1-rho)/n.
    rng = np.random.default_rng(1)
    rho, sigma, n, reps = 0.9, 1.0, 16_000, 40
    sx2 = sigma**2 / (1 - rho**2)
    true_var = sx2 * (1 + rho) / (1 - rho) / n
    est = np.array([an.block_error(ar1(rng, n, rho, sigma), 8) ** 2
                    for _ in range(reps)])
    # each estimate is ~ chi2 with 7 dof / 7: relative sd sqrt(2/7)
    rel_se = math.sqrt(2 / 7) / math.sqrt(reps)
    assert abs(est.mean() / true_var - 1) < Z * rel_se
    # the naive error ignores correlations and is ~ 19 times too small
    naive = sx2 / n
    assert est.mean() > 5 * naive


def test_block_error_small_inputs():
    assert math.isnan(an.block_error([0.3]))
    # two samples: two blocks of one, the naive error
    assert an.block_error([0.0, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n_blocks"):
        an.block_error([1.0, 2.0], n_blocks=1)
    with pytest.raises(ValueError, match="n_blocks must be >= 4"):
        an.steady_state([0, 1, 2, 3], [0.5] * 4, n_blocks=2)


def test_stationary_series_is_steady_and_unbiased():
    rng = np.random.default_rng(2)
    reps, n, mean = 60, 4000, 0.3
    times = np.arange(n) * 10
    states = [an.steady_state(times, ar1(rng, n, 0.8, 0.005, mean))
              for _ in range(reps)]
    rejected = sum(not s.steady for s in states)
    # drift within 2 standard errors from 8 blocks (t with 6 dof):
    # P(reject) = 0.092; binomial upper bound at Z sigma
    p = 0.092
    assert rejected <= reps * p + Z * math.sqrt(reps * p * (1 - p))
    z = np.array([(s.f_a - mean) / s.f_a_err for s in states])
    assert np.all(np.abs(z) < 6)
    assert 0.6 < z.std() < 1.6  # t-like with 7 dof, sd ~ 1.18
    assert all(not s.absorbed for s in states)


def test_drifting_series_is_not_steady():
    rng = np.random.default_rng(3)
    n = 2000
    times = np.arange(n)
    f = np.linspace(0.6, 0.3, n) + rng.normal(0, 0.005, n)
    state = an.steady_state(times, f)
    assert not state.steady
    assert state.drift < 0
    # with an absolute allowance larger than the drift it passes
    assert an.steady_state(times, f, atol=0.2).steady


def test_relaxed_series_is_steady():
    rng = np.random.default_rng(4)
    times = np.arange(0, 20_000, 20)
    f = 0.25 + 0.7 * np.exp(-times / 500.0) + rng.normal(0, 0.003, times.size)
    state = an.steady_state(times, f)
    assert state.steady
    assert abs(state.f_a - 0.25) < Z * state.f_a_err
    assert state.start == pytest.approx(10_000, abs=20)


def test_absorbed_run():
    times = np.array([0, 20, 40, 57])
    f = np.array([0.9, 0.3, 0.01, 0.0])
    state = an.steady_state(times, f)
    assert state.absorbed and state.steady
    assert (state.f_a, state.f_a_err) == (0.0, 0.0)
    for method in an.TAU_METHODS:
        assert an.relaxation_time(times, f, method=method) == 57.0
    summary = an.summarize_run(times, f)
    assert summary["absorption_time"] == 57.0
    # explicit absorbed=False overrides the inference from the last record
    assert not an.steady_state(times, f, absorbed=False).absorbed


def test_short_window_is_not_steady():
    state = an.steady_state([0, 1, 2, 3], [0.5, 0.5, 0.5, 0.5])
    assert not state.steady  # fewer than min_samples records


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(times=[0, 1], f_a=[0.5]), "f_a must have the same length"),
        (dict(times=[0, 0, 1], f_a=[0.5, 0.5, 0.5]), "strictly increasing"),
        (dict(times=[0, 1], f_a=[0.5, 1.5]), r"f_a must lie in \[0, 1\]"),
        (dict(times=[0, 1], f_a=[0.5, 0.4], window=0.0), "window must be in"),
        (dict(times=[0, 1], f_a=[0.5, 0.4], n_sigma=-1), "n_sigma must be in"),
        (dict(times=[[0, 1]], f_a=[0.5, 0.4]), "times must be 1-D"),
    ],
)
def test_steady_state_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        an.steady_state(**kwargs)


# ---------------------------------------------------------------------------
# relaxation times


def exp_relaxation(tau0, f_ss, t_max):
    times = np.arange(0, t_max + 1, dtype=float)
    return times, f_ss + (1 - f_ss) * np.exp(-times / tau0)


@pytest.mark.parametrize("tau0", [50.0, 100.0, 200.0])
def test_relaxation_times_on_exponential_decay(tau0):
    f_ss, rtol = 0.2, 0.1
    times, f = exp_relaxation(tau0, f_ss, 40 * tau0)
    state = an.steady_state(times, f)
    assert state.steady
    reach = an.relaxation_time(times, f, method="reach", rtol=rtol, smooth=1)
    expected = tau0 * math.log((1 - f_ss) / (rtol * f_ss))
    assert abs(reach - expected) <= 1.0  # one record
    area = an.relaxation_time(times, f, method="area")
    # int_0^inf (1 - f_ss) e^{-t/tau0} dt / f_ss, trapezoid error ~ 1/(12 tau0)
    assert area == pytest.approx(tau0 * (1 - f_ss) / f_ss, rel=1e-3)


def test_relaxation_times_scale_with_tau():
    ratios = {"reach": [], "area": []}
    for tau0 in (50.0, 100.0, 400.0):
        times, f = exp_relaxation(tau0, 0.3, 40 * tau0)
        for method in ratios:
            ratios[method].append(
                an.relaxation_time(times, f, method=method, smooth=1) / tau0)
    for values in ratios.values():
        assert np.ptp(values) < 0.03 * np.mean(values)


def test_relaxation_time_rejects_unknown_method():
    times, f = exp_relaxation(10.0, 0.3, 400)
    with pytest.raises(ValueError, match="method must be one of"):
        an.relaxation_time(times, f, method="exp")


# ---------------------------------------------------------------------------
# ensembles


def test_ensemble_mean():
    mean, err = an.ensemble_mean([0.0, 0.2, 0.4, np.nan])
    assert mean == pytest.approx(0.2)
    assert err == pytest.approx(0.2 / math.sqrt(3))
    assert an.ensemble_mean([0.3], [0.01]) == (0.3, 0.01)
    assert all(math.isnan(v) for v in an.ensemble_mean([np.nan]))


# ---------------------------------------------------------------------------
# the critical point


PHI_C, BETA, AMP = 0.62, 0.84, 2.0


def synthetic_activity(rng, sigma, phi=None):
    if phi is None:
        phi = np.linspace(0.61, 0.68, 15)
    f = AMP * np.clip(phi - PHI_C, 0, None) ** BETA
    return phi, np.clip(f + rng.normal(0, sigma, phi.size), 0, None)


def test_power_law_fit_recovers_parameters():
    rng = np.random.default_rng(5)
    sigma = 0.004
    phi, f = synthetic_activity(rng, sigma)
    fit = an.fit_critical_point(phi, f, np.full(phi.size, sigma))
    assert abs(fit.phi_c - PHI_C) < Z * fit.phi_c_err
    assert abs(fit.beta - BETA) < Z * fit.beta_err
    assert abs(fit.amplitude - AMP) < Z * fit.amplitude_err
    assert fit.dof == phi.size - 3 and not fit.beta_fixed
    # chi2 with 12 dof: within Z sd of its mean
    assert abs(fit.chi2 - fit.dof) < Z * math.sqrt(2 * fit.dof)


def test_power_law_fit_errors_are_calibrated():
    # z-scores over independent datasets should have unit spread; the sd
    # of a sample sd from 80 values is about 1/sqrt(160) = 0.08
    rng = np.random.default_rng(6)
    sigma = 0.004
    z_phi, z_beta = [], []
    for _ in range(80):
        phi, f = synthetic_activity(rng, sigma, np.linspace(0.625, 0.68, 12))
        fit = an.fit_critical_point(phi, f, np.full(phi.size, sigma))
        z_phi.append((fit.phi_c - PHI_C) / fit.phi_c_err)
        z_beta.append((fit.beta - BETA) / fit.beta_err)
    # nonlinear fits are not exactly Gaussian: allow a margin beyond Z sd
    assert 1 - Z * 0.08 - 0.1 < np.std(z_phi) < 1 + Z * 0.08 + 0.1
    assert 1 - Z * 0.08 - 0.1 < np.std(z_beta) < 1 + Z * 0.08 + 0.1
    assert abs(np.mean(z_phi)) < Z / math.sqrt(80) + 0.15


def test_power_law_fit_with_fixed_beta_and_range():
    rng = np.random.default_rng(7)
    phi, f = synthetic_activity(rng, 0.004)
    free = an.fit_critical_point(phi, f, np.full(phi.size, 0.004))
    fixed = an.fit_critical_point(phi, f, np.full(phi.size, 0.004), beta=BETA)
    assert fixed.beta_fixed and fixed.beta == BETA and fixed.beta_err == 0
    assert fixed.phi_c_err < free.phi_c_err
    assert abs(fixed.phi_c - PHI_C) < Z * fixed.phi_c_err
    part = an.fit_critical_point(phi, f, beta=BETA, phi_range=(0.6, 0.65))
    assert part.n_points == np.sum(phi <= 0.65)
    with pytest.raises(ValueError, match="phi_range"):
        an.fit_critical_point(phi, f, phi_range=(0.6, 0.615))


def test_bootstrap_over_seeds_agrees_with_covariance():
    rng = np.random.default_rng(8)
    phi_grid = np.linspace(0.625, 0.68, 12)
    seeds, run_sd = 10, 0.015
    phi = np.repeat(phi_grid, seeds)
    f = AMP * (phi - PHI_C) ** BETA + rng.normal(0, run_sd, phi.size)
    boot = an.bootstrap_critical_point(phi, f, n_boot=150, seed=0)
    assert boot.n_failed == 0 and boot.samples.shape == (150, 3)
    means = np.array([f[phi == p].mean() for p in phi_grid])
    cov_fit = an.fit_critical_point(
        phi_grid, means, np.full(phi_grid.size, run_sd / math.sqrt(seeds)))
    # a bootstrap sd from 150 resamples has ~6 % relative error, the
    # sample-based errors ~ 1/sqrt(2 * seeds) more
    assert 0.5 < boot.phi_c_err / cov_fit.phi_c_err < 2.0
    assert abs(boot.phi_c - PHI_C) < Z * boot.phi_c_err


def test_half_absorbed_logistic():
    rng = np.random.default_rng(9)
    grid = np.linspace(0.60, 0.64, 9)
    runs = 40
    phi = np.repeat(grid, runs)
    p = 1 / (1 + np.exp((phi - PHI_C) / 0.006))
    hit = rng.random(phi.size) < p
    # absorbed runs absorb before T, the others never or after T
    times = np.where(hit, 500.0, np.where(rng.random(phi.size) < 0.5, np.nan, 5e4))
    est = an.phi_c_half_absorbed(phi, times, T=1000)
    assert est.method == "logistic"
    assert abs(est.phi_c - PHI_C) < Z * est.phi_c_err
    assert est.width == pytest.approx(0.006, rel=0.5)
    assert est.counts.tolist() == [runs] * grid.size


def test_half_absorbed_separated_data_uses_the_gap():
    phi = np.repeat([0.58, 0.60, 0.62, 0.64], 3)
    times = np.where(phi <= 0.60, 100.0, np.inf)
    est = an.phi_c_half_absorbed(phi, times, T=200)
    assert est.method == "gap"
    assert est.phi_c == pytest.approx(0.61)
    assert est.phi_c_err == pytest.approx(0.02 / math.sqrt(12))
    # a budget shorter than every absorption time leaves nothing absorbed
    with pytest.raises(ValueError, match="must change across phi"):
        an.phi_c_half_absorbed(phi, times, T=50)


def test_extrapolation_to_zero():
    x = np.array([0.01, 0.02, 0.04, 0.08])
    y = 0.64 - 0.5 * x
    exact = an.extrapolate_to_zero(x, y, np.full(4, 1e-3))
    assert exact.intercept == pytest.approx(0.64, abs=1e-12)
    assert exact.slope == pytest.approx(-0.5, abs=1e-10)

    rng = np.random.default_rng(10)
    err = np.full(4, 2e-3)
    noisy = y + rng.normal(0, 2e-3, 4)
    fit = an.extrapolate_to_zero(x, noisy, err)
    assert abs(fit.intercept - 0.64) < Z * fit.intercept_err
    # unweighted, scaled covariance equals numpy's polyfit
    unw = an.extrapolate_to_zero(x, noisy)
    coef, cov = np.polyfit(x, noisy, 1, cov=True)
    assert unw.intercept == pytest.approx(coef[1])
    assert unw.intercept_err == pytest.approx(math.sqrt(cov[1, 1]))
    with pytest.raises(ValueError, match="at least 3 points"):
        an.extrapolate_to_zero(x[:2], y[:2])


# ---------------------------------------------------------------------------
# finite-size scaling


def test_scaling_powers_in_3d():
    p = an.scaling_powers("manna-3d")
    assert p.activity == pytest.approx(0.475, abs=5e-4)
    assert p.distance == pytest.approx(0.565, abs=5e-4)
    assert p.time == pytest.approx(0.610, abs=5e-4)
    mf = an.scaling_powers("mean-field")
    assert mf == pytest.approx((0.5, 0.5, 0.5))
    assert an.exponent_set("manna-3d").z == pytest.approx(1.08 / 0.59)
    with pytest.raises(ValueError, match="exponents must be"):
        an.exponent_set("manna-5d")


def scaling_data(rng, exponents, noise=0.01):
    """f_a and tau of a finite-size scaling form, relative noise ``noise``."""
    pw = an.scaling_powers(exponents, dim=3)
    beta = an.exponent_set(exponents).beta
    phi = np.tile(np.linspace(0.60, 0.66, 31), 4)
    n = np.repeat([500, 1000, 2000, 4000], 31).astype(float)
    x = (phi - PHI_C) * n**pw.distance
    f = n ** (-pw.activity) * (0.5 * np.logaddexp(0, 2 * x)) ** beta
    tau = n**pw.time / (1 + x**2) ** 0.5
    f *= 1 + rng.normal(0, noise, f.size)
    tau *= 1 + rng.normal(0, noise, f.size)
    return phi, n, f, tau


@pytest.mark.parametrize("true", ["manna-3d", "mean-field"])
def test_collapse_is_best_for_the_true_exponents(true):
    rng = np.random.default_rng(11)
    phi, n, f, tau = scaling_data(rng, true)
    q_f, q_tau = {}, {}
    for name in ("manna-2d", "manna-3d", "mean-field"):
        x, y = an.rescale_activity(phi, f, n, PHI_C, name, dim=3)
        q_f[name] = an.collapse_quality(x, y, n)
        x, y = an.rescale_tau(phi, tau, n, PHI_C, name, dim=3)
        q_tau[name] = an.collapse_quality(x, y, n, log=True)
    for name in q_f:
        if name != true:
            assert q_f[true] < q_f[name] / 3
            assert q_tau[true] < q_tau[name] / 3


def test_collapse_quality_properties():
    rng = np.random.default_rng(12)
    phi, n, f, _ = scaling_data(rng, "manna-3d")
    x, y = an.rescale_activity(phi, f, n, PHI_C)
    q = an.collapse_quality(x, y, n)
    assert an.collapse_quality(x, 7.0 * y, n) == pytest.approx(q)
    # with errors, an exact collapse within the errors gives about 1
    err = 0.01 * y
    assert 0.5 < an.collapse_quality(x, y, n, y_err=err) < 2.0
    # curves with disjoint ranges do not overlap
    assert math.isnan(an.collapse_quality([0, 1, 2, 3], [1, 1, 1, 1], [1, 1, 2, 2]))


def test_fit_collapse_finds_phi_c():
    rng = np.random.default_rng(13)
    phi, n, f, _ = scaling_data(rng, "manna-3d", noise=0.005)
    fit = an.fit_collapse(phi, f, n, (0.60, 0.64), exponents="manna-3d")
    # grid spacing of the data is 0.002; noise shifts the optimum far less
    assert abs(fit.phi_c - PHI_C) < 0.002
    assert fit.quality <= np.min(fit.qualities)
    with pytest.raises(ValueError, match="quantity"):
        an.fit_collapse(phi, f, n, (0.6, 0.64), quantity="loss")
    with pytest.warns(RuntimeWarning, match="edge of bounds"):
        an.fit_collapse(phi, f, n, (0.60, 0.61))


# ---------------------------------------------------------------------------
# properties


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-0.05, 0.05))
def test_collapse_quality_ignores_point_order_and_phi_c_shift_of_x(seed, shift):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 40)
    group = rng.integers(0, 3, 40)
    y = np.tanh(x) + rng.normal(0, 0.05, 40)
    q = an.collapse_quality(x, y, group)
    order = rng.permutation(40)
    assert an.collapse_quality(x[order], y[order], group[order]) == pytest.approx(
        q, nan_ok=True)
    # shifting every x by the same amount changes nothing
    assert an.collapse_quality(x + shift, y, group) == pytest.approx(q, nan_ok=True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 0.9))
def test_steady_state_of_a_scaled_series_scales(seed, scale):
    rng = np.random.default_rng(seed)
    times = np.arange(400)
    f = np.clip(0.5 + rng.normal(0, 0.05, 400), 0.01, 1)
    a, b = an.steady_state(times, f), an.steady_state(times, scale * f)
    assert b.f_a == pytest.approx(scale * a.f_a)
    assert b.f_a_err == pytest.approx(scale * a.f_a_err)
    assert b.steady == a.steady


def test_half_absorbed_refuses_runs_that_absorb_at_high_phi():
    rng = np.random.default_rng(9)
    grid = np.linspace(0.60, 0.64, 9)
    phi = np.repeat(grid, 40)
    p = 1 / (1 + np.exp(-(phi - PHI_C) / 0.006))  # absorbed fraction grows
    times = np.where(rng.random(phi.size) < p, 500.0, np.nan)
    with pytest.raises(ValueError, match="absorb at the low volume fractions"):
        an.phi_c_half_absorbed(phi, times, T=1000)
    separated = np.repeat([0.58, 0.60, 0.62, 0.64], 3)
    with pytest.raises(ValueError, match="absorb at the low volume fractions"):
        an.phi_c_half_absorbed(separated, np.where(separated > 0.6, 100.0, np.inf),
                               T=200)


def test_half_absorbed_refuses_negative_times():
    phi = np.repeat([0.58, 0.60, 0.62], 2)
    times = np.array([10.0, -5.0, 10.0, np.nan, np.inf, np.nan])
    with pytest.raises(ValueError, match="absorption_time must be >= 0"):
        an.phi_c_half_absorbed(phi, times, T=100)
    with pytest.raises(ValueError, match="absorption_time must be >= 0"):
        an.phi_c_half_absorbed(phi, np.where(times < 0, -np.inf, times), T=100)


def test_power_law_fit_refuses_too_few_distinct_phi_and_f_a_outside_0_1():
    with pytest.raises(ValueError, match="more than 3 distinct volume fractions "
                                         "to fit, got 1"):
        an.fit_critical_point([0.62] * 5, [0.1, 0.12, 0.11, 0.09, 0.1])
    with pytest.raises(ValueError, match="more than 2 distinct volume fractions "
                                         "to fit, got 2"):
        an.fit_critical_point([0.62, 0.62, 0.63, 0.63], [0.1, 0.1, 0.2, 0.2],
                              beta=0.84)
    phi = np.linspace(0.62, 0.66, 6)
    with pytest.raises(ValueError, match=r"f_a must lie in \[0, 1\]"):
        an.fit_critical_point(phi, np.linspace(0.2, 1.2, 6))


def test_power_law_fit_warns_when_a_parameter_ends_on_its_limit():
    # all points far above the transition and flat: phi_c runs to its
    # lower limit and beta to its smallest value
    phi = np.linspace(0.66, 0.72, 7)
    f_a = np.full(7, 0.95) + 0.001 * np.sin(np.arange(7))
    with pytest.warns(RuntimeWarning, match="ended on the limit of its range"):
        fit = an.fit_critical_point(phi, f_a)
    assert "phi_c" in fit.at_limit
    # a good fit says nothing
    good = AMP * (phi - 0.64) ** BETA
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert an.fit_critical_point(phi, good).at_limit == ()


def test_bootstrap_names_a_bad_seed():
    phi = np.repeat(np.linspace(0.62, 0.66, 6), 3)
    with pytest.raises(ValueError, match="seed"):
        an.bootstrap_critical_point(phi, np.full(phi.size, 0.5), seed=-1)


def test_half_absorbed_refuses_data_without_a_step_from_absorbed_to_active():
    phi = np.repeat([0.60, 0.61, 0.62, 0.63, 0.64], 4)
    both_ends = np.where((phi < 0.605) | (phi > 0.635), 100.0, np.nan)
    with pytest.raises(ValueError, match="outside the volume fractions given"):
        an.phi_c_half_absorbed(phi, both_ends, T=1000)
    with pytest.raises(ValueError, match="does not fall with phi"):
        an.phi_c_half_absorbed(phi, np.tile([100.0, np.nan], 10), T=1000)


@pytest.mark.parametrize("args, error, match", [
    (("x", 1.0, 0.0, 1.0, 3), ValueError, r"nu_perp must be in \(0, inf\)"),
    (("x", 1.0, 0.5, 1.0, 0), ValueError, "dim must be >= 1"),
    (("x", "a", 0.5, 1.0, 3), TypeError, "beta must be a real number"),
    (("x", float("nan"), 0.5, 1.0, 3), ValueError, "beta must be finite"),
])
def test_exponent_sets_are_checked_when_made(args, error, match):
    with pytest.raises(error, match=match):
        an.ExponentSet(*args)


def test_ensemble_mean_refuses_a_negative_error():
    with pytest.raises(ValueError, match="errors must be >= 0"):
        an.ensemble_mean([1.0], [-1.0])


def test_the_shipped_exponent_sets_are_read_only():
    with pytest.raises(TypeError):
        an.EXPONENT_SETS["manna-3d"] = an.ExponentSet("x", 1.0, 1.0, 1.0, 3)
    assert an.exponent_set("manna-3d").beta == 0.84


def test_an_absorbed_flag_must_agree_with_the_last_record():
    times = np.arange(10)
    with pytest.raises(ValueError, match="absorbed is True, but the last record "
                                         "has f_a = 0.3"):
        an.steady_state(times, np.full(10, 0.3), absorbed=True)
    state = an.steady_state(times, np.r_[np.full(9, 0.3), 0.0], absorbed=True)
    assert state.f_a == 0.0 and state.absorbed
