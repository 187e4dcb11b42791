"""Tests of the structure factor against closed forms and brute force."""

import math

import numba
import numpy as np
import pytest

import packing_lite as pl
from packing_lite import observables as ob


def _brute_force_sk(positions, box, vectors):
    k = 2 * np.pi / box * vectors.astype(float)
    amplitude = np.exp(-1j * positions @ k.T).sum(axis=0)
    return np.abs(amplitude) ** 2 / positions.shape[0]


def _cubic_lattice(cells, spacing, dim):
    axis = np.arange(cells) * spacing
    grid = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1)
    return grid.reshape(-1, dim)


# --------------------------------------------------------------- wave vectors


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_wave_vectors_are_one_of_each_pair_inside_the_ball(dim):
    box, k_max = 7.0, 4.0
    vectors = ob.wave_vectors(box, dim, k_max)
    m_max = int(k_max / (2 * np.pi / box))
    axis = np.arange(-m_max, m_max + 1)
    every = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"),
                     axis=-1).reshape(-1, dim)
    norm = 2 * np.pi / box * np.sqrt((every**2).sum(axis=1))
    inside = (norm > 0) & (norm <= k_max)
    assert vectors.shape == (inside.sum() // 2, dim)
    as_set = {tuple(v) for v in vectors}
    assert len(as_set) == vectors.shape[0]
    for v in vectors:
        assert tuple(-v) not in as_set
    # sorted by length
    lengths = (vectors**2).sum(axis=1)
    assert np.all(np.diff(lengths) >= 0)


def test_wave_vectors_thinning_is_seeded_and_a_subset():
    full = {tuple(v) for v in ob.wave_vectors(10.0, 3, 5.0)}
    a = ob.wave_vectors(10.0, 3, 5.0, max_vectors=50, seed=3)
    b = ob.wave_vectors(10.0, 3, 5.0, max_vectors=50, seed=3)
    c = ob.wave_vectors(10.0, 3, 5.0, max_vectors=50, seed=4)
    assert a.shape == (50, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert {tuple(v) for v in a} <= full


# --------------------------------------------------------------- closed forms


@pytest.mark.parametrize("dim", [2, 3])
def test_simple_cubic_lattice_has_bragg_peaks_and_nothing_else(dim):
    # a lattice of spacing a in a box of 5a: S = N where every component
    # of m is a multiple of 5 (k on the reciprocal lattice), 0 elsewhere
    cells, spacing = 5, 1.3
    positions = _cubic_lattice(cells, spacing, dim)
    box = cells * spacing
    vectors = ob.wave_vectors(box, dim, 2.5 * 2 * np.pi / spacing)
    s = ob.structure_factor_vectors(positions, box, vectors)
    bragg = np.all(vectors % cells == 0, axis=1)
    assert bragg.any() and (~bragg).any()
    n = positions.shape[0]
    np.testing.assert_allclose(s[bragg], n, rtol=1e-10)
    np.testing.assert_allclose(s[~bragg], 0.0, atol=1e-9 * n)


def test_ideal_gas_averages_to_one():
    # for independent uniform points, <S(k)> = 1 exactly at every allowed
    # k != 0, and S(k) is close to exponentially distributed (variance 1)
    rng = np.random.default_rng(2024)
    box, n = 12.0, 3000
    positions = rng.uniform(0, box, size=(n, 3))
    result = ob.structure_factor(positions=positions, box=box, k_max=6.0)
    m = result.s_k.size
    assert m > 2000
    assert abs(result.s_k.mean() - 1.0) < 5.0 / math.sqrt(m)
    # each shell too, within 5 of its own standard errors
    big = result.count >= 30
    z = (result.s[big] - 1.0) / (1.0 / np.sqrt(result.count[big]))
    assert np.all(np.abs(z) < 5.0)


def test_random_packing_is_an_ideal_gas():
    packing = pl.random_packing(4000, 0.3, dim=3, seed=5)
    result = ob.structure_factor(packing, k_max=5.0)
    assert abs(result.s_k.mean() - 1.0) < 5.0 / math.sqrt(result.s_k.size)


# --------------------------------------------------------------- fast vs brute


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_kernel_matches_brute_force(dim):
    rng = np.random.default_rng(dim)
    box = 6.0
    positions = rng.uniform(0, box, size=(200, dim))
    vectors = ob.wave_vectors(box, dim, 4.5)
    fast = ob.structure_factor_vectors(positions, box, vectors)
    slow = _brute_force_sk(positions, box, vectors)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_periodic_images_and_common_shift_do_not_change_s():
    rng = np.random.default_rng(11)
    box = 8.0
    positions = rng.uniform(0, box, size=(300, 3))
    vectors = ob.wave_vectors(box, 3, 4.0)
    s0 = ob.structure_factor_vectors(positions, box, vectors)
    images = positions + box * rng.integers(-3, 4, size=positions.shape)
    shifted = positions + np.array([0.37, -1.2, 5.5])
    np.testing.assert_allclose(
        ob.structure_factor_vectors(images, box, vectors), s0, rtol=1e-9,
        atol=1e-9)
    np.testing.assert_allclose(
        ob.structure_factor_vectors(shifted, box, vectors), s0, rtol=1e-9,
        atol=1e-9)


def test_result_does_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 9.0, size=(500, 3))
    vectors = ob.wave_vectors(9.0, 3, 5.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ob.structure_factor_vectors(positions, 9.0, vectors)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = ob.structure_factor_vectors(positions, 9.0, vectors)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


# --------------------------------------------------------------- averaging


def test_radial_average_on_hand_values():
    k = np.array([0.1, 0.2, 0.9, 1.1, 1.9, 5.0])
    v = np.array([1.0, 3.0, 5.0, 2.0, 4.0, 100.0])
    q, mean, sem, count = ob.radial_average(k, v, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(q, [0.4, 1.5])
    np.testing.assert_allclose(mean, [3.0, 3.0])
    np.testing.assert_allclose(sem, [2.0 / math.sqrt(3), 1.0])
    np.testing.assert_array_equal(count, [3, 2])


def test_shells_count_every_vector_once():
    rng = np.random.default_rng(8)
    positions = rng.uniform(0, 10.0, size=(100, 3))
    result = ob.structure_factor(positions=positions, box=10.0, k_max=4.0)
    assert result.count.sum() == result.s_k.size
    assert np.all(np.diff(result.q) > 0)
    # the first shell of width 2 pi / L holds |m| = 1 and |m| = sqrt 2
    assert result.count[0] == 3 + 6
    assert "StructureFactor(n=100" in repr(result)


# --------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, name", [
    (dict(box=-1.0, dim=3, k_max=1.0), "box"),
    (dict(box=10.0, dim=0, k_max=1.0), "dim"),
    (dict(box=10.0, dim=3, k_max=0.1), "k_max"),
    (dict(box=10.0, dim=3, k_max=1.0, max_vectors=0), "max_vectors"),
])
def test_wave_vectors_errors_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ob.wave_vectors(**kwargs)


def test_structure_factor_input_errors():
    packing = pl.random_packing(50, 0.2, dim=2, seed=1)
    with pytest.raises(ValueError, match="either packing"):
        ob.structure_factor(packing, positions=packing.positions, box=1.0)
    with pytest.raises(ValueError, match="either packing"):
        ob.structure_factor()
    with pytest.raises(TypeError, match="packing"):
        ob.structure_factor(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="bin_width"):
        ob.structure_factor(packing, bin_width=0.0)
    with pytest.raises(ValueError, match=r"bin_width must be in \[6.28\d*e-06, "):
        ob.structure_factor(packing, bin_width=1e-12)
    with pytest.raises(ValueError, match="vectors"):
        ob.structure_factor_vectors(packing.positions, packing.box,
                                    np.zeros((2, 3), dtype=int))
    with pytest.raises(TypeError, match="integers"):
        ob.structure_factor_vectors(packing.positions, packing.box,
                                    np.ones((2, 2)))
    with pytest.raises(ValueError, match="bins"):
        ob.radial_average([1.0], [1.0], [1.0])


@pytest.mark.parametrize("dim", [30, 10**7, 2**31 - 1])
def test_a_dimension_too_large_for_any_grid_is_refused_at_once(dim):
    """The grid's size is compared in logarithms: 3^dim is never built."""
    with pytest.raises(ValueError, match=rf"dim={dim} asks for a grid of at "
                                         rf"least 3\^{dim} wave vectors"):
        ob.wave_vectors(3.0, dim, 2.1)


def test_the_largest_k_max_a_grid_error_advises_is_accepted():
    with pytest.raises(ValueError, match=r"about 10\^899.9 wave vectors") as error:
        ob.wave_vectors(3.0, 3, 1e300)
    most = float(str(error.value).rsplit("k_max <= ", 1)[1])
    assert ob.wave_vectors(3.0, 3, most).shape[0] > 0
    # one more shell of the grid is too many
    with pytest.raises(ValueError, match="asks for a grid"):
        ob.wave_vectors(3.0, 3, most + 1.5 * 2 * math.pi / 3.0)


def test_a_k_max_beyond_the_floats_in_lattice_units_is_refused():
    # k_max / (2 pi / box) is above the largest float
    with pytest.raises(ValueError, match="k_max=1e\\+308 in dim=3 asks for a grid"):
        ob.wave_vectors(1e150, 3, 1e308)


def test_a_tiny_box_gives_its_first_shell_without_overflow():
    sf = ob.structure_factor(positions=np.zeros((2, 3)), box=1e-300)
    assert sf.q[0] == pytest.approx(2 * math.pi / 1e-300)
    assert np.allclose(sf.s, 2.0)  # two points at one place: S = N


@pytest.mark.parametrize("vector", [[-2**63, 0, 0], [10**9, 0, 0]])
def test_wave_vector_components_are_bounded(vector):
    positions = np.random.default_rng(1).random((4, 3))
    with pytest.raises(ValueError, match=r"components in \[-1000000, 1000000\]"):
        ob.structure_factor_vectors(positions, 3.0, np.array([vector]))


def test_shell_errors_keep_their_digits_on_large_values():
    """Three values 1e6, 1e6 + 1e-3, 1e6 + 2e-3: standard deviation 1e-3,
    standard error 1e-3 / sqrt(3)."""
    q, mean, sem, count = ob.radial_average(
        [1.0, 1.0, 1.0], [1e6, 1e6 + 1e-3, 1e6 + 2e-3], [0.0, 2.0])
    assert count.tolist() == [3] and mean[0] == pytest.approx(1e6 + 1e-3)
    assert sem[0] == pytest.approx(1e-3 / math.sqrt(3), rel=1e-6)


@pytest.mark.parametrize("args, error, match", [
    ((["1"], [1.0], [0.0, 2.0]), TypeError, "k must be a real"),
    (([np.nan], [1.0], [0.0, 2.0]), ValueError, "k must be finite"),
    (([1.0], [1.0], [0.0, np.nan]), ValueError, "bins must be finite"),
    (([1.0], [1j], [0.0, 2.0]), TypeError, "values must be a real"),
])
def test_radial_average_refuses_what_it_cannot_average(args, error, match):
    with pytest.raises(error, match=match):
        ob.radial_average(*args)


@pytest.mark.parametrize("positions", [np.zeros((3, 2)) + 1j, np.zeros((3, 2), bool),
                                       [["a", "b"], ["c", "d"]]])
def test_structure_factor_refuses_positions_that_are_not_real(positions):
    with pytest.raises(TypeError, match=r"positions must be a real \(n, dim\) array"):
        ob.structure_factor_vectors(positions, 3.0, np.ones((1, 2), dtype=int))
