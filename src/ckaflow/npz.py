"""Uncompressed ``.npz`` files (as ``np.savez`` writes them) a member at a time: a large Gram
file is written without holding every array, and read straight into the buffers its reader
wants, each member's zip CRC-32 checked on the way."""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

from .io import atomic_path


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
