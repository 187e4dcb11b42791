"""Interrupting a run keeps what it did; progress bars of absorbed runs finish."""

import io
import os
import signal

import numpy as np
import pytest
from tqdm import tqdm

import packing_lite as pl
from packing_lite import dynamics


pytestmark = pytest.mark.usefixtures("one_numba_thread")


@pytest.fixture
def ctrl_c_raises():
    """SIGINT handled as in an interactive interpreter, for this test.

    A process started in the background by a non-interactive shell begins
    with SIGINT ignored, and then no Ctrl-C reaches a run at all.
    """
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _interrupt_after_chunk(monkeypatch, which):
    """Send Ctrl-C from the run's own loop once chunk ``which`` is done."""
    chunks = []
    next_chunk = dynamics._next_chunk

    def interrupting_next_chunk(chunk, seconds):
        chunks.append(chunk)
        if len(chunks) == which:
            os.kill(os.getpid(), signal.SIGINT)
        return next_chunk(chunk, seconds)

    monkeypatch.setattr(dynamics, "_next_chunk", interrupting_next_chunk)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_interrupt_returns_the_run_so_far_and_it_continues_exactly(monkeypatch):
    packing = pl.random_packing(4000, phi=0.66, dim=3, seed=3)
    handler = signal.getsignal(signal.SIGINT)
    steps = 200_000  # far longer than the test lets it run
    # Ctrl-C arrives while the third chunk of steps is under way: sent from
    # the run's own loop, so it lands mid-run however loaded the machine is
    _interrupt_after_chunk(monkeypatch, 3)
    with pytest.raises(pl.RunInterrupted) as caught:
        pl.run_bro(packing, 0.02, steps, seed=4, record_every=5)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    err = caught.value
    assert isinstance(err, KeyboardInterrupt)
    part = err.result
    assert 0 < part.steps < steps
    assert err.remaining == steps - part.steps
    assert part.times[-1] == part.steps  # the state it stopped in is recorded
    assert str(part.steps) in str(err)

    more = 37
    joined = pl.continue_run(part, more)
    whole = pl.run_bro(packing, 0.02, part.steps + more, seed=4, record_every=5)
    np.testing.assert_array_equal(joined.packing.positions, whole.packing.positions)
    # the records are the uninterrupted ones plus the one at the interruption
    extra = np.isin(joined.times, whole.times, invert=True)
    assert joined.times[extra].tolist() in ([], [part.steps])
    np.testing.assert_array_equal(joined.times[~extra], whole.times)
    np.testing.assert_array_equal(joined.active_fraction[~extra],
                                  whole.active_fraction)


def test_chunking_does_not_change_a_run():
    packing = pl.random_packing(600, phi=0.62, dim=3, seed=8)
    dynamics._CHUNK_SECONDS, saved = 1e-6, dynamics._CHUNK_SECONDS  # tiny chunks
    try:
        small = pl.run_sgd(packing, 0.02, 400, batch_fraction=0.5, seed=9,
                           record_every=3)
    finally:
        dynamics._CHUNK_SECONDS = saved
    one = pl.run_sgd(packing, 0.02, 400, batch_fraction=0.5, seed=9,
                     record_every=3)
    np.testing.assert_array_equal(small.packing.positions, one.packing.positions)
    np.testing.assert_array_equal(small.times, one.times)
    np.testing.assert_array_equal(small.active_fraction, one.active_fraction)


def test_progress_bar_of_an_absorbed_run_is_full(monkeypatch):
    bars = []

    def quiet_bar(steps, name):
        bars.append(tqdm(total=steps, desc=name, file=io.StringIO()))
        return bars[-1]

    monkeypatch.setattr(dynamics, "_progress_bar", quiet_bar)
    packing = pl.random_packing(300, phi=0.4, dim=3, seed=1)
    result = pl.run_bro(packing, 0.05, 5000, seed=2, progress=True)
    assert result.absorbed and result.steps < 5000
    assert bars[0].n == bars[0].total == 5000


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_in_the_last_chunk_stops_the_caller_with_the_whole_run(monkeypatch):
    """A run short enough for one chunk still answers Ctrl-C, so that a
    loop of short runs (or a sweep) can be stopped; nothing is lost."""
    packing = pl.random_packing(500, phi=0.62, dim=3, seed=5)
    _interrupt_after_chunk(monkeypatch, 1)
    with pytest.raises(pl.RunInterrupted) as caught:
        pl.run_sgd(packing, 0.02, 10, batch_fraction=0.5, seed=6)
    monkeypatch.undo()
    err = caught.value
    assert err.remaining == 0 and err.result.steps == 10
    whole = pl.run_sgd(packing, 0.02, 10, batch_fraction=0.5, seed=6)
    np.testing.assert_array_equal(err.result.packing.positions,
                                  whole.packing.positions)
    np.testing.assert_array_equal(err.result.times, whole.times)
    assert pl.continue_run(err.result, 0) is err.result


@pytest.mark.usefixtures("ctrl_c_raises")
def test_an_interrupted_continuation_keeps_the_earlier_records(monkeypatch):
    packing = pl.random_packing(2000, phi=0.66, dim=3, seed=7)
    part = pl.run_bro(packing, 0.02, 20, seed=8, record_every=5)
    _interrupt_after_chunk(monkeypatch, 2)
    with pytest.raises(pl.RunInterrupted) as caught:
        pl.continue_run(part, 200_000)
    monkeypatch.undo()
    err = caught.value
    stopped = err.result
    assert 20 < stopped.steps < 200_020
    assert err.remaining == 200_020 - stopped.steps
    direct = pl.run_bro(packing, 0.02, stopped.steps, seed=8, record_every=5)
    np.testing.assert_array_equal(stopped.times, direct.times)
    np.testing.assert_array_equal(stopped.active_fraction, direct.active_fraction)
    np.testing.assert_array_equal(stopped.packing.positions,
                                  direct.packing.positions)


def test_run_interrupted_survives_pickling():
    import pickle

    start = pl.random_packing(200, 0.6, seed=1)
    result = pl.run_bro(start, 0.05, 30, seed=2)
    err = pickle.loads(pickle.dumps(pl.RunInterrupted(result, 100)))
    assert isinstance(err, pl.RunInterrupted)
    assert err.remaining == 70 and err.result.steps == 30
    assert str(err) == str(pl.RunInterrupted(result, 100))
    np.testing.assert_array_equal(err.result.packing.positions,
                                  result.packing.positions)


_BARS = """
import packing_lite as pl
from packing_lite import widgets
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

packing = pl.random_packing(200, phi=0.5, dim=3, seed=1)
pl.run_bro(packing, 0.05, 20, seed=2, progress=True)
pl.run_sweep("bro", phi=[0.4], n=50, params={"eps": [0.05]}, n_seeds=1,
             steps=5, progress=True)
widgets.slider_with_tabs(lambda a: plt.figure(figsize=(1, 1)), {"a": [1, 2]},
                         progress=True)
"""


@pytest.mark.parametrize("switch", [None, "1"])
def test_tqdm_disable_turns_every_bar_off(switch):
    """Runs, sweeps and precomputed sliders show bars with progress=True,
    and none when TQDM_DISABLE=1 (as while the book is built)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    env["NUMBA_NUM_THREADS"] = "1"
    if switch is not None:
        env["TQDM_DISABLE"] = switch
    done = subprocess.run([sys.executable, "-c", _BARS], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    shown = {name: name in done.stderr
             for name in ("bro:", "bro sweep:", "precomputing:")}
    assert shown == dict.fromkeys(shown, switch is None), done.stderr


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), ("0", False),
                                        ("", False), (None, False)])
def test_notebook_bars_follow_tqdm_disable(monkeypatch, value, off):
    """tqdm's notebook bars ignore TQDM_DISABLE; the package's do not."""
    import tqdm.auto
    import tqdm.notebook

    from packing_lite._progress import progress_bar

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    if value is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", value)
    bar = progress_bar(total=3, file=io.StringIO(), display=False)
    assert bar.disable is off
    bar.close()
    assert progress_bar(range(3), show=False).disable
