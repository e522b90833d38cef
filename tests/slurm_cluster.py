"""A real single-node SLURM cluster for the tests, started from Debian's packages.

Everything lives under one temporary prefix: the MUNGE key and socket, slurm.conf, gres.conf,
state, spool, pid and log files. The daemons listen on free ports of their own and are started in
the foreground (munged, then slurmctld, then slurmd), so the test knows their pids and stops
exactly those. ``SLURM_CONF`` points the client commands (sbatch, squeue, scontrol) at the prefix.

The node advertises GPUs as a generic resource backed by device files (character devices with
/dev/null's numbers), so jobs that ask for ``--gpus=1`` are scheduled on a GPU resource and get
``CUDA_VISIBLE_DEVICES`` from SLURM, with no GPU present.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd"]
NODE = "ckaflow-node"


def ensure_installed() -> str | None:
    """Install SLURM and MUNGE with apt-get if they are missing; return why not, or None."""
    if all(shutil.which(d) or Path("/usr/sbin", d).exists() for d in DAEMONS):
        return None
    if shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return "SLURM is not installed and installing it with apt-get needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
    ):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            return f"apt-get could not install SLURM ({' '.join(cmd)}): {out.stderr[-500:]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _daemon(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin") / name)


class Cluster:
    """One node in two partitions, ``cpu`` (default) and ``gpu``; ``gpus`` fake GPUs.

    ``cpus`` and ``memory_mb`` may exceed the machine's (the node is overcommitted on purpose, so
    that short jobs run side by side as they would on a real cluster).
    """

    def __init__(self, prefix: Path, *, cpus: int = 32, memory_mb: int = 1_000_000, gpus: int = 8):
        self.prefix = Path(prefix)
        self.cpus, self.memory_mb, self.gpus = cpus, memory_mb, gpus
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf = self.prefix / "slurm.conf"
        bin_dir = self.prefix / "bin"
        self.env = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    # -- set-up ----------------------------------------------------------------------------------
    def _write_config(self) -> None:
        p = self.prefix
        for sub in ("munge", "state", "spool", "log", "dev"):
            (p / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(p / "munge", 0o700)
        key = p / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        devices = []
        for i in range(self.gpus):
            dev = p / "dev" / f"gpu{i}"
            try:
                os.mknod(dev, 0o666 | 0o020000, os.makedev(1, 3))  # a char device like /dev/null
            except OSError:
                dev = Path("/dev/null")
            devices.append(dev)
        # snakemake-executor-plugin-slurm-jobstep 0.6.1 removes SLURM_CONF (with the other
        # SLURM_* variables it does not keep) before its srun inside the job; a cluster whose
        # slurm.conf is not at the default path needs it back.
        (p / "bin").mkdir(exist_ok=True)
        srun = p / "bin" / "srun"
        srun.write_text(
            f'#!/bin/sh\nexport SLURM_CONF="{self.conf}"\nexec {shutil.which("srun")} "$@"\n'
        )
        srun.chmod(0o755)
        host = socket.gethostname()
        self.socket = p / "munge" / "munge.socket"
        (p / "gres.conf").write_text(
            "".join(f"NodeName={NODE} Name=gpu Type=fake File={d}\n" for d in devices)
        )
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=ckaflowtest",
                    f"SlurmctldHost={host}(127.0.0.1)",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.socket}",
                    f"StateSaveLocation={p / 'state'}",
                    f"SlurmdSpoolDir={p / 'spool'}",
                    f"SlurmctldPidFile={p / 'slurmctld.pid'}",
                    f"SlurmdPidFile={p / 'slurmd.pid'}",
                    f"SlurmctldLogFile={p / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={p / 'log' / 'slurmd.log'}",
                    "SlurmdParameters=config_overrides",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    "MpiDefault=none",
                    "SwitchType=switch/none",
                    "SchedulerType=sched/backfill",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_CPU_Memory",
                    "GresTypes=gpu",
                    "ReturnToService=2",
                    # Keep finished jobs visible to squeue and scontrol (there is no sacct here).
                    "MinJobAge=86400",
                    f"NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
                    f"RealMemory={self.memory_mb} Gres=gpu:fake:{self.gpus} State=UNKNOWN",
                    f"PartitionName=cpu Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
                    f"PartitionName=gpu Nodes={NODE} MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def start(self, timeout: float = 60) -> None:
        """Start munged, slurmctld and slurmd; wait until the node is idle."""
        self._write_config()
        p = self.prefix
        self._spawn(
            "munged",
            [
                _daemon("munged"),
                "--foreground",
                "--force",
                f"--socket={self.socket}",
                f"--key-file={p / 'munge' / 'munge.key'}",
                f"--pid-file={p / 'munge' / 'munged.pid'}",
                f"--log-file={p / 'log' / 'munged.log'}",
                f"--seed-file={p / 'munge' / 'munged.seed'}",
            ],
        )
        self._wait(lambda: self.socket.exists(), timeout, "munged to open its socket")
        self._spawn("slurmctld", [_daemon("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._ok(["scontrol", "ping"]), timeout, "slurmctld to answer")
        self._spawn("slurmd", [_daemon("slurmd"), "-D", "-N", NODE, "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "the node to become idle")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.prefix / "log" / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _ok(self, cmd: list[str]) -> bool:
        return subprocess.run(cmd, env=self.env, capture_output=True).returncode == 0

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%T")
        return out.returncode == 0 and "idle" in out.stdout

    def _wait(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}:\n{self.logs()}")

    # -- use -------------------------------------------------------------------------------------
    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller knows, as ``scontrol show job`` fields."""
        out = self.run("scontrol", "show", "job", "-o")
        jobs = []
        for line in out.stdout.splitlines():
            fields = {}
            for item in line.split():
                key, _, value = item.partition("=")
                fields[key] = value
            if "JobId" in fields:
                jobs.append(fields)
        return jobs

    def logs(self) -> str:
        parts = []
        for f in sorted((self.prefix / "log").glob("*")):
            parts.append(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    # -- tear-down -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel what is still queued or running, then stop the daemons this object started (by
        pid), newest first."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            ids = self.run("squeue", "-h", "-o", "%i").stdout.split()
            if ids:
                self.run("scancel", "--full", *ids)
                end = time.monotonic() + 30
                while self.run("squeue", "-h").stdout.strip() and time.monotonic() < end:
                    time.sleep(0.5)
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=20)


# The background study's node: as many CPUs as the profile's largest job asks for (sbatch
# asks for the profile's threads; Snakemake caps them at the machine's cores only inside the
# job), and at least one more than the machine has. It runs beside the rest of the suite: a node
# of 32 CPUs ran up to 16 of its jobs at once on a 2-core machine, each several times slower
# than alone, the tests beside it too, and the study came within minutes of its 30 (past them
# on a slower machine).
PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "slurm" / "config.yaml"


def study_cpus(profile: Path = PROFILE) -> int:
    import yaml

    threads = yaml.safe_load(profile.read_text()).get("set-threads", {})
    return max([len(os.sched_getaffinity(0)) + 1, *map(int, threads.values())])


class BackgroundStudy:
    """The tiny study through ``--profile slurm`` on a fresh cluster, in a background thread.

    It is started when the test session starts, so that its waits (submission, SLURM's
    scheduling, the plugin's status polls) overlap with the rest of the suite; the SLURM test
    then joins it. ``skip`` says why it could not run; ``jobs`` is what the controller knew of
    every job when the run ended.
    """

    def __init__(self, prefix: Path, run):
        self.prefix = Path(prefix)
        self._run_snakemake = run  # run(workdir, env) -> CompletedProcess
        self.skip: str | None = None
        self.error: BaseException | None = None
        self.out = None
        self.jobs: list[dict[str, str]] = []
        self.cluster: Cluster | None = None
        self.workdir = self.prefix / "work"
        self._thread = threading.Thread(target=self._main, name="slurm-study", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            self.skip = ensure_installed()
            if self.skip:
                return
            self.cluster = Cluster(self.prefix / "cluster", cpus=study_cpus())
            self.cluster.start()
            self.out = self._run_snakemake(self.workdir, self.cluster.env)
            self.jobs = self.cluster.jobs()
        except BaseException as err:  # reported by the test that joins
            self.error = err
        finally:
            if self.cluster is not None:
                self.cluster.stop()

    def join(self, timeout: float) -> BackgroundStudy:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the SLURM study did not end within {timeout} s")
        return self
