"""How a user's input file (an archive, an array) that cannot be read is reported: one line
naming the config key, the file, the failure and the fix, whatever the library raised."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def reading_input(path: str | os.PathLike, where: str, what: str, fix: str) -> Iterator[None]:
    """Any failure to read the user's input file ``path`` (a ``what``: "tar archive", ".npy
    array", ...; named in the config at ``where``) inside the block becomes one ``ValueError``
    naming the key, the file, the failure and ``fix`` (a truncated archive raises EOFError,
    zlib.error, BadZipFile, ...: every kind, one message). ValueErrors that already name the
    file pass unchanged."""
    try:
        yield
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise _input_error(path, where, what, fix, err) from err
    except Exception as err:  # noqa: BLE001  tarfile, zipfile, zlib, numpy: many kinds
        raise _input_error(path, where, what, fix, err) from err


def _input_error(path, where: str, what: str, fix: str, err: Exception) -> ValueError:
    detail = str(err).splitlines()[0] if str(err) else "no detail"
    return ValueError(
        f"{where}: {str(path)!r} is not a readable {what} ({type(err).__name__}: {detail}); {fix}"
    )
