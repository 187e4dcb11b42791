import dataclasses
import json
import re
import os
import stat

import numpy as np
import pytest

import packing_lite as pl
from packing_lite import io


def test_packing_round_trip(tmp_path):
    radii = np.where(np.arange(40) % 2 == 0, 0.5, 0.7)
    p = pl.random_packing(40, 0.5, dim=2, seed=1, radius=radii)
    path = pl.save(p, tmp_path / "mixture")
    assert path.name == "mixture.npz"
    q = pl.load(path)
    assert q == p
    np.testing.assert_array_equal(q.radius, radii)


def test_equal_radius_stays_a_number(tmp_path):
    p = pl.random_packing(10, 0.3, seed=2, radius=0.25)
    q = pl.load(pl.save(p, tmp_path / "p.npz"))
    assert q.radius == 0.25 and q == p


def test_run_round_trip_keeps_parameters_seed_and_version(tmp_path):
    p = pl.random_packing(200, 0.62, seed=3)
    r = pl.run_sgd(p, 0.05, 120, batch_fraction=0.2, seed=4, record_every=10)
    q = pl.load(pl.save(r, tmp_path / "run.npz"))
    assert q.packing == r.packing
    for name in ("times", "active_fraction", "loss"):
        np.testing.assert_array_equal(getattr(q, name), getattr(r, name))
    assert (q.steps, q.absorbed, q.seed) == (r.steps, r.absorbed, r.seed)
    assert q.params["batch_fraction"] == 0.2
    assert q.params["package_version"] == pl.__version__
    # the stored seed repeats the run exactly
    again = pl.run_sgd(p, 0.05, 120, batch_fraction=0.2, seed=q.seed, record_every=10)
    assert again.packing == q.packing


def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    p = pl.random_packing(10, 0.3, seed=5)
    path = pl.save(p, tmp_path / "p.npz")

    def broken_savez(stream, **arrays):
        stream.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(io.np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        pl.save(pl.random_packing(10, 0.3, seed=6), path)
    monkeypatch.undo()
    assert pl.load(path) == p
    assert [f.name for f in tmp_path.iterdir()] == ["p.npz"]


def test_truncated_file_is_refused(tmp_path):
    path = pl.save(pl.random_packing(50, 0.3, seed=7), tmp_path / "p.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable .npz file"):
        pl.load(path)


def _rewrite_meta(path, **changes):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_newer_format_says_why(tmp_path):
    path = pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "p.npz")
    _rewrite_meta(path, format_version=io.FORMAT_VERSION + 1, package_version="9.0")
    with pytest.raises(ValueError, match="format version 2 by packing_lite 9.0"):
        pl.load(path)


def test_foreign_npz_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="no packing_lite metadata"):
        pl.load(tmp_path / "other.npz")
    path = pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "p.npz")
    _rewrite_meta(path, format="something else")
    with pytest.raises(ValueError, match="not a packing_lite file"):
        pl.load(path)


def test_save_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match="obj must be a Packing or a RunResult"):
        pl.save(np.zeros(3), tmp_path / "x.npz")


@pytest.mark.parametrize("make", [
    lambda p, n: pl.run_bro(p, 0.02, n, seed=9, record_every=10),
    lambda p, n: pl.run_sgd(p, 0.03, n, batch_size=30, seed=9, record_every=10),
    lambda p, n: pl.run_sde(p, n, lr=0.02, batch_fraction=0.4, seed=9, record_every=10),
])
def test_interrupted_run_continues_to_the_same_state(tmp_path, make):
    p = pl.random_packing(300, 0.64, seed=10)
    whole = make(p, 130)
    part = pl.load(pl.save(make(p, 65), tmp_path / "part"))
    resumed = pl.continue_run(part, 65)
    assert resumed.steps == 130 and not resumed.absorbed
    assert resumed.packing == whole.packing
    # the same records, plus the one taken at the interruption (step 65)
    keep = resumed.times != 65
    np.testing.assert_array_equal(resumed.times[keep], whole.times)
    np.testing.assert_array_equal(resumed.loss[keep], whole.loss)
    assert pl.continue_run(resumed, 0) is resumed


def test_continue_run_checks_its_input():
    with pytest.raises(TypeError, match="result must be a RunResult"):
        pl.continue_run(pl.random_packing(10, 0.3, seed=1), 5)
    r = pl.run_bro(pl.random_packing(10, 0.3, seed=1), 0.02, 1, seed=1)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        pl.continue_run(r, -1)


# ------------------------------------------------ paths, modes, foreign files
def test_save_and_load_name_path_when_it_is_not_a_path():
    # regression: save(result, 123) failed with os's bare TypeError
    packing = pl.random_packing(10, 0.3, seed=8)
    with pytest.raises(TypeError, match=r"path must be a str or an os.PathLike"):
        pl.save(packing, 123)
    with pytest.raises(TypeError, match=r"path must be a str or an os.PathLike"):
        pl.load(None)


def test_save_refuses_a_file_where_its_folder_should_be(tmp_path):
    (tmp_path / "afile").write_text("keep me")
    with pytest.raises(ValueError, match=r"path: .*afile.* existing file"):
        pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "afile" / "p.npz")
    assert (tmp_path / "afile").read_text() == "keep me"


def test_save_creates_missing_folders(tmp_path):
    path = pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "a" / "b" / "p")
    assert path == tmp_path / "a" / "b" / "p.npz" and path.is_file()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_file_gets_the_mode_of_a_new_file(tmp_path, umask):
    # regression: files kept the temporary file's mode 0o600 under umask 0o022
    old = os.umask(umask)
    try:
        path = pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "p.npz")
        (tmp_path / "plain").write_bytes(b"")
    finally:
        os.umask(old)
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_saving_over_a_file_keeps_its_mode(tmp_path):
    path = pl.save(pl.random_packing(10, 0.3, seed=8), tmp_path / "p.npz")
    path.chmod(0o640)
    pl.save(pl.random_packing(10, 0.3, seed=9), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("content", [b"not a run", b"", b"\x93NUMPY\x01\x00"])
def test_text_file_is_not_a_packing_lite_file(tmp_path, content):
    # regression: a 9-byte text file ended in numpy's message about pickles
    path = tmp_path / "notes.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a packing_lite file") as error:
        pl.load(path)
    assert "pickle" not in str(error.value)


def test_damaged_metadata_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", meta=np.array("{not json"))
    with pytest.raises(ValueError, match="damaged packing_lite metadata"):
        pl.load(tmp_path / "other.npz")


def _damaged(tmp_path, **changes):
    """A saved run with some arrays or metadata replaced."""
    run = pl.run_bro(pl.random_packing(60, 0.6, seed=3), 0.02, 40, seed=4,
                     record_every=10)
    path = pl.save(run, tmp_path / "run")
    with np.load(path) as data:
        contents = {key: data[key] for key in data.files}
    meta = json.loads(str(contents["meta"]))
    for key, value in changes.items():
        if key in meta:
            meta[key] = value
        else:
            contents[key] = value(contents[key]) if callable(value) else value
    contents["meta"] = np.array(json.dumps(meta))
    np.savez(path, **contents)
    return path


@pytest.mark.parametrize("changes,match", [
    (dict(positions=lambda x: x[:, :2]), "params give dim=3"),
    (dict(positions=lambda x: x[:50]), r"radii must have shape \(50,\)"),
    (dict(positions=lambda x: x[:50], radii=lambda r: r[:50]), "params give n=60"),
    (dict(radii=lambda r: np.where(np.arange(r.size) % 2, 0.5, 0.7)),
     "radii must hold one value repeated"),
    (dict(radii=np.array([])), "radii must hold one value repeated"),
    (dict(radii=lambda r: r + 0j), "radii must be a real 1-D array"),
    (dict(equal_radii="no"), "equal_radii must be True or False"),
    (dict(params={"dynamics": "bro", "eps": 0.02, "variant": "particle",
                  "phi": 0.6}), "has no 'record_every'"),
    (dict(absorbed=True), "marked absorbed, but its last record has f_a"),
    (dict(steps=50), "end at steps=50"),
    (dict(steps=10**30), "steps must be <= 4611686018427387904"),
    (dict(active_fraction=lambda a: a[:-1]), "active_fraction must be a float "
                                             "array as long as times"),
    (dict(loss=lambda a: a.astype(np.int64)), "loss must be a float array"),
    (dict(times=lambda t: t[::-1].copy()), "times must increase"),
    (dict(times=lambda t: t.astype(float)), "times must be a non-empty 1-D "
                                            "array of integers"),
    (dict(active_fraction=lambda a: a + 2.0), r"active_fraction must lie in \[0, 1\]"),
    (dict(steps=-5), "steps must be >= 0, got -5"),
    (dict(steps=10), "end at steps=10"),
    (dict(seed="abc"), "seed must be an integer, got str"),
    (dict(seed=2**63), "seed must be <= 9223372036854775807"),
    (dict(absorbed="no"), "absorbed must be True or False"),
    (dict(params=[1, 2]), "run.params must be a dict, got list"),
    (dict(kind="movie"), "unknown kind 'movie'"),
    (dict(box=np.float64(-1.0)), r"box must be in \[1e-150, 1e\+150\]"),
    (dict(box=np.array([5.0, 5.0])), r"box must be one real number, got an array "
                                     r"of shape \(2,\)"),
    (dict(box=np.array("abc")), "box must be one real number"),
    (dict(positions=lambda x: x + 100.0), r"positions must lie in \[0, box\)"),
    (dict(params={"dynamics": "bro", "eps": 0.02, "variant": "particle",
                  "record_every": 10, "phi": 10**400}),
     r"run.params\['phi'\] must be finite .* too large for a float"),
])
def test_damaged_run_is_refused_with_the_reason(tmp_path, changes, match):
    path = _damaged(tmp_path, **changes)
    with pytest.raises(ValueError, match="damaged packing_lite file") as error:
        pl.load(path)
    assert re.search(match, str(error.value)), str(error.value)


def test_a_sweep_file_points_to_load_run(tmp_path):
    table = pl.run_sweep("bro", 0.3, [50], params={"eps": 0.02}, steps=5,
                         results_dir=tmp_path, progress=False)
    key = table["key"][0]
    with pytest.raises(ValueError, match=rf"one run of a sweep: read it with "
                                         rf"packing_lite.load_run\(.*'{key}'\)"):
        pl.load(tmp_path / f"{key}.npz")
    assert pl.load_run(tmp_path, key)["steps_taken"] == 5


def test_metadata_nested_too_deep_is_called_damaged(tmp_path):
    path = pl.save(pl.random_packing(10, 0.3, seed=1), tmp_path / "deep")
    with np.load(path) as data:
        contents = {key: data[key] for key in data.files}
    contents["meta"] = np.array("[" * 100_000 + "]" * 100_000)
    np.savez(path, **contents)
    with pytest.raises(ValueError, match="damaged packing_lite metadata"):
        pl.load(path)


@pytest.mark.parametrize("changes,error,match", [
    (dict(steps=-5), ValueError, r"result.steps must be >= 0, got -5"),
    (dict(steps=1.5), TypeError, "result.steps must be an integer"),
    (dict(steps=True), TypeError, "result.steps must be an integer"),
    (dict(absorbed="no"), TypeError, "result.absorbed must be True or False"),
    (dict(absorbed=1), TypeError, "result.absorbed must be True or False"),
    (dict(packing=None), TypeError, "result.packing must be a Packing"),
    (dict(params=None), TypeError, "result.params must be a dict, got NoneType"),
    (dict(params={}), ValueError, "result.params has no 'dynamics'"),
    (dict(seed=-1), ValueError, "result.seed must be >= 0"),
    (dict(times=np.array([0.5])), ValueError, "times must be a non-empty 1-D "
                                               "array of integers"),
    (dict(steps=30), ValueError, "end at steps=30"),
])
def test_a_hand_made_result_is_checked_before_it_goes_on_or_is_saved(
        tmp_path, changes, error, match):
    """A RunResult put together by hand is refused, naming the part that
    does not agree, both by continue_run and by save (whose files load)."""
    run = pl.run_bro(pl.random_packing(60, 0.6, seed=3), 0.02, 40, seed=4,
                     record_every=10)
    made = dataclasses.replace(run, **changes)
    with pytest.raises(error, match=match):
        pl.continue_run(made, 10)
    with pytest.raises(error, match=match.replace("result.", "obj.")):
        pl.save(made, tmp_path / "made")
    assert not (tmp_path / "made.npz").exists()


def test_save_names_a_parameter_json_cannot_hold(tmp_path):
    run = pl.run_bro(pl.random_packing(60, 0.6, seed=3), 0.02, 10, seed=4)
    made = dataclasses.replace(run, params={**run.params, "note": object()})
    with pytest.raises(TypeError, match=r"obj.params\['note'\] must hold numbers"):
        pl.save(made, tmp_path / "made")
    assert not (tmp_path / "made.npz").exists()


def test_a_result_with_numpy_values_saves_as_plain_ones(tmp_path):
    run = pl.run_bro(pl.random_packing(60, 0.6, seed=3), 0.02, 40, seed=4,
                     record_every=10)
    made = dataclasses.replace(run, steps=np.int64(40), seed=np.uint64(4),
                               absorbed=np.False_, times=list(run.times))
    back = pl.load(pl.save(made, tmp_path / "made"))
    assert back.steps == 40 and back.seed == 4 and back.absorbed is False
    np.testing.assert_array_equal(back.times, run.times)
    assert pl.continue_run(made, 10).steps == pl.continue_run(run, 10).steps == 50


def test_undamaged_helper_file_loads(tmp_path):
    run = pl.load(_damaged(tmp_path))
    assert run.steps == 40 and run.times[-1] == 40


def test_save_refuses_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder: give a file name"):
        pl.save(pl.random_packing(10, 0.3, seed=1), tmp_path)
    assert not (tmp_path.parent / (tmp_path.name + ".npz")).exists()


def test_load_finds_the_file_save_named(tmp_path):
    packing = pl.random_packing(10, 0.3, seed=1)
    written = pl.save(packing, tmp_path / "start")
    assert written.name == "start.npz"
    assert np.array_equal(pl.load(tmp_path / "start").positions, packing.positions)
    assert np.array_equal(pl.load(str(tmp_path / "start")).positions,
                          packing.positions)


@pytest.mark.parametrize("version,match", [
    (True, "format_version must be an integer, got bool"),
    ("1", "format_version must be an integer, got str"),
    (0, "format_version must be >= 1, got 0"),
    (-7, "format_version must be >= 1, got -7"),
])
def test_bad_format_version_is_refused(tmp_path, version, match):
    path = _damaged(tmp_path, format_version=version)
    with pytest.raises(ValueError, match=match):
        pl.load(path)


def test_damaged_phi_is_refused(tmp_path):
    run = pl.run_bro(pl.random_packing(60, 0.6, seed=3), 0.02, 5, seed=4)
    path = pl.save(run, tmp_path / "run")
    with np.load(path) as data:
        contents = {key: data[key] for key in data.files}
    meta = json.loads(str(contents["meta"]))
    meta["params"]["phi"] = 0.9
    contents["meta"] = np.array(json.dumps(meta))
    np.savez(path, **contents)
    with pytest.raises(ValueError, match="params give phi=0.9"):
        pl.load(path)


def test_load_of_a_folder_names_it_or_finds_the_file(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a packing_lite file"):
        pl.load(tmp_path)
    (tmp_path / "both").mkdir()
    packing = pl.random_packing(10, 0.3, seed=1)
    pl.save(packing, tmp_path / "both.npz")
    assert np.array_equal(pl.load(tmp_path / "both").positions, packing.positions)


def test_save_takes_an_upper_case_suffix(tmp_path):
    written = pl.save(pl.random_packing(10, 0.3, seed=1), tmp_path / "x.NPZ")
    assert written.name == "x.NPZ"
