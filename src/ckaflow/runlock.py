"""One run at a time in a folder, held by the operating system rather than by a file that can go
stale.

Snakemake's own locks (``.snakemake/locks``) are plain files: a run killed with SIGKILL leaves
them, ``--unlock`` removes them whether or not their run is alive, and a second run started while
the first writes its outputs meets the first one's incomplete files before it meets the lock. So
the workflow's main process also takes :func:`hold_folder`, an exclusive ``flock`` on
``.snakemake/ckaflow.lock`` that lives exactly as long as the process: the kernel releases it
when the process ends, however it ends. A second run (``make run``, ``snakemake``, ``python -m
snakemake``, ``--unlock``) then stops at once with a message naming the run that holds the folder.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "ckaflow.lock"
_held: list[IO] = []  # open lock files: closing one would release its lock


class FolderBusyError(RuntimeError):
    """Another run holds the folder."""


def hold_folder(metadata_dir: str | os.PathLike = ".snakemake") -> None:
    """Hold this process's exclusive lock of the run folder whose Snakemake metadata folder is
    ``metadata_dir``, or raise :class:`FolderBusyError` naming the process that holds it."""
    path = Path(metadata_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")  # noqa: SIM115  kept open for the life of the process
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = (f.read().strip() or "a process that did not say which").splitlines()[0]
        f.close()
        folder = Path(metadata_dir).resolve().parent
        raise FolderBusyError(
            f"another run is working in {folder} ({holder}): let it finish, or stop it and then "
            "run `make resume`; `snakemake -n --ignore-incomplete` shows the plan meanwhile (the "
            "live run's jobs in progress are marked incomplete)"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    f.flush()
    _held.append(f)


def holder(metadata_dir: str | os.PathLike = ".snakemake") -> str:
    """What the lock file says of the process that holds it (pid, start time)."""
    path = Path(metadata_dir) / LOCK_NAME
    text = path.read_text().strip() if path.exists() else ""
    return (text or "a process that did not say which").splitlines()[0]


def folder_is_busy(metadata_dir: str | os.PathLike = ".snakemake") -> bool:
    """Whether a live process holds the folder's lock (without taking it)."""
    path = Path(metadata_dir) / LOCK_NAME
    if not path.exists():
        return False
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
