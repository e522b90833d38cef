"""One run at a time in a folder: an OS lock held by the run's process, gone when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ckaflow.runlock import FolderBusyError, folder_is_busy, hold_folder

HOLD = (
    "import sys, time\n"
    "from ckaflow.runlock import hold_folder\n"
    "hold_folder(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_second_run_is_refused_naming_the_first_until_it_dies(tmp_path):
    meta = tmp_path / ".snakemake"
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(meta)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline().strip() == "held"
        assert folder_is_busy(meta)
        with pytest.raises(FolderBusyError) as err:
            hold_folder(meta)
        msg = str(err.value)
        assert f"another run is working in {tmp_path}" in msg and f"pid {first.pid}" in msg
        assert "make resume" in msg and "snakemake -n --ignore-incomplete" in msg
    finally:
        os.kill(first.pid, signal.SIGKILL)  # killed hard: no clean-up of its own
        first.wait()
    deadline = time.time() + 10
    while folder_is_busy(meta) and time.time() < deadline:
        time.sleep(0.05)
    assert not folder_is_busy(meta)
    hold_folder(meta)  # the kernel released the dead run's lock: this process takes it
    assert folder_is_busy(meta)  # a new open file description conflicts, even in-process
    assert (meta / "ckaflow.lock").read_text().startswith(f"pid {os.getpid()}, started ")


def test_a_dry_run_beside_a_live_run_says_so_and_how_to_see_the_plan(workdir):
    """The live run's jobs in progress are marked incomplete, which a plain dry run would call
    a cut-off run: it first says that a run is live, and --ignore-incomplete shows the plan."""
    from conftest import snakemake

    live = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(workdir / ".snakemake")], stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert live.stdout.readline().strip() == "held"
        out = snakemake(workdir, "-n", "--ignore-incomplete", "--configfile", "config/tiny.yaml")
    finally:
        os.kill(live.pid, signal.SIGKILL)
        live.wait()
    assert out.returncode == 0, out.stdout[-2000:]
    assert f"a run is live in this folder (pid {live.pid}" in out.stdout
    assert "add --ignore-incomplete to see the plan" in out.stdout and "Job stats" in out.stdout
