"""Atomic output files, checked input files, and provenance.

Every file the workflow writes goes through :func:`atomic_path`: the content is written under a
temporary name in the same directory and renamed into place only when complete, so an interrupted
run never leaves a file that looks finished. Every file it reads goes through :func:`reading`
(and :func:`read_parquet`, :func:`check_sha256`): a file that cannot be read, or whose content
differs from what was recorded when it was written, stops the job with one line that names the
file, says what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

# The packages that decide the numbers; Keras' backends (a TensorFlow build, JAX, PyTorch) and
# CuPy are recorded when installed.
PROVENANCE_PACKAGES = ("ckaflow", "numpy", "array-api-compat", "pillow", "pandas", "pyarrow")
OPTIONAL_PACKAGES = (
    "keras",
    "tensorflow-cpu",
    "tensorflow",
    "jax",
    "jaxlib",
    "torch",
    "cupy-cuda12x",
)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the suffix so that libraries which dispatch on it still work.
    On error the temporary file is removed and ``path`` is left untouched. Temporaries of the
    same target left by a killed process (which never reached ``finally``) are removed first:
    the workflow gives every output exactly one writer.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = _tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Like :func:`atomic_path` for a folder: fill the yielded temporary folder, and it is
    renamed to ``path`` (replacing an older one) only when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = _tmp_name(path)
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _remove_stale(path: Path) -> None:
    for old in path.parent.glob(f".{glob.escape(path.stem)}.tmp-*{glob.escape(path.suffix)}"):
        if re.fullmatch(rf"\.{re.escape(path.stem)}\.tmp-\d+{re.escape(path.suffix)}", old.name):
            shutil.rmtree(old) if old.is_dir() else old.unlink()


class CorruptFileError(ValueError):
    """An input file that cannot be read, or whose content is not what was recorded."""


REBUILD = "delete it and rerun the workflow to rebuild it"


@contextlib.contextmanager
def reading(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Any failure to read ``path`` (a ``what``: "checkpoint", "dataset split", ...) inside the
    block becomes one :class:`CorruptFileError` line naming the file, the failure and the fix."""
    try:
        yield
    except CorruptFileError:
        raise
    except FileNotFoundError as err:
        raise CorruptFileError(f"{path}: the {what} is missing ({err.strerror})") from err
    except Exception as err:  # noqa: BLE001  numpy, zipfile, pyarrow: many kinds, one message
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CorruptFileError(
            f"{path}: the {what} cannot be read ({type(err).__name__}: {detail}); {REBUILD}"
        ) from err


def check_sha256(path: str | os.PathLike, what: str, got: str, recorded: str | None, where) -> None:
    """``got``, the hash of what was read from ``path``, must be what ``where`` recorded."""
    if recorded is None:
        raise CorruptFileError(f"{path}: {where} records no SHA-256 for this {what}; {REBUILD}")
    if got != recorded:
        raise CorruptFileError(
            f"{path}: the {what} changed after it was written (SHA-256 {got[:12]}..., {where} "
            f"records {recorded[:12]}...); {REBUILD}"
        )


def read_json(path: str | os.PathLike, what: str = "record") -> dict:
    """A JSON file the workflow wrote, read through :func:`reading`: a file cut short or
    missing is one :class:`CorruptFileError` line naming it and the fix, not a bare
    JSONDecodeError."""
    with reading(path, what):
        return json.loads(Path(path).read_text())


def unreadable_records(patterns: Sequence[str]) -> list[str]:
    """One line (:func:`read_json`'s) for each JSON record matching the globs ``patterns`` that
    cannot be read: checked when a run starts, so that a record cut short stops it before
    Snakemake deletes the outputs of the jobs that would fail on it."""
    found = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                read_json(path, "record")
            except CorruptFileError as err:
                found.append(str(err))
    return found


def read_parquet(path: str | os.PathLike, what: str = "table", **kwargs):
    """A Parquet file as a DataFrame, every page's checksum verified (files are written with
    them, see :func:`ckaflow.provenance.write_parquet`); ``kwargs`` go to ``pd.read_parquet``."""
    import pandas as pd

    with reading(path, what):
        return pd.read_parquet(path, page_checksum_verification=True, **kwargs)


def sha256_named(arrays) -> str:
    """Content hash of a mapping name -> array: each name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as ``.npy`` atomically (the format is byte-deterministic)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)


def save_json(path: str | os.PathLike, obj: object) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def sha256_arrays(*arrays: np.ndarray) -> str:
    """Content hash of arrays: dtype, shape and bytes of each, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def code_version() -> dict[str, str]:
    """The package version and, when run from a git checkout, the commit and whether it is dirty."""
    out = {"ckaflow": _version("ckaflow"), "git": "unknown"}
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        out["git"] = rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass  # not a checkout (installed wheel) or no git: the package version still identifies it
    return out


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide the numbers, plus Python's."""
    out = {name: _version(name) for name in PROVENANCE_PACKAGES}
    out |= {name: v for name in OPTIONAL_PACKAGES if (v := _version(name)) != "not installed"}
    out["python"] = platform.python_version()
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
