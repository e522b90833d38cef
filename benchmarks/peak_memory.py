"""Peak memory of every job of a workflow run, by rule: runs a command (a ``snakemake``
call) and samples the kernel's high-water mark of resident memory (VmHWM) of each process
below it twice a second; a job is the process running a rule's script
(``.snakemake/scripts/tmp*.{rule}.py``).

    python benchmarks/peak_memory.py -- \
        snakemake --cores all --configfile examples/scale_study/config.yaml

Prints one line per rule: jobs, the largest job's peak and the run's wall time.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import defaultdict

import psutil

SCRIPT = re.compile(r"\.snakemake/scripts/tmp[^.]*\.(\w+)\.py")


def peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def watch(command: list[str], every: float = 0.5) -> tuple[int, dict[int, tuple[str, int]], float]:
    """Run ``command``; return its exit status, {pid: (rule, peak kB)} and the wall time."""
    start = time.monotonic()
    proc = subprocess.Popen(command)
    root = psutil.Process(proc.pid)
    jobs: dict[int, tuple[str, int]] = {}
    while proc.poll() is None:
        try:
            children = root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for child in children:
            try:
                found = SCRIPT.search(" ".join(child.cmdline()))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if found:
                rule, old = jobs.get(child.pid, (found.group(1), 0))
                jobs[child.pid] = (rule, max(old, peak_kb(child.pid)))
        time.sleep(every)
    return proc.wait(), jobs, time.monotonic() - start


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    status, jobs, wall = watch(command)
    by_rule: dict[str, list[int]] = defaultdict(list)
    for rule, kb in jobs.values():
        by_rule[rule].append(kb)
    print(f"\n{'rule':24s} {'jobs':>5s} {'largest peak':>13s}")
    for rule, peaks in sorted(by_rule.items(), key=lambda kv: -max(kv[1])):
        print(f"{rule:24s} {len(peaks):5d} {max(peaks) / 1e6:10.2f} GB")
    print(f"wall time {wall / 60:.1f} min, exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
