"""Saving and loading packings and run results.

File format
-----------
One NumPy ``.npz`` archive per object, written atomically (to a temporary
file in the same folder, then renamed), so an interrupted write never
leaves a file that loads as valid. A new file gets the permissions of any
newly created file (``0o666`` less the umask); a file written over keeps
its own. Arrays:

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

from .dynamics import RunResult, check_run
from .packing import Packing
from ._validation import as_real_array, check_flag, check_int, check_path

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
        Destination file; ``.npz`` is appended when missing. Missing
        folders on the way are created, as ``mkdir -p`` would.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like.
    ValueError
        If a file stands where a folder of ``path`` should be, or ``path``
        is a folder.
    """
    path = check_path(path, "path")
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder: give a file name, "
                         f"for example {str(path / 'result.npz')!r}")
    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
        if path.is_dir():
            raise ValueError(f"path {str(path)!r} is a folder: give another "
                             f"file name")
    if isinstance(obj, RunResult):
        obj = check_run(obj, "obj")  # so that load reads it back
        packing = obj.packing
        meta = {"kind": "run", "steps": obj.steps, "absorbed": obj.absorbed,
                "seed": obj.seed, "params": _jsonable(obj.params, "obj.params")}
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
    atomic_savez(path, arrays, "path")
    return path


def make_folder(folder, name):
    """Create ``folder`` and its missing parents.

    A file in the way is a ``ValueError`` naming the parameter ``name``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(
            f"{name}: {str(folder)!r} must be a folder, but it or one of its "
            f"parents is an existing file; choose another path"
        ) from None
    return folder


def check_writable(folder, name):
    """Refuse a folder that new files cannot be written to, naming the
    parameter ``name``, before any work that would be lost."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".probe-",
                                         suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise PermissionError(
            f"{name}: cannot write files in {str(folder)!r} "
            f"({error.strerror}); choose another folder") from None
    return folder


def _new_file_mode(path):
    """The mode ``open(path, "w")`` would leave: the old file's, if any,
    else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    # Read it where the system shows it: setting it to read it back would
    # briefly change it for every thread of the process.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_savez(path, arrays, name="path"):
    """``np.savez`` to a temporary file, then rename it over ``path``.

    ``name`` is the parameter named in the error when a file stands where
    a folder of ``path`` should be.
    """
    path = Path(path)
    make_folder(path.parent, name)
    mode = _new_file_mode(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        os.fchmod(handle, mode)  # mkstemp makes it 0o600
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

    ``path`` may leave out the ``.npz`` that :func:`save` appends.

    Returns
    -------
    Packing or RunResult

    Raises
    ------
    ValueError
        If the file is not a packing_lite file, is damaged (arrays that do
        not agree with each other or with the metadata included), or was
        written by a newer format version than this package reads.
    """
    path = check_path(path, "path")
    if not path.is_file() and path.suffix.lower() != ".npz":
        with_suffix = path.with_name(path.name + ".npz")
        if with_suffix.is_file():
            path = with_suffix
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder, not a packing_lite file")
    contents, meta = read_archive(path, "packing_lite file")
    if meta.get("format") != FORMAT_NAME:
        if "spec" in meta and "steps_taken" in meta:  # a file run_sweep wrote
            raise ValueError(f"{path} is one run of a sweep: read it with "
                             f"packing_lite.load_run({str(path.parent)!r}, "
                             f"{path.stem!r})")
        raise ValueError(f"{path} is not a packing_lite file")
    version = meta.get("format_version")
    try:
        check_int(version, "format_version", 1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} is a damaged packing_lite file: {error}") from None
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in format version {version} by packing_lite "
            f"{meta.get('package_version')}; this is packing_lite "
            f"{_package_version()}, which reads format versions up to "
            f"{FORMAT_VERSION}: upgrade packing_lite to read it"
        )
    try:
        radii = contents["radii"]
        box = contents["box"]
        if box.shape != () or box.dtype.kind not in "iuf":
            raise ValueError(f"box must be one real number, got an array of "
                             f"shape {box.shape} and dtype {box.dtype}")
        positions = contents["positions"]
        packing = Packing(positions, float(box),
                          _stored_radius(radii, meta["equal_radii"]))
        # a Packing wraps its positions into the box, so save never writes
        # one outside it
        if not np.all((positions >= 0) & (positions < packing.box)):
            raise ValueError("positions must lie in [0, box), as save writes them")
        if radii.shape != (packing.n,):
            raise ValueError(f"radii must have shape ({packing.n},), as the "
                             f"positions, got {radii.shape}")
        if meta["kind"] == "packing":
            return packing
        if meta["kind"] != "run":
            raise ValueError(f"unknown kind {meta['kind']!r}")
        return check_run(RunResult(
            times=contents["times"], active_fraction=contents["active_fraction"],
            loss=contents["loss"], steps=meta["steps"], absorbed=meta["absorbed"],
            packing=packing, seed=meta["seed"], params=meta["params"]),
            "run", meta.get("package_version"))
    except KeyError as error:
        raise ValueError(f"{path} is a damaged packing_lite file: {error} is "
                         f"missing") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} is a damaged packing_lite file: {error}") from None


def _stored_radius(radii, equal):
    """The ``radius`` to build the stored packing with: the one value of an
    array of equal radii, or the array."""
    equal = check_flag(equal, "equal_radii")
    radii = as_real_array(radii, "radii", "1-D")
    if radii.ndim != 1:
        raise ValueError(f"radii must be 1-D, got shape {radii.shape}")
    if not equal:
        return radii
    if radii.size == 0 or np.any(radii != radii[0]):
        raise ValueError("radii must hold one value repeated, as equal_radii "
                         "says")
    return float(radii[0])


# The first bytes of a zip archive (a NumPy .npz file): a local file
# header, or the end record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def read_archive(path, what):
    """The arrays and the decoded ``meta`` of a file this package wrote.

    ``what`` names the kind of file in the error raised when ``path`` is
    not one: a ``ValueError``, not NumPy's message about pickled data.
    ``FileNotFoundError`` passes through.
    """
    with open(path, "rb") as stream:
        head = stream.read(4)
    if head not in _ZIP_MAGIC:
        raise ValueError(f"{path} is not a {what}: it is not a NumPy .npz archive")
    try:
        # the file opened here, so that it is closed even when np.load
        # fails on a damaged archive
        with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except Exception as error:  # zip and format errors of a damaged file
        raise ValueError(
            f"{path} is not a readable .npz file (damaged or cut short), so "
            f"not a {what} ({type(error).__name__})"
        ) from None
    if "meta" not in contents:
        raise ValueError(f"{path} has no packing_lite metadata: not a {what}")
    try:
        meta = json.loads(str(contents["meta"]))
    except (ValueError, RecursionError):  # not JSON, or nested too deep
        meta = None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} has damaged packing_lite metadata: not a {what}")
    return contents, meta


def _jsonable(value, name):
    """``value`` with numpy scalars as Python ones; a TypeError names what
    JSON cannot hold."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise TypeError(f"{name} must hold numbers, strings, lists and dicts "
                        f"only, got {type(value).__name__}")
    return value
