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
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

# The packages that decide the numbers; a TensorFlow build and CuPy are recorded when installed.
PROVENANCE_PACKAGES = ("ckaflow", "numpy", "array-api-compat", "pillow", "pandas", "pyarrow")
OPTIONAL_PACKAGES = ("tensorflow-cpu", "tensorflow", "cupy-cuda12x")


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


def read_parquet(path: str | os.PathLike, what: str = "table", **kwargs):
    """A Parquet file as a DataFrame, every page's checksum verified (files are written with
    them, see :func:`ckaflow.provenance.write_parquet`); ``kwargs`` go to ``pd.read_parquet``."""
    import pandas as pd

    with reading(path, what):
        return pd.read_parquet(path, page_checksum_verification=True, **kwargs)


@contextlib.contextmanager
def npz_writer(path: str | os.PathLike) -> Iterator:
    """Write an uncompressed ``.npz`` (as ``np.savez`` writes it) one array at a time, atomically:
    yields ``add(key, array)``, so that a job never holds every array it writes at once."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:

        def add(key: str, array) -> None:
            with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)

        yield add


def read_npz_array(
    path: str | os.PathLike, key: str, into: Sequence[tuple[int, np.ndarray]] | None = None
) -> np.ndarray | None:
    """Array ``key`` of an uncompressed ``.npz`` (as ``np.savez`` writes it), read with one copy
    into its final buffer and its zip CRC-32 checked: the checks of ``np.load(path)[key]`` at
    the cost of reading the bytes once (``np.load`` copies a zip member in chunks through
    Python). Errors are zipfile's, numpy's or ``BadZipFile``; wrap the call in :func:`reading`.

    ``into``: [(first row, destination (rows, ...))] in increasing row order, each destination a
    C-contiguous run of rows of the (g, ...) array: those rows are read straight into them (rows
    between them only pass through the CRC), and None is returned.
    """
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{key}.npy")
    with open(path, "rb") as f:
        header, shape, dtype = _npy_member_header(f, info, key)
        if header is None:  # compressed, or a format this reader does not know: numpy's path
            with np.load(path, allow_pickle=False) as z:
                return _scatter(z[key], into)
        out = np.empty(shape, dtype) if into is None else None
        row = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64)) if shape else 0
        runs = [(0, out)] if into is None else into
        crc, done = zlib.crc32(header), 0  # bytes of the array read so far
        for first, dest in runs:
            crc = _skip(f, first * row - done, crc)
            if dest.dtype != dtype or not dest.flags.c_contiguous or dest.nbytes % max(row, 1):
                raise ValueError(
                    f"{key}.npy: cannot read {dtype} rows into {dest.dtype} {dest.shape}"
                )
            got = f.readinto(memoryview(dest).cast("B")) if dest.nbytes else 0
            if got != dest.nbytes:
                raise zipfile.BadZipFile(f"{key}.npy is truncated")
            crc, done = zlib.crc32(dest, crc), first * row + got
        crc = _skip(f, info.file_size - len(header) - done, crc)
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {key}.npy")
    return out


def _npy_member_header(f, info: zipfile.ZipInfo, key: str):
    """(header bytes, shape, dtype) of a stored .npy zip member, ``f`` left at its data; header
    None where numpy's own reader must do it."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None, None, None
    f.seek(info.header_offset)
    local = f.read(30)  # the local file header: its name and extra field come after it
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {key}.npy")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    f.seek(start)
    version = np.lib.format.read_magic(f)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)  # fmt: skip
    if read_header is None:
        return None, None, None
    shape, fortran, dtype = read_header(f)
    if dtype.hasobject or fortran:
        return None, None, None
    length = f.tell() - start
    f.seek(start)
    return f.read(length), shape, dtype


def _skip(f, nbytes: int, crc: int, chunk: int = 1 << 24) -> int:
    """Read ``nbytes`` of ``f`` into the running CRC only."""
    while nbytes > 0:
        data = f.read(min(chunk, nbytes))
        if not data:
            raise zipfile.BadZipFile("the member is truncated")
        crc, nbytes = zlib.crc32(data, crc), nbytes - len(data)
    if nbytes < 0:
        raise zipfile.BadZipFile("the member's rows overlap or exceed its size")
    return crc


def _scatter(array: np.ndarray, into):
    if into is None:
        return array
    for first, dest in into:
        dest[...] = array[first : first + len(dest)]
    return None


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
