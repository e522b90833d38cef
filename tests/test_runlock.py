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
        assert "make resume" in msg
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
