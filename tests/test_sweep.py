"""Sweeps: validation, seeds, executors and resuming an interrupted sweep."""

import concurrent.futures
import json
import os

import numpy as np
import pandas as pd
import pytest

from packing_lite import sweep

# Small but real: 200 spheres, a few hundred steps, one volume fraction
# that absorbs quickly and one that stays active.
GRID = dict(dynamics="bro", phi=[0.4, 0.62], n=200, params={"eps": 0.05},
            n_seeds=2, steps=200, record_every=10, progress=False)
VOLATILE = ["elapsed", "cached"]


def stable(table):
    """The table without the columns that depend on when and how it ran."""
    return table.drop(columns=VOLATILE).reset_index(drop=True)


@pytest.fixture(scope="module")
def serial():
    return sweep.run_sweep(**GRID)


def test_table_shape_and_content(serial):
    assert len(serial) == 4
    assert list(serial["phi"]) == [0.4, 0.4, 0.62, 0.62]
    assert list(serial["replica"]) == [0, 1, 0, 1]
    low = serial[serial["phi"] == 0.4]
    assert low["absorbed"].all()
    assert (low["f_a"] == 0).all()
    assert (low["absorption_time"] == low["steps"]).all()
    assert (low["tau_reach"] == low["steps"]).all()
    high = serial[serial["phi"] == 0.62]
    assert not high["absorbed"].any()
    assert (high["f_a"] > 0.5).all() and (high["steps"] == 200).all()
    assert serial["key"].is_unique and serial["seed"].is_unique
    assert not serial["cached"].any()
    # replicas differ in their start, dynamics at one point share it
    assert serial["packing_seed"].nunique() == 4


def test_seeds_depend_on_the_point_not_the_grid(serial):
    alone = sweep.run_sweep(**{**GRID, "phi": [0.62], "n_seeds": 1})
    row = serial[(serial["phi"] == 0.62) & (serial["replica"] == 0)]
    pd.testing.assert_frame_equal(stable(alone), stable(row))
    # a linspace value names the same point as the typed one
    assert sweep.run_sweep(**{**GRID, "phi": [np.linspace(0.5, 0.62, 3)[2]],
                              "n_seeds": 1})["key"][0] == row["key"].iloc[0]
    other = sweep.run_sweep(**{**GRID, "phi": [0.62], "n_seeds": 1,
                               "base_seed": 1})
    assert other["seed"][0] != row["seed"].iloc[0]


def test_start_is_shared_across_dynamics(serial):
    sgd = sweep.run_sweep("sgd", [0.4, 0.62], 200, n_seeds=2, steps=20,
                          params={"lr": 0.05, "batch_fraction": 0.5},
                          progress=False)
    assert list(sgd["packing_seed"]) == list(serial["packing_seed"])
    assert not set(sgd["seed"]) & set(serial["seed"])


def test_mixture_in_2d():
    grid = dict(dynamics="bro", phi=0.5, n=100, params={"eps": 0.1}, dim=2,
                steps=20, progress=False)
    mono = sweep.run_sweep(**grid)
    mix = sweep.run_sweep(**grid, radius_ratio=1.4)
    assert mix["radius_ratio"][0] == 1.4 and np.isnan(mono["radius_ratio"][0])
    assert mix["key"][0] != mono["key"][0]
    assert mix["packing_seed"][0] != mono["packing_seed"][0]
    with pytest.raises(ValueError, match=r"radius_ratio must be in \[2e-150, 2e\+150\]"):
        sweep.run_sweep(**grid, radius_ratio=0)


def test_labels_in_cell_order(serial):
    import packing_lite as pl

    cells = sweep.run_sweep(**{**GRID, "phi": [0.62], "n_seeds": 1},
                            labels="cells")
    drawn = serial[(serial["phi"] == 0.62) & (serial["replica"] == 0)]
    row = cells.iloc[0]
    assert row["labels"] == "cells" and drawn["labels"].iloc[0] == "drawn"
    # the same centres, relabelled: same packing seed, another run
    assert row["packing_seed"] == drawn["packing_seed"].iloc[0]
    assert row["key"] != drawn["key"].iloc[0] and row["seed"] != drawn["seed"].iloc[0]
    start = pl.random_packing(200, 0.62, seed=int(row["packing_seed"])).sorted_by_cell()
    again = pl.run_bro(start, 0.05, 200, seed=int(row["seed"]), record_every=10)
    assert row["f_a_final"] == again.active_fraction[-1]
    assert row["steps"] == again.steps
    with pytest.raises(ValueError, match="labels must be one of"):
        sweep.run_sweep(**GRID, labels="sorted")
    # runs of the two labellings start from the same centres: a summary
    # keeps them apart instead of counting them as independent replicas
    both = sweep.summarize_sweep(pd.concat([drawn, cells]))
    assert list(both["labels"]) == ["cells", "drawn"]
    assert list(both["n_runs"]) == [1, 1]


def test_thread_pool_equals_serial(serial):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        table = sweep.run_sweep(**GRID, executor=pool)
    pd.testing.assert_frame_equal(stable(table), stable(serial))


def test_numba_threads_do_not_change_results(serial):
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    one = sweep.run_sweep(**GRID, threads=1)
    assert numba.get_num_threads() == before
    pd.testing.assert_frame_equal(stable(one), stable(serial))


def test_dask_cluster_equals_serial(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            table = sweep.run_sweep(**GRID, executor=client)
    pd.testing.assert_frame_equal(stable(table), stable(serial))


class Stop(Exception):
    pass


def test_interrupted_sweep_resumes_without_redoing_runs(tmp_path, serial):
    finished = []

    def stop_after_three(row):
        finished.append(row["key"])
        if len(finished) == 3:
            raise Stop

    with pytest.raises(Stop):
        sweep.run_sweep(**GRID, results_dir=tmp_path, callback=stop_after_three)
    stored = sorted(p.stem for p in tmp_path.glob("*.npz"))
    assert stored == sorted(finished)
    assert not list(tmp_path.glob(".tmp-*"))

    executed = []
    table = sweep.run_sweep(**GRID, results_dir=tmp_path,
                            callback=lambda row: executed.append(row["key"]))
    assert len(executed) == 1 and executed[0] not in finished
    assert table["cached"].sum() == 3
    pd.testing.assert_frame_equal(stable(table), stable(serial))

    # a third call runs nothing
    again = sweep.run_sweep(**GRID, results_dir=tmp_path,
                            callback=lambda row: executed.append(row))
    assert len(executed) == 1 and again["cached"].all()

    loaded = sweep.load_sweep(tmp_path)
    pd.testing.assert_frame_equal(stable(loaded), stable(serial))
    run = sweep.load_run(tmp_path, serial["key"][2])
    assert run["spec"]["phi"] == 0.62 and run["times"][-1] == 200


def test_unreadable_result_is_run_again(tmp_path):
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    first = sweep.run_sweep(**grid, results_dir=tmp_path)
    path = tmp_path / f"{first['key'][0]}.npz"
    path.write_bytes(b"not a result")
    with pytest.warns(UserWarning, match=r"runs again: .*is not a sweep result"):
        second = sweep.run_sweep(**grid, results_dir=tmp_path)
    assert not second["cached"][0]
    pd.testing.assert_frame_equal(stable(first), stable(second))
    assert sweep.run_sweep(**grid, results_dir=tmp_path)["cached"][0]


def test_analysis_options_apply_to_stored_runs(tmp_path):
    grid = {**GRID, "phi": [0.62], "n_seeds": 1}
    sweep.run_sweep(**grid, results_dir=tmp_path)
    mtime = os.path.getmtime(next(tmp_path.glob("*.npz")))
    loose = sweep.run_sweep(**grid, results_dir=tmp_path,
                            analysis_options={"steady_kwargs": {"atol": 1.0}})
    assert loose["cached"][0] and loose["steady"][0]
    assert os.path.getmtime(next(tmp_path.glob("*.npz"))) == mtime


def test_summarize_sweep(serial):
    summary = sweep.summarize_sweep(serial)
    assert list(summary["n_runs"]) == [2, 2]
    assert list(summary["absorbed_fraction"]) == [1.0, 0.0]
    high = serial[serial["phi"] == 0.62]["f_a"]
    assert summary["f_a"][1] == pytest.approx(high.mean())
    assert summary["f_a_err"][1] == pytest.approx(high.std(ddof=1) / np.sqrt(2))
    with pytest.raises(ValueError, match="tau must be"):
        sweep.summarize_sweep(serial, tau="tau")


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(dynamics="langevin"), ValueError, "dynamics must be one of"),
        (dict(params={}), ValueError, r"params must give \['eps'\]"),
        (dict(params={"eps": 0.1, "lr": 0.1}), ValueError, "do not apply"),
        (dict(params={"eps": -0.1}), ValueError, r"eps must be in \(0, inf\)"),
        (dict(phi=[0.5, 1.2]), ValueError, r"phi must be in \(0, 1\)"),
        (dict(phi=[0.5, 0.5]), ValueError, "phi has repeated values"),
        (dict(n=1), ValueError, "n must be >= 2"),
        (dict(n=200.5), TypeError, "n must be an integer"),
        (dict(n_seeds=0), ValueError, "n_seeds must be >= 1"),
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(variant="pair"), ValueError, "variant must be one of"),
        (dict(base_seed=-1), ValueError, "base_seed must be >= 0"),
        (dict(callback=3), TypeError, "callback must be callable"),
        (dict(threads=0), ValueError, "threads must be >= 1"),
        (dict(executor=object()), TypeError, "executor must be"),
        (dict(analysis_options={"window": 0.5}), ValueError, "analysis_options"),
        (dict(dynamics="sgd", params={"lr": 0.1}), ValueError, "exactly one of"),
        (dict(analysis_options=3), TypeError, "analysis_options must be a dict"),
        (dict(analysis_options={"steady_kwargs": 3}), TypeError,
         r"analysis_options\['steady_kwargs'\] must be a dict"),
        (dict(analysis_options={"steady_kwargs": {"bogus": 1}}), TypeError,
         "analysis_options: .*unexpected keyword argument 'bogus'"),
        (dict(analysis_options={"rtol": -1}), ValueError,
         r"analysis_options: rtol must be in \(0, inf\)"),
        (dict(base_seed=2**63), ValueError, "base_seed must be <= 9223372036854775807"),
        (dict(base_seed=10**400), ValueError,
         "base_seed must be <= 9223372036854775807, got an integer of about 401"),
        (dict(dim=10**400), ValueError, "dim must be <= 2147483647"),
        (dict(dynamics="sgd", params={"lr": 0.1, "batch_fraction": 1.5}),
         ValueError, r"batch_fraction must be in \(0, 1\]"),
    ],
)
def test_validation(changes, error, match):
    with pytest.raises(error, match=match):
        sweep.run_sweep(**{**GRID, **changes})


def test_results_dir_that_is_a_file_is_refused(tmp_path):
    # regression: a regular file as results_dir gave a bare FileExistsError
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    with pytest.raises(ValueError, match=r"results_dir: .*afile.* existing file"):
        sweep.run_sweep(**grid, results_dir=afile)
    with pytest.raises(ValueError, match=r"results_dir: .*afile.* existing file"):
        sweep.run_sweep(**grid, results_dir=afile / "inside")
    assert afile.read_text() == "keep me"
    with pytest.raises(TypeError, match="results_dir must be a str or an os.PathLike"):
        sweep.run_sweep(**grid, results_dir=7)


def test_foreign_file_in_results_dir_is_named_and_skipped(tmp_path):
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    first = sweep.run_sweep(**grid, results_dir=tmp_path)
    (tmp_path / "notes.npz").write_text("not a run")
    with pytest.warns(UserWarning, match=r"notes.npz is not a sweep result file"):
        loaded = sweep.load_sweep(tmp_path)
    pd.testing.assert_frame_equal(stable(loaded), stable(first))
    np.savez(tmp_path / "notes.npz", meta=np.array("{}"))
    with pytest.warns(UserWarning, match=r"notes.npz is not a sweep result file"):
        assert len(sweep.load_sweep(tmp_path)) == 1


@pytest.mark.parametrize("radius_ratio", [None, 3.0])
def test_grid_point_with_too_small_a_box_is_refused_before_any_run(tmp_path,
                                                                   radius_ratio):
    # n=5 at phi=0.6 in 3D gives a box edge of about 1.6, under twice the
    # contact distance; n=3000 is fine but must not run first
    with pytest.raises(ValueError, match=r"the grid point n=5, phi=0.6 in dim=3"):
        sweep.run_sweep("bro", [0.6, 0.62], [3000, 5], params={"eps": [0.02]},
                        steps=50, progress=False, results_dir=tmp_path,
                        radius_ratio=radius_ratio)
    assert list(tmp_path.iterdir()) == []


def test_grid_points_a_run_would_refuse_are_refused_before_any_run(
        tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(sweep, "_execute", lambda *a: started.append(a))
    base = dict(dynamics="bro", params={"eps": 0.02}, steps=10, progress=False,
                results_dir=tmp_path)
    # eps fits the box of phi = 0.05 but not that of phi = 0.6 (3.52 wide)
    with pytest.raises(ValueError, match=r"params\['eps'\] must be in \(0, box\] "
                                         r".*n=50, phi=0.6 .*box 3.52"):
        sweep.run_sweep(**{**base, "params": {"eps": 3.6}}, phi=[0.05, 0.6], n=50)
    with pytest.raises(ValueError, match=r"params\['lr'\] must be in \(0, box\]"):
        sweep.run_sweep(**{**base, "dynamics": "gd", "params": {"lr": 3.6}},
                        phi=[0.05, 0.6], n=50)
    # more spheres than a run fits in memory: refused, not left to the
    # kernel (their positions alone, 2.4 GB, would fit in 16 GiB)
    monkeypatch.setattr("packing_lite.packing._physical_memory", lambda: 2**34)
    with pytest.raises(MemoryError, match=r"n=100000000 spheres in dim=3 need "
                                          r"24.2 GiB for a run"):
        sweep.run_sweep(**base, phi=0.5, n=[200, 10**8])

    # the volume of a ball in 400 dimensions underflows; the box does not
    with pytest.raises(ValueError, match=r"more spheres than n=50 .*dim=400 gives "
                                         r"a box edge of 0.1035"):
        sweep.run_sweep(**base, phi=0.5, n=50, dim=400)
    with pytest.raises(ValueError, match="1000001 runs .* more than the 1000000"):
        sweep.run_sweep(**base, phi=0.5, n=50, n_seeds=10**6 + 1)
    assert started == [] and list(tmp_path.iterdir()) == []


def test_results_dir_must_be_a_writable_folder(tmp_path, monkeypatch):
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    with pytest.raises(ValueError, match="results_dir must name a folder"):
        sweep.run_sweep(**grid, results_dir="")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("packing_lite.io.tempfile.mkstemp", refuse)
    monkeypatch.setattr(sweep, "_execute", lambda *a: pytest.fail("ran"))
    with pytest.raises(PermissionError, match="results_dir: cannot write files "
                                              "in .*Permission denied"):
        sweep.run_sweep(**grid, results_dir=tmp_path / "out")


def test_fork_pool_is_refused_once_openmp_threads_run():
    import multiprocessing

    import numba

    import packing_lite as pl

    start = pl.random_packing(2000, 0.6, seed=1)
    pl.run_bro(start, 0.02, 2, seed=1)  # starts numba's parallel layer
    if numba.threading_layer() != "omp":
        pytest.skip("numba does not use the OpenMP layer here")
    fork = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"))
    spawn = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pytest.raises(ValueError, match=r"executor: .*fork.*get_context\("
                                             r"'spawn'\)"):
            sweep.run_sweep(**GRID, executor=fork)
        sweep._check_executor(spawn)  # no workers are started by the check
    finally:
        fork.shutdown()
        spawn.shutdown()


def test_interrupted_sweep_says_how_to_go_on(tmp_path):
    def stop(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match=r"1 of 4 runs finished; the "
                                                r"finished runs are saved in "
                                                r".*same call goes on"):
        sweep.run_sweep(**GRID, results_dir=tmp_path, callback=stop)
    with pytest.raises(KeyboardInterrupt, match="pass results_dir"):
        sweep.run_sweep(**GRID, callback=stop)
    again = sweep.run_sweep(**GRID, results_dir=tmp_path)
    assert again["cached"].sum() == 1


def test_damaged_result_file_is_named_run_again_and_skipped(tmp_path):
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    first = sweep.run_sweep(**grid, results_dir=tmp_path)
    path = tmp_path / f"{first['key'][0]}.npz"
    with np.load(path) as data:
        arrays = dict(data)
    arrays["active_fraction"] = np.full_like(arrays["active_fraction"], np.nan)
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match=r"load_sweep skips .*npz is a damaged "
                                         r"sweep result file: active_fraction"):
        assert sweep.load_sweep(tmp_path).empty
    with pytest.warns(UserWarning, match=r"runs again: .*damaged"):
        second = sweep.run_sweep(**grid, results_dir=tmp_path)
    assert not second["cached"][0]
    pd.testing.assert_frame_equal(stable(first), stable(second))


def test_load_sweep_skips_what_is_not_an_intact_result(tmp_path):
    grid = {**GRID, "phi": [0.4], "n_seeds": 1}
    first = sweep.run_sweep(**grid, results_dir=tmp_path)
    (tmp_path / "folder.npz").mkdir()
    path = tmp_path / f"{first['key'][0]}.npz"
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    for name, spec in (("nodyn", {k: v for k, v in meta["spec"].items()
                                  if k != "dynamics"}),
                       ("badphi", {**meta["spec"], "phi": "0.4"}),
                       ("badn", {**meta["spec"], "n": -5})):
        np.savez(tmp_path / f"{name}.npz",
                 **{**arrays, "meta": np.array(json.dumps({**meta, "spec": spec}))})
    with pytest.warns(UserWarning) as caught:
        loaded = sweep.load_sweep(tmp_path)
    pd.testing.assert_frame_equal(stable(loaded), stable(first))
    said = " | ".join(str(w.message) for w in caught)
    for name in ("folder.npz", "nodyn.npz", "badphi.npz", "badn.npz"):
        assert name in said


def test_a_broken_executor_says_how_far_the_sweep_got(tmp_path):
    class Broken:
        def submit(self, *args, **kwargs):
            future = concurrent.futures.Future()
            future.set_exception(
                concurrent.futures.process.BrokenProcessPool("worker gone"))
            return future

    with pytest.raises(RuntimeError, match=r"a worker of the executor stopped "
                                           r"\(worker gone\) with 0 of 4 runs "
                                           r"finished; the finished runs are "
                                           r"saved in"):
        sweep.run_sweep(**GRID, results_dir=tmp_path, executor=Broken())


@pytest.mark.parametrize("key", [3, None, "../x", "0123456789abcdef0123456"])
def test_load_run_takes_only_a_run_key(tmp_path, key):
    with pytest.raises(ValueError, match="key must be a run key, 24 hexadecimal"):
        sweep.load_run(tmp_path, key)
