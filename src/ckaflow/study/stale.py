"""Outputs that the current config no longer makes, moved out of the way after a run.

Change ``seeds`` or ``figures.filter_instances`` and the old instances' figures would stay in
``results/figures/`` beside the new ones, indistinguishable. When a run starts (whether or not
it has jobs to do) every file of the report folders (figures, tables) that the run's targets do
not name is moved to ``results/stale/<folder>/``, keeping its name, and listed in the log: what
stays in place is what this config made (and every figure says so in its metadata). Each file
moves by one rename, so a kill leaves each either moved or in place, and the next run moves the
rest.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

REPORT_FOLDERS = ("figures", "tables")


def stale_files(results: str | os.PathLike, targets: Iterable[str | os.PathLike]) -> list[Path]:
    """The files of ``results``' report folders that ``targets`` (the run's outputs) do not
    name, sorted. Hidden files are left: a killed job's temporary (``.name.tmp-<pid>``) is removed
    by the next writer of its output (:func:`ckaflow.io.atomic_path`), which looks for it there."""
    results = Path(results)
    wanted = {Path(t).resolve() for t in targets}
    found = (p for folder in REPORT_FOLDERS for p in (results / folder).glob("*")
             if p.is_file() and not p.name.startswith("."))  # fmt: skip
    return sorted(p for p in found if p.resolve() not in wanted)


def move_stale(results: str | os.PathLike, targets: Iterable[str | os.PathLike]) -> list[Path]:
    """Move :func:`stale_files` to ``results/stale/<folder>/`` (replacing an older stale copy of
    the same name) and log them; return where they went."""
    results = Path(results)
    moved = []
    for path in stale_files(results, targets):
        dest = results / "stale" / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, dest)
        moved.append(dest)
    if moved:
        log.warning(
            "%d output(s) this config no longer makes moved to %s: %s",
            len(moved),
            results / "stale",
            ", ".join(p.name for p in moved[:20]) + (" ..." if len(moved) > 20 else ""),
        )
    return moved


__all__ = ["move_stale", "stale_files"]
