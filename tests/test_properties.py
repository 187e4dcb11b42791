"""Property-based checks: any input gives a correct result or a clear error.

"Clear" means a ValueError or TypeError whose message names the parameter.
Never an exception from inside a compiled kernel, never NaN positions,
never a hang.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import packing_lite as pl
from conftest import brute_force_gradient

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

reals = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10),
    st.sampled_from([0.0, 1.0, 1e-300, 1e300, -0.0]),
)


def _names(message, *names):
    return any(name in message for name in names)


@SETTINGS
@given(n=st.integers(-2, 60), phi=reals, dim=st.integers(-1, 6),
       radius=st.one_of(reals, st.just(None)))
def test_random_packing_any_input(n, phi, dim, radius):
    kwargs = {} if radius is None else {"radius": radius}
    try:
        p = pl.random_packing(n, phi, dim=dim, seed=0, **kwargs)
    except (ValueError, TypeError) as error:
        assert _names(str(error), "n must", "n=", "phi", "dim", "radius")
        return
    assert p.n == n and p.dim == dim
    assert p.phi == pytest.approx(phi, rel=1e-9)
    assert np.all(np.isfinite(p.positions))


@st.composite
def packings(draw):
    dim = draw(st.integers(1, 5))
    n = draw(st.integers(2, 40))
    x = draw(st.lists(st.floats(-20, 20), min_size=n * dim, max_size=n * dim))
    positions = np.array(x).reshape(n, dim)
    if draw(st.booleans()):  # force coincident centres
        positions[1] = positions[0]
    if draw(st.booleans()):
        radius = np.array(draw(st.lists(st.floats(0.05, 1.5), min_size=n, max_size=n)))
    else:
        radius = draw(st.floats(0.05, 1.5))
    # the narrowest valid box is twice the largest contact distance
    narrowest = 4.0 * float(np.max(radius))
    box = draw(st.floats(narrowest, narrowest + 8.0))
    return pl.Packing(positions, box, radius)


@SETTINGS
@given(radius=st.floats(0.05, 1.5), ratio=st.floats(0.01, 1.0, exclude_max=True),
       dim=st.integers(1, 5))
def test_box_narrower_than_two_contact_distances_is_refused(radius, ratio, dim):
    box = 4.0 * radius * ratio
    positions = np.zeros((3, dim))
    with pytest.raises(ValueError, match=r"radius and box: the contact distance "
                       r"2 \* max radius = .* must be at most box / 2"):
        pl.Packing(positions, box, radius)


@SETTINGS
@given(packings())
def test_loss_gradient_and_pairs_match_brute_force(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        loss, grad = brute_force_gradient(p)
    coincident = not np.all(np.isfinite(grad))  # a pair at distance 0
    assert pl.hinge_loss(p) == pytest.approx(loss, rel=1e-9, abs=1e-9)
    g = pl.loss_gradient(p)
    assert np.all(np.isfinite(g))
    if not coincident:
        np.testing.assert_allclose(g, grad, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(pl.overlapping_pairs(p), pl.brute_force_pairs(p))


@SETTINGS
@given(p=packings(), eps=st.floats(1e-4, 2.0), steps=st.integers(0, 30),
       variant=st.sampled_from(["particle", "reciprocal", "nonreciprocal"]),
       seed=st.integers(0, 2**63 - 1))
def test_bro_never_produces_nan(p, eps, steps, variant, seed):
    r = pl.run_bro(p, min(eps, p.box), steps, seed=seed, variant=variant)
    assert np.all(np.isfinite(r.packing.positions))
    assert np.all((r.packing.positions >= 0) & (r.packing.positions < p.box))
    assert 0 <= r.steps <= steps
    assert r.absorbed == (r.active_fraction[-1] == 0)
    assert r.active_fraction[-1] == pytest.approx(pl.active_mask(r.packing).mean())


@SETTINGS
@given(p=packings(), lr=st.floats(1e-4, 2.0), steps=st.integers(0, 30),
       rule=st.one_of(st.floats(0.01, 1.0).map(lambda b: {"batch_fraction": b}),
                      st.integers(1, 50).map(lambda b: {"batch_size": b})),
       pair=st.booleans(), seed=st.integers(0, 2**63 - 1))
def test_sgd_never_produces_nan(p, lr, steps, rule, pair, seed):
    variant = "pair" if pair and "batch_fraction" in rule else "particle"
    r = pl.run_sgd(p, min(lr, p.box), steps, seed=seed, variant=variant, **rule)
    assert np.all(np.isfinite(r.packing.positions))
    assert r.loss[-1] == pytest.approx(pl.hinge_loss(r.packing), rel=1e-9, abs=1e-12)


@SETTINGS
@given(eps=reals, lr=reals, b=reals, steps=st.one_of(st.integers(-3, 5), reals),
       size=st.one_of(st.integers(-3, 5), reals))
def test_run_parameters_any_input(eps, lr, b, steps, size):
    p = pl.random_packing(20, 0.5, seed=1)
    for call, names in [
        (lambda: pl.run_bro(p, eps, steps, seed=1), ("eps", "steps")),
        (lambda: pl.run_sgd(p, lr, steps, batch_fraction=b, seed=1),
         ("lr", "steps", "batch_fraction")),
        (lambda: pl.run_sgd(p, lr, steps, batch_size=size, seed=1),
         ("lr", "steps", "batch_size")),
    ]:
        try:
            r = call()
        except (ValueError, TypeError) as error:
            assert _names(str(error), *names), str(error)
        else:
            assert np.all(np.isfinite(r.packing.positions))


def test_a_single_active_pair_and_an_empty_batch():
    # one overlapping pair among many spheres; a tiny batch fraction often
    # draws an empty batch, which must simply leave the spheres in place
    x = np.array([[0.0, 0.0], [0.9, 0.0], [3.0, 3.0], [6.0, 6.0]])
    p = pl.Packing(x, 10.0)
    r = pl.run_sgd(p, 0.1, 5000, batch_fraction=0.01, seed=3)
    assert r.absorbed
    np.testing.assert_array_equal(r.packing.positions[2:], x[2:])


def test_box_of_exactly_two_contact_distances():
    # the narrowest box the minimum-image convention allows
    positions = np.random.default_rng(4).uniform(0.0, 2.0, size=(6, 3))
    p = pl.Packing(positions, 2.0)
    r = pl.run_bro(p, 0.05, 500, seed=5)
    loss, _ = brute_force_gradient(r.packing)
    assert r.loss[-1] == pytest.approx(loss, abs=1e-12)


def test_density_above_one_stays_active_without_error():
    p = pl.random_packing(200, 0.95, seed=6)
    r = pl.run_bro(p, 0.05, 200, seed=7)
    assert not r.absorbed and r.active_fraction[-1] == 1.0
