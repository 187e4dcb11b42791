"""Saving and loading packings and run results.

File format
-----------
One NumPy ``.npz`` archive per object, written atomically (to a temporary
file in the same folder, then renamed), so an interrupted write never
leaves a file that loads as valid. Arrays:

``positions`` (n, dim) float64, ``radii`` (n,) float64, ``box`` () float64,
and for a run also ``times`` (m,) int64, ``active_fraction`` (m,) float64,
``loss`` (m,) float64. ``meta`` holds a JSON string with ``format``
("packing_lite"), ``format_version``, ``kind`` ("packing" or "run"),
``package_version``, ``equal_radii`` and, for a run, ``steps``,
``absorbed``, ``seed`` and ``params``.

Files of an older ``format_version`` are converted on load; files of a
newer one, or that are not packing_lite files, raise ``ValueError`` that
says why.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .dynamics import RunResult
from .packing import Packing

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_NAME = "packing_lite"
FORMAT_VERSION = 1


def _package_version():
    from . import __version__

    return __version__


def save(obj, path):
    """Write a :class:`Packing` or :class:`RunResult` to ``path`` (.npz).

    Parameters
    ----------
    obj : Packing or RunResult
    path : str or os.PathLike
        Destination; ``.npz`` is appended when missing.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if isinstance(obj, RunResult):
        packing = obj.packing
        meta = {"kind": "run", "steps": obj.steps, "absorbed": obj.absorbed,
                "seed": obj.seed, "params": _jsonable(obj.params)}
        arrays = {"times": obj.times, "active_fraction": obj.active_fraction,
                  "loss": obj.loss}
    elif isinstance(obj, Packing):
        packing = obj
        meta = {"kind": "packing"}
        arrays = {}
    else:
        raise TypeError(
            f"obj must be a Packing or a RunResult, got {type(obj).__name__}"
        )
    meta.update(format=FORMAT_NAME, format_version=FORMAT_VERSION,
                package_version=_package_version(),
                equal_radii=bool(np.ndim(packing.radius) == 0))
    arrays.update(positions=packing.positions, radii=packing.radii,
                  box=np.float64(packing.box), meta=np.array(json.dumps(meta)))
    atomic_savez(path, arrays)
    return path


def atomic_savez(path, arrays):
    """``np.savez`` to a temporary file, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(path):
    """Read a file written by :func:`save`.

    Returns
    -------
    Packing or RunResult

    Raises
    ------
    ValueError
        If the file is not a packing_lite file, is damaged, or was written
        by a newer format version than this package reads.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except Exception as error:  # zip and format errors of a damaged file
        raise ValueError(f"{path} is not a readable .npz file: {error}") from None
    if "meta" not in contents:
        raise ValueError(f"{path} has no packing_lite metadata")
    meta = json.loads(str(contents["meta"]))
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a packing_lite file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in format version {version} by packing_lite "
            f"{meta.get('package_version')}; this is packing_lite "
            f"{_package_version()}, which reads format versions up to "
            f"{FORMAT_VERSION}: upgrade packing_lite to read it"
        )
    radii = contents["radii"]
    radius = float(radii[0]) if meta.get("equal_radii") else radii
    packing = Packing(contents["positions"], float(contents["box"]), radius)
    if meta["kind"] == "packing":
        return packing
    return RunResult(
        times=contents["times"], active_fraction=contents["active_fraction"],
        loss=contents["loss"], steps=int(meta["steps"]),
        absorbed=bool(meta["absorbed"]), packing=packing, seed=int(meta["seed"]),
        params=dict(meta["params"], package_version=meta.get("package_version")),
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
