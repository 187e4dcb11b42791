"""Grids of runs: one call, one tidy table, resumable.

:func:`run_sweep` runs every combination of volume fraction, system size,
dynamics parameters and replica, summarises each run with
:func:`packing_lite.analysis.summarize_run`, and returns a
:class:`pandas.DataFrame` with one row per run.

Reproducibility. Every run is identified by a key, a hash of everything that
determines it (dynamics, parameters, ``phi``, ``N``, ``dim``, step budget,
recording interval, replica number and base seed). Its seeds are derived
from the same information with :class:`numpy.random.SeedSequence`, never from
its position in the grid or from the order in which runs finish, so a run
gives the same result serially, in a process pool or on a Dask cluster, and
adding points to a grid leaves the other runs unchanged. The initial
configuration depends only on ``(phi, N, dim, replica, base_seed)``: all
dynamics and parameters at one grid point start from the same positions,
which makes their comparison less noisy.

Resuming. With ``results_dir``, each finished run is written at once to
``<key>.npz`` (its activity and loss records and its parameters) by a
write to a temporary file followed by an atomic rename. A second call with
the same directory loads the runs it finds instead of repeating them, so an
interrupted sweep loses at most the runs that were in flight. The summary
columns are recomputed from the stored records on loading, so changing
``analysis_options`` needs no new runs.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import math
import re
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import analysis
from ._progress import progress_bar
from ._validation import (
    MAX_SEED, check_choice, check_dim, check_flag, check_int as _check_int,
    check_n, check_path, check_real, check_steps,
)
from .dynamics import check_records
from .io import atomic_savez, check_writable, make_folder, read_archive

# pandas and tqdm are imported where they are used, as scipy is in
# analysis: ``import packing_lite`` then takes about half the time.

__all__ = ["run_sweep", "load_sweep", "load_run", "summarize_sweep", "run_key"]

#: Bumped when the meaning of a stored run changes, so old files are not
#: mistaken for new ones.
FORMAT_VERSION = 1

#: Parameters each dynamics accepts; the first group is required.
_PARAMETERS = {
    "bro": {"required": ("eps",), "optional": ()},
    "sgd": {"required": ("lr",), "optional": ("batch_fraction", "batch_size")},
    "gd": {"required": ("lr",), "optional": ()},
}
_ALL_PARAMETERS = ("eps", "lr", "batch_fraction", "batch_size")
_VARIANTS = {
    "bro": ("particle", "reciprocal", "nonreciprocal"),
    "sgd": ("particle", "pair"),
}
#: Most runs in one grid: each run's key is computed before the first run
#: starts (tens of microseconds each).
MAX_RUNS = 10**6
#: Bytes per sphere a run may need, checked against the machine's memory
#: before a sweep starts: about 200 were measured in 3D (README,
#: "Limits"); the share per dimension covers the coordinates' arrays and
#: the longer neighbour lists of denser or higher-dimensional packings.
_RUN_BYTES = 200
_RUN_BYTES_PER_DIM = 20
# A run's key: the first hexadecimal digits of its spec's SHA-256 digest.
_KEY_DIGITS = 24


# ---------------------------------------------------------------------------
# validation


def _canonical_float(value, name, low, high, low_open=True, high_open=True):
    """``value`` as a float rounded to 12 digits, inside the interval from
    ``low`` to ``high`` (see ``check_real``) before and after rounding."""
    value = check_real(value, name, low, high, low_open, high_open)
    # 12 significant digits: 0.62 and 0.6200000000000001 (from linspace)
    # name the same run
    return check_real(float(f"{value:.12g}"), name, low, high, low_open, high_open)


def _as_list(values, name):
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a number or a sequence of numbers")
    if np.ndim(values) == 0:
        return [values]
    values = list(np.asarray(values).ravel()) if isinstance(
        values, np.ndarray) else list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values


def _check_grid(dynamics, phi, n, params, n_seeds, dim, steps, record_every,
                variant):
    if not isinstance(dynamics, str) or dynamics not in _PARAMETERS:
        raise ValueError(
            f"dynamics must be one of {sorted(_PARAMETERS)}, got {dynamics!r}"
        )
    dim = check_dim(dim)
    steps = _check_int(steps, "steps", 1)
    steps, record_every = check_steps(steps, record_every)
    n_seeds = _check_int(n_seeds, "n_seeds", 1)
    if dynamics == "gd":
        variant = None
    elif variant not in _VARIANTS[dynamics]:
        raise ValueError(
            f"variant must be one of {_VARIANTS[dynamics]} for dynamics "
            f"{dynamics!r}, got {variant!r}"
        )

    phis = []
    for v in _as_list(phi, "phi"):
        phis.append(_canonical_float(v, "phi", 0.0, 1.0))
    ns = [check_n(v) for v in _as_list(n, "n")]

    spec = _PARAMETERS[dynamics]
    allowed = spec["required"] + spec["optional"]
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of parameter lists, got "
                        f"{type(params).__name__}")
    params = dict(params or {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"params {unknown} do not apply to dynamics {dynamics!r}; "
            f"allowed: {list(allowed)}"
        )
    missing = [p for p in spec["required"] if p not in params]
    if missing:
        raise ValueError(f"params must give {missing} for dynamics {dynamics!r}")
    if dynamics == "sgd" and ("batch_fraction" in params) == (
        "batch_size" in params
    ):
        raise ValueError(
            "params must give exactly one of 'batch_fraction' and 'batch_size' "
            "for dynamics 'sgd'"
        )
    lists = {}
    for name in allowed:
        if name not in params:
            continue
        values = []
        for v in _as_list(params[name], name):
            if name == "batch_size":
                values.append(_check_int(v, "batch_size", 1))
                continue
            if name == "batch_fraction":
                values.append(_canonical_float(v, name, 0.0, 1.0, high_open=False))
            else:
                values.append(_canonical_float(v, name, 0.0, None))
        if len(set(values)) != len(values):
            raise ValueError(f"params[{name!r}] has repeated values")
        lists[name] = values
    if len(set(phis)) != len(phis):
        raise ValueError("phi has repeated values")
    if len(set(ns)) != len(ns):
        raise ValueError("n has repeated values")
    runs = len(ns) * len(phis) * n_seeds * math.prod(map(len, lists.values()))
    if runs > MAX_RUNS:
        raise ValueError(
            f"the grid has {runs} runs (n x params x phi x n_seeds), more than "
            f"the {MAX_RUNS} one sweep may hold; split it into several sweeps")
    return dynamics, phis, ns, lists, n_seeds, dim, steps, record_every, variant


def _check_points(phis, ns, dim, radius_ratio, lists):
    """Refuse, before any run starts, a grid point that its run would
    refuse only at its turn: too many spheres for this machine's memory, a
    box too narrow for the minimum image, or a step longer than the box."""
    from .packing import (
        MAX_LENGTH, MIN_LENGTH, box_for_phi, check_memory, check_minimum_image,
    )

    for n in ns:
        check_memory(n, dim, _RUN_BYTES + _RUN_BYTES_PER_DIM * dim, "a run")
        groups = _radius_groups(n, radius_ratio)  # no array of n radii
        largest = max(radius for _, radius in groups)
        for phi in phis:
            box = box_for_phi(np.array([radius for _, radius in groups]), phi, dim,
                              np.array([count for count, _ in groups]))
            where = f"the grid point n={n}, phi={phi} in dim={dim}"
            if not MIN_LENGTH <= box <= MAX_LENGTH:
                raise ValueError(
                    f"{where} gives a box edge of {box}, outside "
                    f"[{MIN_LENGTH:g}, {MAX_LENGTH:g}] (where squared distances "
                    f"stay finite and non-zero); choose a smaller dim, another "
                    f"radius_ratio or a larger phi")
            check_minimum_image(
                box, np.array([largest]), f"more spheres than n={n} or a "
                f"lower phi than {phi} ({where} gives a box edge of {box:.6g})")
            for name in ("eps", "lr"):
                for value in lists.get(name, ()):
                    if value > box:
                        raise ValueError(
                            f"params[{name!r}] must be in (0, box] at every "
                            f"grid point, got {value}: {where} has box "
                            f"{box:.6g}")


def _radius_groups(n, radius_ratio):
    """``(count, radius)`` of a run's spheres: the first ``n // 2`` have
    radius 0.5, the others 0.5 times the ratio (0.5 too without one)."""
    ratio = 1.0 if radius_ratio is None else radius_ratio
    return (n // 2, 0.5), (n - n // 2, 0.5 * ratio)


def _radii(n, radius_ratio):
    """The radii of a run's spheres, in the order of ``_radius_groups``."""
    counts, radii = zip(*_radius_groups(n, radius_ratio))
    return np.repeat(np.array(radii, dtype=np.float64), counts)


# ---------------------------------------------------------------------------
# keys and seeds


def _digest(obj):
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _seed_from(base_seed, digest):
    # 128 bits of the hash, split into 32-bit words, as entropy next to the
    # base seed; the result is a 63-bit integer as the run functions expect
    words = [int(digest[i:i + 8], 16) for i in range(0, 32, 8)]
    state = np.random.SeedSequence([base_seed, *words]).generate_state(
        1, np.uint64)
    return int(state[0] >> np.uint64(1))


def run_key(spec):
    """Stable identifier of one run: a hex digest of its full specification.

    Parameters
    ----------
    spec : dict
        The run's specification (the ``spec`` stored with every result).

    Returns
    -------
    str
        24 hexadecimal characters.
    """
    return _digest(spec)[:_KEY_DIGITS]


def _make_spec(dynamics, phi, n, dim, steps, record_every, variant, params,
               replica, base_seed, radius_ratio=None, labels="drawn"):
    spec = {
        "version": FORMAT_VERSION,
        "dynamics": dynamics,
        "variant": variant,
        "params": params,
        "phi": phi,
        "n": n,
        "dim": dim,
        "steps": steps,
        "record_every": record_every,
        "replica": replica,
        "base_seed": base_seed,
    }
    start = {"phi": phi, "n": n, "dim": dim, "replica": replica}
    if radius_ratio is not None:
        # only when set, so monodisperse keys stay what they were
        spec["radius_ratio"] = radius_ratio
        start["radius_ratio"] = radius_ratio
    if labels != "drawn":  # the same centres, relabelled: a different run
        spec["labels"] = labels
    spec["packing_seed"] = _seed_from(base_seed, _digest(start))
    spec["seed"] = _seed_from(base_seed, _digest(spec))
    return spec


def _grid(dynamics, phis, ns, lists, n_seeds, dim, steps, record_every,
          variant, base_seed, radius_ratio, labels):
    names = list(lists)
    specs = []
    for n in ns:
        for combo in itertools.product(*(lists[k] for k in names)):
            params = dict(zip(names, combo))
            for phi in phis:
                for replica in range(n_seeds):
                    specs.append(_make_spec(
                        dynamics, phi, n, dim, steps, record_every, variant,
                        params, replica, base_seed, radius_ratio, labels))
    return specs


# ---------------------------------------------------------------------------
# one run


def _execute(spec, threads=None):
    """Run one grid point; a module-level function so it pickles by name."""
    if threads is None:
        return _execute_run(spec)
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        return _execute_run(spec)
    finally:
        numba.set_num_threads(before)


def _execute_run(spec):
    from . import random_packing, run_bro, run_gd, run_sgd

    started = time.perf_counter()
    radius = 0.5
    if spec.get("radius_ratio") is not None:
        radius = _radii(spec["n"], spec["radius_ratio"])
    packing = random_packing(spec["n"], spec["phi"], dim=spec["dim"],
                             seed=spec["packing_seed"], radius=radius)
    if spec.get("labels") == "cells":
        packing = packing.sorted_by_cell()
    common = dict(steps=spec["steps"], seed=spec["seed"],
                  record_every=spec["record_every"], progress=False)
    params = spec["params"]
    if spec["dynamics"] == "bro":
        result = run_bro(packing, params["eps"], variant=spec["variant"], **common)
    elif spec["dynamics"] == "sgd":
        result = run_sgd(packing, params["lr"],
                         batch_fraction=params.get("batch_fraction"),
                         batch_size=params.get("batch_size"),
                         variant=spec["variant"], **common)
    else:
        result = run_gd(packing, params["lr"], **common)
    return {
        "times": np.asarray(result.times, dtype=np.int64),
        "active_fraction": np.asarray(result.active_fraction, dtype=np.float64),
        "loss": np.asarray(result.loss, dtype=np.float64),
        "steps_taken": int(result.steps),
        "absorbed": bool(result.absorbed),
        "elapsed": time.perf_counter() - started,
    }


def _save(directory, spec, payload):
    meta = {"spec": spec, "steps_taken": payload["steps_taken"],
            "absorbed": payload["absorbed"], "elapsed": payload["elapsed"]}
    final = Path(directory) / f"{run_key(spec)}.npz"
    atomic_savez(final, {
        "times": payload["times"], "active_fraction": payload["active_fraction"],
        "loss": payload["loss"], "meta": np.array(json.dumps(meta, sort_keys=True)),
    }, "results_dir")


def _check_spec(spec):
    """A stored run's specification, once it is one that run_sweep makes
    (valid fields, and seeds that follow from them)."""
    if not isinstance(spec, dict):
        raise ValueError(f"spec must be a mapping, got {type(spec).__name__}")
    (dynamics, phis, ns, lists, _, dim, steps, record_every,
     variant) = _check_grid(spec["dynamics"], spec["phi"], spec["n"],
                            spec["params"], 1, spec["dim"], spec["steps"],
                            spec["record_every"], spec["variant"])
    remade = _make_spec(dynamics, phis[0], ns[0], dim, steps, record_every,
                        variant, {k: v[0] for k, v in lists.items()},
                        _check_int(spec["replica"], "replica", 0),
                        _check_int(spec["base_seed"], "base_seed", 0, MAX_SEED),
                        spec.get("radius_ratio"), spec.get("labels", "drawn"))
    if remade != spec:
        raise ValueError("spec does not describe the run it was saved for "
                         "(its fields, seeds or format version differ)")
    return spec


def _load_file(path):
    data, meta = read_archive(path, "sweep result file")
    try:
        steps = _check_int(meta["steps_taken"], "steps_taken", 0)
        absorbed = check_flag(meta["absorbed"], "absorbed")
        times, f_a, loss = check_records(data["times"], data["active_fraction"],
                                         data["loss"], steps, absorbed)
        spec = _check_spec(meta["spec"])
        if steps > spec["steps"]:
            raise ValueError("steps_taken exceeds the spec's step budget")
        payload = {"times": times, "active_fraction": f_a, "loss": loss,
                   "steps_taken": steps, "absorbed": absorbed,
                   "elapsed": float(meta["elapsed"])}
        return spec, payload
    except KeyError as error:
        raise ValueError(f"{path} is not a sweep result file: {error} is "
                         f"missing") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} is a damaged sweep result file: "
                         f"{error}") from None


def _load_cached(directory, spec):
    path = Path(directory) / f"{run_key(spec)}.npz"
    if not path.exists():
        return None
    try:
        stored, payload = _load_file(path)
    except (OSError, ValueError) as error:  # run it again and overwrite
        warnings.warn(f"run_sweep runs again: {error}", stacklevel=3)
        return None
    return payload if stored == spec else None


def _check_analysis_options(options):
    """``options`` as a dict of :func:`analysis.summarize_run`'s keyword
    options, tried on a run of two records so that a bad one is named
    before any run starts."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"analysis_options must be a dict, got "
                        f"{type(options).__name__}")
    options = dict(options)
    unknown = set(options) - {"steady_kwargs", "rtol", "smooth"}
    if unknown:
        raise ValueError(
            f"analysis_options keys {sorted(unknown)} are not recognised; "
            "allowed: ['steady_kwargs', 'rtol', 'smooth']"
        )
    steady = options.get("steady_kwargs")
    if steady is not None and not isinstance(steady, Mapping):
        raise TypeError(f"analysis_options['steady_kwargs'] must be a dict, got "
                        f"{type(steady).__name__}")
    try:
        analysis.summarize_run(np.arange(2), np.full(2, 0.5), absorbed=False,
                               **options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"analysis_options: {error}") from None
    return options


def _row(spec, payload, analysis_options, cached):
    summary = analysis.summarize_run(
        payload["times"], payload["active_fraction"],
        absorbed=payload["absorbed"], **analysis_options)
    params = spec["params"]
    n = spec["n"]
    row = {
        "dynamics": spec["dynamics"],
        "variant": spec["variant"],
        "dim": spec["dim"],
        "n": n,
        "phi": spec["phi"],
        "radius_ratio": spec.get("radius_ratio", math.nan),
        "labels": spec.get("labels", "drawn"),
    }
    for name in _ALL_PARAMETERS:
        row[name] = params.get(name, math.nan)
    row.update({
        "replica": spec["replica"],
        "max_steps": spec["steps"],
        "record_every": spec["record_every"],
        "steps": payload["steps_taken"],
        "absorbed": payload["absorbed"],
        "absorption_time": summary["absorption_time"],
        "f_a": summary["f_a"],
        "f_a_err": summary["f_a_err"],
        "steady": summary["steady"],
        "tau_reach": summary["tau_reach"],
        "tau_area": summary["tau_area"],
        "f_a_final": float(payload["active_fraction"][-1]),
        "loss_final_per_particle": float(payload["loss"][-1]) / n,
        "seed": spec["seed"],
        "packing_seed": spec["packing_seed"],
        "base_seed": spec["base_seed"],
        "key": run_key(spec),
        "elapsed": payload["elapsed"],
        "cached": cached,
    })
    return row


# ---------------------------------------------------------------------------
# executors


def _is_dask_client(executor):
    module = type(executor).__module__ or ""
    return module.startswith("distributed") and hasattr(executor, "gather")


def _check_executor(executor):
    """Refuse a process pool that forks once this process has started
    numba's OpenMP threads: GNU OpenMP does not survive a fork, and every
    worker would abort."""
    if not isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        return
    context = getattr(executor, "_mp_context", None)
    if context is None:
        import multiprocessing as context
    if context.get_start_method() != "fork":
        return
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel code has run in this process yet
        return
    if layer == "omp":
        raise ValueError(
            "executor: this ProcessPoolExecutor starts its workers by fork, "
            "and this process already runs numba's OpenMP threads, which a "
            "forked worker cannot use (it aborts); create the pool with "
            "mp_context=multiprocessing.get_context('spawn')")


def _completed(executor, specs, threads):
    """Yield ``(index, payload)`` as runs finish; cancel the rest on exit."""
    if executor is None:
        for i, spec in enumerate(specs):
            yield i, _execute(spec, threads)
        return

    if _is_dask_client(executor):
        from distributed import as_completed

        futures = [executor.submit(_execute, spec, threads, pure=False)
                   for spec in specs]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                yield index[future.key], future.result()
        finally:
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                executor.cancel(unfinished)
        return

    if not callable(getattr(executor, "submit", None)):
        raise TypeError(
            "executor must be None, a concurrent.futures-style executor with "
            f"submit(), or a dask.distributed.Client; got {type(executor).__name__}"
        )
    futures = {executor.submit(_execute, spec, threads): i
               for i, spec in enumerate(specs)}
    try:
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()


# ---------------------------------------------------------------------------
# public


def run_sweep(dynamics, phi, n, *, params=None, n_seeds=1, dim=3, steps,
              record_every=1, variant="particle", radius_ratio=None,
              labels="drawn", base_seed=0, results_dir=None, executor=None,
              threads=None, progress=True, callback=None, analysis_options=None):
    """Run a grid of absorbing-state runs and tabulate their steady states.

    The grid is every combination of ``n``, the values in ``params``,
    ``phi`` and ``n_seeds`` replicas. Each run starts from
    ``random_packing(n, phi, dim)`` and runs the chosen dynamics for at
    most ``steps`` steps (it stops at absorption).

    Parameters
    ----------
    dynamics : {"bro", "sgd", "gd"}
        Biased random organization (:func:`packing_lite.run_bro`), SGD
        (:func:`packing_lite.run_sgd`) or gradient descent
        (:func:`packing_lite.run_gd`).
    phi : float or sequence of float
        Volume fractions, each in (0, 1).
    n : int or sequence of int
        Numbers of particles, each in [2, 2**31 - 1].
    params : dict, optional
        Dynamics parameters, each a number or a sequence of numbers:
        ``eps`` for BRO; ``lr`` and one of ``batch_fraction`` (in (0, 1])
        or ``batch_size`` (>= 1) for SGD; ``lr`` for GD. ``eps`` and ``lr``
        are lengths in particle diameters, > 0.
    n_seeds : int, optional
        Independent replicas per grid point, >= 1.
    dim : int, optional
        Dimension, >= 1.
    steps : int
        Step budget of each run, >= 1.
    record_every : int, optional
        Record the activity every this many steps, >= 1. A run keeps
        ``steps // record_every + 1`` records, at most 10**8: raise
        ``record_every`` for longer runs.
    variant : str, optional
        Variant of the dynamics: ``"particle"`` (the paper's),
        ``"reciprocal"`` or ``"nonreciprocal"`` for BRO, ``"pair"`` for SGD;
        ignored for GD.
    radius_ratio : float, optional
        Run a 50:50 mixture: the first ``n // 2`` spheres have radius 0.5,
        the others ``0.5 * radius_ratio`` (in [2e-150, 2e150]; see
        :class:`~packing_lite.packing.Packing`). Monodisperse (all 0.5) by
        default. Monodisperse packings crystallise in 2D at small kicks;
        the usual disordered choice there is 1.4.
    labels : {"drawn", "cells"}, optional
        Sphere labels of the random start: in the order the centres were
        drawn, or relabelled by cell (:meth:`Packing.sorted_by_cell`).
        Both run about as fast (the engine orders the spheres by cell
        itself) and the physics is the same. The choice is part of each
        run's key (so its seed differs too), and the runs differ sphere by
        sphere.
    base_seed : int, optional
        Root of all seeds, in [0, 2**63). Two sweeps with the same base
        seed give the same run at the same grid point.
    results_dir : str or path-like, optional
        Directory (created if needed) where each run is saved as it
        finishes and from which finished runs are loaded instead of rerun.
    executor : optional
        ``None`` runs serially in this process. Otherwise any object with
        a ``concurrent.futures``-style ``submit`` (for example
        :class:`concurrent.futures.ProcessPoolExecutor`) or a
        :class:`dask.distributed.Client`. Results do not depend on it.
        Create a process pool with
        ``mp_context=multiprocessing.get_context("spawn")``: where workers
        start by fork (Linux's default), a pool made after this process has
        run parallel code fails, since numba's OpenMP threads do not
        survive a fork, and such a pool is refused.
    threads : int, optional
        Numba threads each run may use (>= 1; capped at numba's maximum).
        By default 1 when an ``executor`` is given, since the parallelism
        then comes from the workers and more threads than cores slow small
        runs down many times over, and numba's current setting otherwise.
        The setting is restored after each run. Results do not depend on
        it.
    progress : bool, optional
        Show a progress bar over runs (tqdm; the environment variable
        ``TQDM_DISABLE=1`` turns every bar off).
    callback : callable, optional
        Called as ``callback(row)`` with the summary dict of each run that
        finishes in this call (not for runs loaded from ``results_dir``),
        after the run is saved. An exception it raises stops the sweep;
        pending runs are cancelled.
    analysis_options : dict, optional
        Keyword arguments of :func:`packing_lite.analysis.summarize_run`
        (``steady_kwargs``, ``rtol``, ``smooth``).

    Returns
    -------
    pandas.DataFrame
        One row per run, in grid order (``n``, parameters, ``phi``,
        replica), with columns: ``dynamics``, ``variant``, ``dim``, ``n``,
        ``phi``, ``radius_ratio`` (NaN if monodisperse), ``labels``, ``eps``, ``lr``, ``batch_fraction``, ``batch_size`` (NaN
        where they do not apply), ``replica``, ``max_steps``,
        ``record_every``, ``steps`` (steps taken), ``absorbed``,
        ``absorption_time``, ``f_a``, ``f_a_err``, ``steady``,
        ``tau_reach``, ``tau_area``, ``f_a_final``,
        ``loss_final_per_particle``, ``seed``, ``packing_seed``,
        ``base_seed``, ``key``, ``elapsed`` (seconds) and ``cached`` (loaded
        from ``results_dir`` rather than run now).

    See Also
    --------
    load_sweep, load_run, summarize_sweep
    """
    (dynamics, phis, ns, lists, n_seeds, dim, steps, record_every,
     variant) = _check_grid(dynamics, phi, n, params, n_seeds, dim, steps,
                            record_every, variant)
    base_seed = _check_int(base_seed, "base_seed", 0, MAX_SEED)  # as a run's seed
    if radius_ratio is not None:
        from .packing import MAX_LENGTH, MIN_LENGTH

        # the second half of the spheres has radius 0.5 * radius_ratio
        radius_ratio = _canonical_float(radius_ratio, "radius_ratio",
                                        2.0 * MIN_LENGTH, 2.0 * MAX_LENGTH,
                                        low_open=False, high_open=False)
    labels = check_choice(labels, "labels", ("drawn", "cells"))
    progress = check_flag(progress, "progress")
    _check_points(phis, ns, dim, radius_ratio, lists)
    if threads is not None:
        threads = _check_int(threads, "threads", 1)
    elif executor is not None:
        threads = 1
    _check_executor(executor)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    analysis_options = _check_analysis_options(analysis_options)

    specs = _grid(dynamics, phis, ns, lists, n_seeds, dim, steps, record_every,
                  variant, base_seed, radius_ratio, labels)
    rows = [None] * len(specs)
    if results_dir is not None:
        if isinstance(results_dir, str) and not results_dir.strip():
            raise ValueError(f"results_dir must name a folder, got {results_dir!r}")
        results_dir = check_path(results_dir, "results_dir")
        results_dir = check_writable(make_folder(results_dir, "results_dir"),
                                     "results_dir")
        for i, spec in enumerate(specs):
            payload = _load_cached(results_dir, spec)
            if payload is not None:
                rows[i] = _row(spec, payload, analysis_options, cached=True)
    todo = [i for i, row in enumerate(rows) if row is None]

    import pandas as pd

    with progress_bar(total=len(specs), initial=len(specs) - len(todo),
                      show=progress, desc=f"{dynamics} sweep", unit="run") as bar:
        pending = [specs[i] for i in todo]
        try:
            for j, payload in _completed(executor, pending, threads):
                i = todo[j]
                if results_dir is not None:
                    _save(results_dir, specs[i], payload)
                rows[i] = _row(specs[i], payload, analysis_options,
                               cached=False)
                bar.update(1)
                if callback is not None:
                    callback(dict(rows[i]))
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                _stopped("sweep interrupted", rows, results_dir)) from None
        except concurrent.futures.BrokenExecutor as error:
            raise RuntimeError(_stopped(
                f"a worker of the executor stopped ({error})", rows,
                results_dir)) from error
    return pd.DataFrame(rows)


def _stopped(why, rows, results_dir):
    """What a sweep that stopped early says: why, how far it got, and how
    to go on."""
    done = sum(row is not None for row in rows)
    kept = (f"the finished runs are saved in {str(results_dir)!r}: the same "
            f"call goes on from there" if results_dir is not None
            else "pass results_dir to keep finished runs next time")
    return f"{why} with {done} of {len(rows)} runs finished; {kept}"


def load_sweep(results_dir, *, analysis_options=None):
    """Table of every run stored in a results directory.

    Parameters
    ----------
    results_dir : str or path-like
        A directory written by :func:`run_sweep` (possibly by several
        sweeps).
    analysis_options : dict, optional
        As in :func:`run_sweep`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`run_sweep`, all with ``cached = True``,
        sorted by dynamics, ``n``, parameters, ``phi`` and replica. Files
        that are not intact sweep results (damaged, or written by something
        else) are left out with a warning that names them.
    """
    results_dir = check_path(results_dir, "results_dir")
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results_dir {str(results_dir)!r} is not a directory")
    analysis_options = _check_analysis_options(analysis_options)
    rows = []
    for path in sorted(results_dir.glob("*.npz")):
        try:
            spec, payload = _load_file(path)
        except ValueError as error:
            warnings.warn(f"load_sweep skips {error}", stacklevel=2)
            continue
        except OSError as error:  # a folder named *.npz, an unreadable file
            warnings.warn(f"load_sweep skips {path}: {error.strerror}",
                          stacklevel=2)
            continue
        rows.append(_row(spec, payload, analysis_options, cached=True))
    import pandas as pd

    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = ["dynamics", "radius_ratio", "labels", "n", *_ALL_PARAMETERS, "phi",
             "replica"]
    return table.sort_values(order, kind="stable").reset_index(drop=True)


def load_run(results_dir, key):
    """The stored records of one run.

    Parameters
    ----------
    results_dir : str or path-like
        A directory written by :func:`run_sweep`.
    key : str
        The run's key (column ``key`` of the table).

    Returns
    -------
    dict
        ``spec`` (the run's specification), ``times``, ``active_fraction``,
        ``loss``, ``steps_taken``, ``absorbed`` and ``elapsed``.
    """
    if (not isinstance(key, str)
            or re.fullmatch(f"[0-9a-f]{{{_KEY_DIGITS}}}", key) is None):
        raise ValueError(f"key must be a run key, {_KEY_DIGITS} hexadecimal "
                         f"characters (column 'key' of the table), got {key!r}")
    path = check_path(results_dir, "results_dir") / f"{key}.npz"
    if not path.exists():
        raise FileNotFoundError(f"no run with key {key!r} in {str(results_dir)!r}")
    spec, payload = _load_file(path)
    return {"spec": spec, **payload}


def summarize_sweep(table, *, tau="tau_reach"):
    """Average a sweep table over replicas.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`run_sweep` or :func:`load_sweep`.
    tau : {"tau_reach", "tau_area"}, optional
        Which relaxation time to average.

    Returns
    -------
    pandas.DataFrame
        One row per grid point (dynamics, variant, dim, ``radius_ratio``,
        ``labels``, ``n``, parameters, ``phi``, step budget; those of them in
        ``table``) with ``n_runs``, ``f_a`` and ``f_a_err``
        (mean over replicas and its standard error, absorbed runs counting
        as 0, see :func:`packing_lite.analysis.ensemble_mean`), ``tau`` and
        ``tau_err``, ``absorbed_fraction``, ``steady_fraction`` and
        ``mean_steps``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas.DataFrame from run_sweep or "
                        f"load_sweep, got {type(table).__name__}")
    if tau not in ("tau_reach", "tau_area"):
        raise ValueError(f"tau must be 'tau_reach' or 'tau_area', got {tau!r}")
    needed = {"f_a", "f_a_err", tau, "absorbed", "steady", "steps", "phi", "n"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}")

    by = [c for c in ["dynamics", "variant", "dim", "radius_ratio", "labels", "n",
                      *_ALL_PARAMETERS,
                      "phi", "max_steps", "record_every"] if c in table.columns]
    out = []
    for keys, group in table.groupby(by, dropna=False, sort=True):
        f_a, f_a_err = analysis.ensemble_mean(group["f_a"], group["f_a_err"])
        t, t_err = analysis.ensemble_mean(group[tau])
        row = dict(zip(by, keys))
        row.update({
            "n_runs": len(group),
            "f_a": f_a,
            "f_a_err": f_a_err,
            "tau": t,
            "tau_err": t_err,
            "absorbed_fraction": float(group["absorbed"].mean()),
            "steady_fraction": float(group["steady"].mean()),
            "mean_steps": float(group["steps"].mean()),
        })
        out.append(row)
    return pd.DataFrame(out)
