"""BRO, SGD and the paper's stochastic approximation of both.

Every particle-wise dynamics moves each active sphere by
``dx_i = f_i * S_i`` with S_i the sum of unit vectors away from its
overlapping partners (see :mod:`packing_lite.loss`); they differ only in
the random factor f_i:

=====================  ===========================================
dynamics               f_i
=====================  ===========================================
BRO (particle-wise)    uniform on [0, eps]
SGD, batch fraction b  lr / 2 with probability b, else 0
SGD, batch size B      lr / 2 for B active spheres drawn without
                       replacement, else 0
Eq. 1 (BRO, approx.)   eps / 2 * (1 + xi / sqrt(3)), xi ~ N(0, 1)
Eq. 3 (SGD, approx.)   lr / 2 * (b + sqrt(b - b^2) xi)
=====================  ===========================================

The pair-wise variants weight each contact instead: one uniform number per
pair (reciprocal BRO), per ordered pair (non-reciprocal BRO), or one coin
per pair (pair-wise SGD). All spheres move at once, from the positions at
the start of the step. Random numbers are hashed from (seed, step,
sphere or pair), so a run is bit-identical for one seed whatever the
thread count. Lengths (eps, lr) are in particle diameters.
"""

import contextlib
import functools
import math
import signal
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from . import _rng
from .loss import (
    WEIGHT_HALF_PAIR_UNIFORM, WEIGHT_ONE, WEIGHT_PAIR_BERNOULLI,
    WEIGHT_PAIR_UNIFORM, add_share, fixed_scales, loss_from_fixed, scan_all,
    scan_particle,
)
from .neighbors import CellGrid, cell_index
from .packing import Packing, check_packing, wrap
from ._progress import progress_bar
from ._validation import (
    MAX_SEED, MAX_SPHERES, MAX_STEPS, check_choice, check_flag, check_int,
    check_real, check_samples, check_steps, resolve_seed,
)

__all__ = [
    "RunResult", "RunInterrupted", "run_bro", "run_sgd", "run_gd", "run_sde",
    "sample_displacements", "continue_run",
]

FACTOR_UNIFORM = 0
FACTOR_BERNOULLI = 1
FACTOR_BATCH = 2
FACTOR_NORMAL = 3
FACTOR_CONSTANT = 4


@dataclass(frozen=True)
class Rule:
    """How one step moves the spheres: a factor kind and a weight kind."""

    factor_kind: int
    scale: float  # a: eps, lr / 2, or the mean of a Gaussian factor
    spread: float = 0.0  # probability b, or the standard deviation
    batch_size: int = 0
    weight_kind: int = WEIGHT_ONE
    weight_param: float = 0.0


@dataclass(frozen=True, repr=False)
class RunResult:
    """The record of one run.

    Attributes
    ----------
    times : ndarray of int, shape (m,)
        Step of each record; 0 is the initial state. Records are taken
        every ``record_every`` steps, at the absorbing step, and at the
        last step.
    active_fraction : ndarray of float, shape (m,)
        f_a, the fraction of spheres that overlap another.
    loss : ndarray of float, shape (m,)
        Hinge loss L at each record.
    steps : int
        Steps taken (fewer than asked when the run absorbed).
    absorbed : bool
        Whether the run reached a state with no overlap.
    packing : Packing
        The final configuration.
    seed : int
        The seed actually used: passing it again repeats the run exactly.
    params : dict
        Dynamics name and parameters.
    """

    times: np.ndarray
    active_fraction: np.ndarray
    loss: np.ndarray
    steps: int
    absorbed: bool
    packing: Packing
    seed: int
    params: dict = field(default_factory=dict)

    @property
    def final_active_fraction(self):
        """f_a at the last record."""
        return float(self.active_fraction[-1])

    def __repr__(self):
        # plain text from whatever the fields hold: a hand-made run may be
        # broken, and its repr is how one finds out
        try:
            state = "absorbed" if self.absorbed else "active"
        except (TypeError, ValueError):
            state = f"absorbed={self.absorbed!r}"
        params = self.params if isinstance(self.params, dict) else {}
        name = params.get("dynamics", "run")
        try:
            size = f"n={self.packing.n}, phi={self.packing.phi:.4f}"
        except (AttributeError, TypeError, ValueError):
            size = f"packing={type(self.packing).__name__}"
        try:
            last = f"final f_a={self.final_active_fraction:.4g}"
        except (IndexError, TypeError, ValueError):
            last = "no records"
        return f"RunResult({name}, {size}, steps={self.steps}, {state}, {last})"


# ---------------------------------------------------------------- kernels


@njit(cache=True, inline="always")
def _factor(rule_kind, scale, spread, seed, step, i):
    if rule_kind == FACTOR_UNIFORM:
        return scale * _rng.uniform(seed, step, i, 0, _rng.STREAM_FACTOR)
    if rule_kind == FACTOR_BERNOULLI:
        u = _rng.uniform(seed, step, i, 0, _rng.STREAM_FACTOR)
        return scale if u < spread else 0.0
    if rule_kind == FACTOR_NORMAL:
        return scale + spread * _rng.normal(seed, step, i, 0, _rng.STREAM_NORMAL)
    return scale  # FACTOR_CONSTANT; FACTOR_BATCH is handled by _batch_factors


@njit(cache=True)
def _select_smallest(keys, k, chosen, order):
    """Mark in ``chosen`` the ``k`` smallest ``keys``, equal keys by
    ascending ``order`` (distinct values; positions give a stable sort),
    without sorting them all.

    A histogram of the keys' top bits finds the bucket that holds the
    k-th smallest key; only that bucket (a few keys) is sorted.
    """
    n = keys.shape[0]
    bits = 1
    while (1 << (bits + 2)) < n and bits < 24:
        bits += 1
    drop = np.uint64(64 - bits)
    counts = np.zeros(1 << bits, dtype=np.int64)
    for q in range(n):
        counts[np.int64(keys[q] >> drop)] += 1
    below = 0
    bucket = 0
    while below + counts[bucket] < k:
        below += counts[bucket]
        bucket += 1
    inside = np.empty(counts[bucket], dtype=np.uint64)
    m = 0
    for q in range(n):
        if np.int64(keys[q] >> drop) == bucket:
            inside[m] = keys[q]
            m += 1
    inside.sort()
    last = inside[k - below - 1]  # the k-th smallest key
    taken = 0  # keys equal to it: how many are taken, how many there are
    equal = 0
    for a in range(m):
        if inside[a] == last:
            equal += 1
            taken += a < k - below
    cut = np.int64(np.iinfo(np.int64).max)  # the largest order taken
    if taken < equal:
        tied = np.empty(equal, dtype=np.int64)
        e = 0
        for q in range(n):
            if keys[q] == last:
                tied[e] = order[q]
                e += 1
        tied.sort()
        cut = tied[taken - 1]
    for q in range(n):
        chosen[q] = keys[q] < last or (keys[q] == last and order[q] <= cut)


@njit(cache=True)
def _batch_factors(active, labels, n_active, batch_size, scale, seed, step,
                   factors):
    """Give ``scale`` to ``batch_size`` active spheres chosen uniformly.

    ``labels[q]`` is the label of sphere ``active[q]`` (the sphere itself
    unless an engine numbers them its own way). The chosen ones are those
    with the smallest hashed keys of their labels, equal keys by label, so
    the choice is a uniformly random subset that depends neither on
    visiting order nor on numbering.
    """
    if n_active <= batch_size:
        for q in range(n_active):
            factors[np.uint64(active[q])] = scale
        return
    keys = np.empty(n_active, dtype=np.uint64)
    for q in range(n_active):
        keys[q] = _rng.hash4(seed, step, labels[q], 0, _rng.STREAM_BATCH_KEY)
    chosen = np.empty(n_active, dtype=np.bool_)
    _select_smallest(keys, batch_size, chosen, labels[:n_active])
    for q in range(n_active):
        factors[np.uint64(active[q])] = scale if chosen[q] else 0.0


@njit(cache=True)
def _build_cells(positions, box, per_side, cell_of, slots, counts):
    """Rebuild the cell lists from scratch; returns ``slots`` (maybe grown)."""
    counts[:] = 0
    for i in range(positions.shape[0]):
        c = cell_index(positions[i], box, per_side)
        cell_of[i] = c
        counts[c] += 1
    need = counts.max()
    if need > slots.shape[1]:
        slots = np.empty((slots.shape[0], need + 4), dtype=slots.dtype)
    counts[:] = 0
    for i in range(positions.shape[0]):
        c = cell_of[i]
        slots[c, counts[c]] = i
        counts[c] += 1
    return slots


@njit(cache=True, parallel=True)
def _move(positions, box, active, n_active, factors, vec):
    dim = positions.shape[1]
    for q in prange(n_active):
        i = active[q]
        f = factors[i]
        if f != 0.0:
            for k in range(dim):
                positions[i, k] = wrap(positions[i, k] + f * vec[i, k], box)


@njit(cache=True)
def collect_active(contacts, shares, active, s_scale):
    """Fill ``active`` with the spheres that have contacts, in index order.

    Returns their number and the loss: their fixed-point ``shares`` summed
    exactly (``loss.add_share``), as every engine adds them up.
    """
    n_active = 0
    high = low = np.int64(0)
    for i in range(contacts.shape[0]):
        if contacts[i] > 0:
            active[n_active] = i
            n_active += 1
            high, low = add_share(high, low, shares[i])
    return n_active, loss_from_fixed(high, low, s_scale)


@njit(cache=True, inline="always")
def record_due(t, t_stop, record_every, n_active):
    """Whether the state of step ``t`` is recorded: every ``record_every``
    steps, at absorption and at the last step of a chunk."""
    return t % record_every == 0 or n_active == 0 or t == t_stop


@njit(cache=True)
def take_record(t, t_stop, record_every, n_active, n, loss, rec_times, rec_active,
                rec_loss, n_records):
    """Append the state of step ``t`` when it is due; returns the record count.

    A record is due every ``record_every`` steps, at absorption and at the
    last step of a chunk.
    """
    if record_due(t, t_stop, record_every, n_active):
        rec_times[n_records] = t
        rec_active[n_records] = n_active / n
        rec_loss[n_records] = loss
        n_records += 1
    return n_records


@njit(cache=True)
def _advance_reference(
    positions, radii, box, per_side, offsets, cell_of, slots, counts,
    seed, factor_kind, scale, spread, batch_size, weight_kind, weight_param,
    t_start, t_stop, record_every, rec_times, rec_active, rec_loss, n_records,
):
    """Steps t_start .. t_stop - 1 of the reference engine.

    Each step rebuilds the cell lists and scans every sphere. Records are
    appended at rec[n_records:]. Returns (t, n_records, absorbed, slots):
    t is the step whose start state was scanned last.
    """
    n, dim = positions.shape
    vec = np.empty((n, dim))
    contacts = np.empty(n, dtype=np.int64)
    shares = np.empty(n, dtype=np.int64)
    factors = np.zeros(n)
    active = np.empty(n, dtype=np.int64)
    scales = fixed_scales(n, 2.0 * radii.max())
    t = t_start
    while True:
        slots = _build_cells(positions, box, per_side, cell_of, slots, counts)
        scan_all(seed, t, weight_kind, weight_param, positions, radii, box,
                 per_side, offsets, cell_of, slots, counts, vec, contacts, shares,
                 scales)
        n_active, loss = collect_active(contacts, shares, active, scales[1])
        absorbed = n_active == 0
        n_records = take_record(t, t_stop, record_every, n_active, n, loss,
                                rec_times, rec_active, rec_loss, n_records)
        if absorbed or t == t_stop:
            return t, n_records, absorbed, slots
        if factor_kind == FACTOR_BATCH:
            _batch_factors(active, active, n_active, batch_size, scale, seed, t,
                           factors)
        else:
            for q in range(n_active):
                i = active[q]
                factors[i] = _factor(factor_kind, scale, spread, seed, t, i)
        _move(positions, box, active, n_active, factors, vec)
        t += 1


@njit(cache=True)
def _sample_kernel(
    positions, radii, box, per_side, offsets, cell_of, slots, counts, seed,
    factor_kind, scale, spread, batch_size, weight_kind, weight_param,
    particles, samples, out,
):
    n, dim = positions.shape
    vec = np.zeros((n, dim))
    contacts = np.empty(n, dtype=np.int64)
    shares = np.empty(n, dtype=np.int64)
    marks = np.empty(0, dtype=np.uint8)
    scales = fixed_scales(n, 2.0 * radii.max())
    scan_all(seed, 0, WEIGHT_ONE, 0.0, positions, radii, box, per_side, offsets,
             cell_of, slots, counts, vec, contacts, shares, scales)
    active = np.nonzero(contacts > 0)[0]
    factors = np.zeros(n)
    for s in range(samples):
        if factor_kind == FACTOR_BATCH:
            _batch_factors(active, active, active.shape[0], batch_size, scale, seed,
                           s, factors)
        for q in range(particles.shape[0]):
            i = particles[q]
            if contacts[i] == 0:
                out[s, q, :] = 0.0
                continue
            scan_particle(i, s, seed, weight_kind, weight_param, positions, radii,
                          box, per_side, offsets, cell_of, slots, counts, vec,
                          marks, False, scales)
            if factor_kind != FACTOR_BATCH:
                f = _factor(factor_kind, scale, spread, seed, s, i)
            else:
                f = factors[i]
            for k in range(dim):
                out[s, q, k] = f * vec[i, k]


# ---------------------------------------------------------------- driver


def _run(packing, rule, steps, seed, record_every, progress, params,
         engine="fast", first_step=0):
    """Run ``steps`` steps of ``rule``, numbered from ``first_step``."""
    check_packing(packing)
    steps, record_every = check_steps(steps, record_every, first_step)
    seed = resolve_seed(seed)
    progress = check_flag(progress, "progress")

    positions = np.array(packing.positions, dtype=np.float64, order="C")
    if not (np.isfinite(positions).all() and positions.min() >= 0.0
            and positions.max() < packing.box):
        raise ValueError(
            "packing.positions must be finite and lie in [0, box): the packing "
            "was changed after it was made; build a new Packing from them")
    radii = np.ascontiguousarray(packing.radii, dtype=np.float64)
    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    engine = check_choice(engine, "engine", ("fast", "reference", "rows", "pairs"))
    if engine == "reference":  # full rebuild and full scan every step
        cell_of, slots, counts = grid.build(positions, packing.box)
        advance = _advance_reference
        restore = _nothing
    else:
        cell_of = slots = counts = None
        fast = fast_engine(packing, engine)
        # the positions stay in the engine's numbering from chunk to chunk
        # (renumbering 200 000 spheres takes about 10 ms) and come back in
        # the caller's before anything reads them
        advance = functools.partial(fast.advance, keep_numbering=True)
        restore = fast.restore
    n_max = steps // record_every + 3
    rec_times = np.empty(n_max, dtype=np.int64)
    rec_active = np.empty(n_max)
    rec_loss = np.empty(n_max)

    # Steps run in chunks of about _CHUNK_SECONDS each, so that a progress
    # bar moves and an interrupt is answered promptly; the chunking does
    # not change the result.
    chunk = max(1, min(steps, 16))
    bar = _progress_bar(steps, params["dynamics"]) if progress else None
    last = first_step + steps
    t, n_records, absorbed = first_step, 0, False
    closing = bar if bar is not None else contextlib.nullcontext()
    with _deferred_interrupts() as interrupt, closing:
        try:
            while True:
                t_stop = min(t + chunk, last)
                started = time.perf_counter()
                t_new, n_records, absorbed, slots = advance(
                    positions, radii, packing.box, grid.per_side, grid.offsets,
                    cell_of, slots, counts, seed, rule.factor_kind, rule.scale,
                    rule.spread, rule.batch_size, rule.weight_kind,
                    rule.weight_param, t, t_stop, record_every, rec_times,
                    rec_active, rec_loss, n_records,
                )
                chunk = _next_chunk(chunk, time.perf_counter() - started)
                if bar is not None:
                    # an absorbed run ends early: fill the bar, it did finish
                    bar.update((last if absorbed else t_new) - t)
                # on an interrupt, stop here keeping this state's record
                if absorbed or t_new == last or interrupt["hit"]:
                    t = t_new
                    break
                # the state at t_stop was scanned and maybe recorded; drop that
                # record so the next chunk, which rescans it, does not repeat it
                if rec_times[n_records - 1] == t_new:
                    n_records -= 1
                t = t_new
        finally:
            restore()
    # the engine's arrays go before the result's are made: a lower peak
    advance = restore = fast = None
    result = _result(packing, positions, rec_times, rec_active, rec_loss,
                     n_records, t, absorbed, seed, params, record_every, last)
    if interrupt["hit"]:  # also after the last chunk: stop the caller too
        raise RunInterrupted(result, last)
    return result


def fast_engine(packing, engine="fast"):
    """The engine that runs ``packing`` bit-identically to the reference:
    pair lists (``_pairs.PairEngine``) in 3D boxes at least three listing
    cells wide, neighbour rows (``_engine.FastEngine``) in other dimensions
    and in narrower boxes. ``engine`` "pairs" or "rows" asks for one."""
    from . import _engine, _pairs  # they import this module

    if engine == "fast":
        engine = "pairs" if _pairs.eligible(
            packing.n, packing.dim, packing.box, packing.max_contact) else "rows"
    if engine == "pairs":
        return _pairs.PairEngine(packing.n, packing.box, packing.max_contact)
    return _engine.FastEngine(packing.n, packing.dim, packing.box,
                              packing.max_contact)


def _nothing():
    """The reference engine keeps the caller's numbering: nothing to undo."""


# Wall time one chunk of steps should take (see ``_run``).
_CHUNK_SECONDS = 0.2


def _next_chunk(chunk, seconds):
    """Steps for the next chunk, from how long the last one took."""
    if seconds < 0.5 * _CHUNK_SECONDS:
        return min(2 * chunk, 1 << 20)
    if seconds > 2 * _CHUNK_SECONDS:
        return max(chunk // 2, 1)
    return chunk


def _result(packing, positions, rec_times, rec_active, rec_loss, n_records, t,
            absorbed, seed, params, record_every, last):
    params = dict(params, n=packing.n, dim=packing.dim, phi=packing.phi,
                  record_every=record_every, steps_requested=last)
    return RunResult(
        times=rec_times[:n_records].copy(),
        active_fraction=rec_active[:n_records].copy(),
        loss=rec_loss[:n_records].copy(),
        steps=int(t),
        absorbed=bool(absorbed),
        packing=packing._adopt(positions),  # positions is ours alone
        seed=seed,
        params=params,
    )


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by an interrupt (Ctrl-C, or a notebook's stop button).

    The run finishes the chunk of steps under way, so nothing is left half
    done, and raises this exception. Its ``result`` is the run up to that
    step, with the same records as an uninterrupted run up to there; save
    it, or finish it with ``continue_run(err.result, err.remaining)``,
    which gives exactly the uninterrupted run. It is a KeyboardInterrupt,
    so code that stops on those stops on it too. An interrupt during the
    last chunk raises it as well, with the whole run and ``remaining``
    0, so that a loop of short runs can be stopped.
    """

    def __init__(self, result, requested):
        self.result = result
        self.remaining = int(requested - result.steps)
        self._requested = requested
        super().__init__(
            f"run interrupted after step {result.steps} of {requested}; the "
            f"run so far is this exception's .result, and "
            f"packing_lite.continue_run(result, {self.remaining}) finishes it")

    def __reduce__(self):  # so that it travels back from a worker process
        return type(self), (self.result, self._requested)


@contextlib.contextmanager
def _deferred_interrupts():
    """Hold a SIGINT until the current chunk of steps returns.

    Yields a dict whose "hit" turns true on the first interrupt; a second
    one goes to the previous handler at once. Only the main thread can
    handle signals; elsewhere nothing changes.
    """
    state = {"hit": False}
    previous = signal.getsignal(signal.SIGINT)
    if (threading.current_thread() is not threading.main_thread()
            or not callable(previous)):
        yield state
        return

    def hold(signum, frame):
        if state["hit"]:
            previous(signum, frame)
        state["hit"] = True

    signal.signal(signal.SIGINT, hold)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def continue_run(result, steps, progress=False):
    """Run ``steps`` more steps of the run that produced ``result``.

    The continuation uses the same dynamics, parameters and seed and goes
    on numbering steps from ``result.steps``, so a run interrupted and
    continued (for example after :func:`packing_lite.save` and
    :func:`packing_lite.load`) ends in exactly the configuration of an
    uninterrupted run of the same total length. Its records are those of
    the uninterrupted run plus the one taken at the interruption.

    Parameters
    ----------
    result : RunResult
    steps : int
        Further steps, >= 0.
    progress : bool, default False

    Returns
    -------
    RunResult
        The whole run: records of ``result`` followed by the new ones.
    """
    # the rule is derived once, here, not also inside check_run
    given, result = result, check_run(result, rule=False)
    params = dict(result.params)
    packing = result.packing
    rule = rule_from_params(packing, params)
    steps = check_steps(steps, params["record_every"], result.steps)[0]
    if result.absorbed or steps == 0:
        return given

    def joined(more):  # the records of result, then the new ones
        new = more.times > result.steps
        return RunResult(
            times=np.concatenate([result.times, more.times[new]]),
            active_fraction=np.concatenate([result.active_fraction,
                                            more.active_fraction[new]]),
            loss=np.concatenate([result.loss, more.loss[new]]),
            steps=more.steps, absorbed=more.absorbed, packing=more.packing,
            seed=result.seed, params=dict(more.params, phi=result.params["phi"]),
        )

    try:
        more = _run(packing, rule, steps, result.seed, params["record_every"],
                    progress, {k: params[k] for k in params if k not in _DERIVED},
                    first_step=result.steps)
    except RunInterrupted as stopped:  # hand over the whole run so far
        raise RunInterrupted(joined(stopped.result),
                             result.steps + steps) from None
    return joined(more)


_DERIVED = ("n", "dim", "phi", "record_every", "steps_requested", "package_version")


def rule_from_params(packing, params, name="result"):
    """The rule of the run that stored ``params``, as :func:`continue_run`
    needs it; a ValueError names what is missing or not a known run (the
    run is called ``name``)."""
    try:
        dynamics = params["dynamics"]
        if dynamics == "bro":
            rule = _bro_rule(packing, params["eps"], params["variant"])[0]
        elif dynamics == "sgd":
            rule = _sgd_rule(packing, params["lr"], params["batch_fraction"],
                             params["batch_size"], params["variant"])[0]
        elif dynamics == "sde-bro":
            rule = _sde_rule(packing, params["eps"], None, None)[0]
        elif dynamics == "sde-sgd":
            rule = _sde_rule(packing, None, params["lr"], params["batch_fraction"])[0]
        else:
            raise ValueError(f"{name}.params['dynamics'] is {dynamics!r}: not a "
                             f"known run")
        check_steps(0, params["record_every"])
        params["phi"]
    except KeyError as error:
        raise ValueError(f"{name}.params has no {error}, which continuing the run "
                         f"needs") from None
    except (TypeError, ValueError) as error:
        if str(error).startswith(f"{name}."):
            raise
        raise type(error)(f"{name}.params: {error}") from None
    return rule


def check_records(times, f_a, loss, steps, absorbed, name=None):
    """A run's records, once they agree with each other and with its
    ``steps`` and ``absorbed``; a ValueError says what does not (naming
    the fields as parts of ``name``, when given)."""
    def part(field):
        return field if name is None else f"{name}.{field}"

    if times.ndim != 1 or times.size == 0 or times.dtype.kind not in "iu":
        raise ValueError(f"{part('times')} must be a non-empty 1-D array of "
                         "integers")
    # compared, not differenced: a difference of unsigned integers wraps
    if times[0] < 0 or np.any(times[1:] <= times[:-1]) or times[-1] != steps:
        raise ValueError(f"{part('times')} must increase from >= 0 and end at "
                         f"steps={steps}")
    for field, values in (("active_fraction", f_a), ("loss", loss)):
        if values.shape != times.shape or values.dtype.kind != "f":
            raise ValueError(f"{part(field)} must be a float array as long as "
                             f"times ({times.size})")
    if not np.all((f_a >= 0) & (f_a <= 1)):
        raise ValueError(f"{part('active_fraction')} must lie in [0, 1]")
    if not (np.all(np.isfinite(loss)) and np.all(loss >= 0)):
        raise ValueError(f"{part('loss')} must be finite and >= 0")
    if absorbed and f_a[-1] != 0:
        raise ValueError(f"{name or 'the run'} is marked absorbed, but its last "
                         f"record has f_a = {f_a[-1]}")
    return times, f_a, loss


def _same_number(value, number):
    """Whether ``value`` is the one number ``number`` (an array or other
    object that does not compare as one bool is not)."""
    try:
        return bool(value == number)
    except (TypeError, ValueError):
        return False


def check_run(result, name="result", package_version=None, rule=True):
    """``result`` once its parts agree with each other, with arrays and
    plain Python values (a hand-made or loaded ``RunResult`` may hold
    lists or numpy scalars); a TypeError or ValueError names the part
    that does not. ``package_version``, when given, is added to the
    params (a loaded run says which version wrote it). With ``rule``
    False the params need not describe a run that could go on (enough
    for drawing the records)."""
    if not isinstance(result, RunResult):
        raise TypeError(f"{name} must be a RunResult, got {type(result).__name__}")
    packing = result.packing
    if not isinstance(packing, Packing):
        raise TypeError(f"{name}.packing must be a Packing, got "
                        f"{type(packing).__name__}")
    steps = check_int(result.steps, f"{name}.steps", 0, MAX_STEPS)
    seed = check_int(result.seed, f"{name}.seed", 0, MAX_SEED)
    absorbed = check_flag(result.absorbed, f"{name}.absorbed")
    params = result.params
    if not isinstance(params, dict):
        raise TypeError(f"{name}.params must be a dict, got {type(params).__name__}")
    for key, size in (("n", packing.n), ("dim", packing.dim)):
        if key in params and not _same_number(params[key], size):
            raise ValueError(f"{name}.params give {key}={params[key]!r}, the "
                             f"positions {size}")
    records = []
    for field in ("times", "active_fraction", "loss"):
        try:
            records.append(np.asarray(getattr(result, field)))
        except (TypeError, ValueError):
            raise ValueError(f"{name}.{field} must be a 1-D array") from None
    times, f_a, loss = check_records(*records, steps, absorbed, name)
    phi = check_real(params.get("phi", packing.phi), f"{name}.params['phi']")
    if not math.isclose(phi, packing.phi, rel_tol=1e-9):
        raise ValueError(f"{name}.params give phi={phi!r}, the packing "
                         f"{packing.phi!r}")
    if rule:
        rule_from_params(packing, dict(params), name)
    if package_version is not None:
        params = dict(params, package_version=package_version)
    return RunResult(times=times, active_fraction=f_a, loss=loss, steps=steps,
                     absorbed=absorbed, packing=packing, seed=seed,
                     params=dict(params))


def _progress_bar(steps, name):
    return progress_bar(total=steps, desc=name, unit="step", leave=False)


def _length(value, name, packing):
    """A step length in (0, box]: a longer kick would wrap round the box."""
    try:
        return check_real(value, name, low=0.0, high=packing.box, high_open=False)
    except ValueError as error:
        raise ValueError(f"{error} (the upper end is the box edge: a longer "
                         "kick would wrap round the box)") from None


def _bro_rule(packing, eps, variant):
    eps = _length(eps, "eps", packing)
    variant = check_choice(variant, "variant",
                           ("particle", "reciprocal", "nonreciprocal"))
    if variant == "particle":
        return Rule(FACTOR_UNIFORM, eps), eps, variant
    kind = WEIGHT_PAIR_UNIFORM if variant == "reciprocal" else WEIGHT_HALF_PAIR_UNIFORM
    return Rule(FACTOR_CONSTANT, eps, weight_kind=kind), eps, variant


def _sgd_rule(packing, lr, batch_fraction, batch_size, variant):
    lr = _length(lr, "lr", packing)
    variant = check_choice(variant, "variant", ("particle", "pair"))
    if (batch_fraction is None) == (batch_size is None):
        raise ValueError(
            "give exactly one of batch_fraction (in (0, 1]) and batch_size (>= 1)"
        )
    if batch_size is not None:
        if variant == "pair":
            raise ValueError(
                "variant='pair' selects pairs with probability batch_fraction; "
                "batch_size is for variant='particle'"
            )
        # more than the spheres there can be would overflow the kernels'
        # 64-bit integers; any size above n simply takes every active sphere
        batch_size = check_int(batch_size, "batch_size", minimum=1,
                               maximum=MAX_SPHERES)
        return Rule(FACTOR_BATCH, 0.5 * lr, batch_size=batch_size), lr, variant
    batch_fraction = check_real(batch_fraction, "batch_fraction", low=0.0, high=1.0,
                                high_open=False)
    if variant == "pair":
        rule = Rule(FACTOR_CONSTANT, 0.5 * lr, weight_kind=WEIGHT_PAIR_BERNOULLI,
                    weight_param=batch_fraction)
    else:
        rule = Rule(FACTOR_BERNOULLI, 0.5 * lr, spread=batch_fraction)
    return rule, lr, variant


def run_bro(packing, eps, steps, seed=None, record_every=1, variant="particle",
            progress=False):
    """Biased random organization.

    Each step, every active sphere i moves by u_i S_i, with S_i the sum of
    unit vectors pointing away from its overlapping partners and u_i
    uniform on [0, eps], one number per sphere and step.

    Parameters
    ----------
    packing : Packing
        Initial configuration; not modified.
    eps : float
        Kick size in particle diameters, in (0, box] (0.02 kicks by at most
        2 % of a diameter per contact).
    steps : int
        Largest number of steps, >= 0. The run stops earlier when no
        sphere is active (the absorbing state).
    seed : int, numpy.random.Generator or None
        Seed of the kicks; the one used is stored in the result.
    record_every : int, default 1
        Record f_a and L every this many steps.
    variant : {"particle", "reciprocal", "nonreciprocal"}
        "particle" is the paper's rule. The pair-wise variants draw one
        number per overlapping pair instead, shared by the two partners
        (reciprocal: conserves the centre of mass) or drawn separately for
        each (non-reciprocal).
    progress : bool, default False
        Show a progress bar over steps (tqdm; the environment variable
        ``TQDM_DISABLE=1`` turns every bar off).

    Returns
    -------
    RunResult
    """
    check_packing(packing)
    rule, eps, variant = _bro_rule(packing, eps, variant)
    params = {"dynamics": "bro", "eps": eps, "variant": variant}
    return _run(packing, rule, steps, seed, record_every, progress, params)


def run_sgd(packing, lr, steps, batch_fraction=None, batch_size=None, seed=None,
            record_every=1, variant="particle", progress=False):
    """Particle-wise stochastic gradient descent on the hinge loss.

    Each step draws a batch from the active spheres, each one with
    probability ``batch_fraction`` or ``batch_size`` of them without
    replacement (all if fewer are active), and moves every sphere in the
    batch by -lr grad_i L = (lr / 2) S_i; the others stay.

    Parameters
    ----------
    packing : Packing
        Initial configuration; not modified.
    lr : float
        Learning rate in particle diameters, in (0, box].
    steps : int
        Largest number of steps, >= 0; stops early when absorbed.
    batch_fraction : float, optional
        Probability in (0, 1] that an active sphere is in the batch.
        1 is gradient descent.
    batch_size : int, optional
        Number of active spheres in the batch, >= 1. Give exactly one of
        ``batch_fraction`` and ``batch_size``.
    seed : int, numpy.random.Generator or None
    record_every : int, default 1
    variant : {"particle", "pair"}
        "pair" selects each overlapping pair with probability
        ``batch_fraction``; both partners take that pair's gradient term.
    progress : bool, default False

    Returns
    -------
    RunResult
    """
    check_packing(packing)
    rule, lr, variant = _sgd_rule(packing, lr, batch_fraction, batch_size, variant)
    # the checked values: plain floats and ints, whatever type was passed
    fraction = None if batch_fraction is None else float(batch_fraction)
    size = None if batch_size is None else int(batch_size)
    params = {"dynamics": "sgd", "lr": lr, "batch_fraction": fraction,
              "batch_size": size, "variant": variant}
    return _run(packing, rule, steps, seed, record_every, progress, params)


def run_gd(packing, lr, steps, seed=None, record_every=1, progress=False):
    """Gradient descent: :func:`run_sgd` with ``batch_fraction=1``."""
    result = run_sgd(packing, lr, steps, batch_fraction=1.0, seed=seed,
                     record_every=record_every, progress=progress)
    return result


def _sde_rule(packing, eps, lr, batch_fraction):
    if eps is not None:
        if lr is not None or batch_fraction is not None:
            raise ValueError(
                "give eps (Eq. 1) or lr and batch_fraction (Eq. 3), not both"
            )
        eps = _length(eps, "eps", packing)
        rule = Rule(FACTOR_NORMAL, 0.5 * eps, 0.5 * eps / math.sqrt(3.0))
        return rule, {"dynamics": "sde-bro", "eps": eps}
    if lr is None or batch_fraction is None:
        raise ValueError("give eps (Eq. 1) or both lr and batch_fraction (Eq. 3)")
    lr = _length(lr, "lr", packing)
    b = check_real(batch_fraction, "batch_fraction", low=0.0, high=1.0,
                   high_open=False)
    rule = Rule(FACTOR_NORMAL, 0.5 * lr * b, 0.5 * lr * math.sqrt(b - b * b))
    return rule, {"dynamics": "sde-sgd", "lr": lr, "batch_fraction": b}


def run_sde(packing, steps, eps=None, lr=None, batch_fraction=None, seed=None,
            record_every=1, progress=False):
    """Integrate the paper's stochastic approximation (Eqs. 1 and 3).

    With ``eps``: x_i <- x_i - eps grad_i L + eps sqrt(Sigma_i) xi,
    Sigma_i = grad_i L grad_i L^T / 3 (Eq. 1). With ``lr`` and
    ``batch_fraction`` b: x_i <- x_i - lr b grad_i L
    + lr sqrt(b - b^2) sqrt(grad_i L grad_i L^T) xi (Eq. 3). Since
    grad_i L grad_i L^T has rank one, the noise is one Gaussian number
    along grad_i L, so both reduce to x_i <- x_i + (a + s xi_i) S_i.

    Returns
    -------
    RunResult
    """
    check_packing(packing)
    rule, params = _sde_rule(packing, eps, lr, batch_fraction)
    return _run(packing, rule, steps, seed, record_every, progress, params)


def sample_displacements(packing, dynamics, samples, particles=None, seed=None,
                         eps=None, lr=None, batch_fraction=None, batch_size=None,
                         variant="particle"):
    """One-step displacements drawn many times from the same configuration.

    Parameters
    ----------
    packing : Packing
    dynamics : {"bro", "sgd", "sde"}
        "sde" uses Eq. 1 with ``eps`` or Eq. 3 with ``lr`` and
        ``batch_fraction``.
    samples : int
        Number of independent steps, >= 1.
    particles : array_like of int, optional
        Which spheres to report (default all).
    seed : int, numpy.random.Generator or None
    eps, lr, batch_fraction, batch_size, variant
        As in :func:`run_bro`, :func:`run_sgd` and :func:`run_sde`.

    Returns
    -------
    ndarray, shape (samples, len(particles), dim)
    """
    check_packing(packing)
    dynamics = check_choice(dynamics, "dynamics", ("bro", "sgd", "sde"))
    if particles is None:
        particles = np.arange(packing.n)
    particles = np.atleast_1d(np.asarray(particles))
    if particles.size == 0 and particles.ndim == 1:  # [] is read as floats
        particles = particles.astype(np.int64)
    if particles.ndim != 1 or not np.issubdtype(particles.dtype, np.integer):
        raise TypeError("particles must be a 1-d array of integer indices")
    if particles.size and (particles.min() < 0 or particles.max() >= packing.n):
        raise ValueError(f"particles must be indices in [0, {packing.n - 1}]")
    particles = particles.astype(np.int64)
    samples = check_samples(samples, particles.shape[0], packing.dim)
    if dynamics == "bro":
        rule = _bro_rule(packing, eps, variant)[0]
    elif dynamics == "sgd":
        rule = _sgd_rule(packing, lr, batch_fraction, batch_size, variant)[0]
    else:
        rule = _sde_rule(packing, eps, lr, batch_fraction)[0]
    seed = resolve_seed(seed)

    grid = CellGrid(packing.box, packing.max_contact, packing.dim, packing.n)
    cell_of, slots, counts = grid.build(packing.positions, packing.box)
    out = np.empty((samples, particles.shape[0], packing.dim))
    _sample_kernel(
        packing.positions, packing.radii, packing.box, grid.per_side, grid.offsets,
        cell_of, slots, counts, seed, rule.factor_kind, rule.scale, rule.spread,
        rule.batch_size, rule.weight_kind, rule.weight_param, particles, samples, out,
    )
    return out
