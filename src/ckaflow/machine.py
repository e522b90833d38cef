"""The machine that computed an output, as far as it decides the numbers' last bits.

TensorFlow's oneDNN kernels pick their code path (and so their summation order) from the CPU's
instruction sets and cache sizes: two machines sold under one name ("AMD EPYC") have trained the
default study to different weights. :func:`machine` records the CPU by vendor, family, model and
stepping, its vector extensions and caches, beside the versions; :func:`machine_differences`
names what differs between two such records.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path

from .io import package_versions

# The instruction sets named in a record's short list (the README's "AVX-512" comes from it);
# every vector extension the CPU reports is in ``vector_extensions``.
_ISA = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"]
_VECTOR = ("sse", "ssse", "avx", "fma", "amx", "f16c")
_CPU_ID = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "stepping": "stepping"}


def machine() -> dict:
    """The CPU (its name; vendor, family, model and stepping; logical cores; the short list of
    instruction sets and every vector extension; cache sizes), the OS and the versions that
    decide the numbers. Fields Linux does not report (no ``/proc/cpuinfo``) are left out."""
    versions = package_versions()
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    out = {
        "cpu": info.get("model name") or platform.processor() or "unknown",
        **{name: info[key] for key, name in _CPU_ID.items() if key in info},
        "cores": os.cpu_count(),
        "instruction_sets": [f for f in _ISA if f in flags],
        "os": f"{platform.system()} {platform.release()}",
        "python": versions["python"],
        "tensorflow": versions.get("tensorflow-cpu") or versions.get("tensorflow"),
        "numpy": versions["numpy"],
    }
    if flags:
        out["vector_extensions"] = sorted(f for f in flags if f.startswith(_VECTOR))
    caches = _caches()
    if caches:
        out["caches"] = caches
    return out


def machine_differences(mine: Mapping, theirs: Mapping) -> list[str]:
    """What differs between two :func:`machine` records, one phrase per field: ``theirs``'
    value in parentheses, a list by what only one has (+ mine, - theirs); the fields only one
    record has (made before they were recorded) named in one last phrase. The OS release is
    left out (it does not enter the numbers)."""
    out, missing = [], []
    for key in sorted((set(mine) | set(theirs)) - {"os"}):
        a, b = mine.get(key), theirs.get(key)
        if key not in mine or key not in theirs:
            missing.append(key)
        elif isinstance(a, list) and isinstance(b, list):
            if set(a) != set(b):
                out.append(f"{key} " + " ".join([f"+{f}" for f in a if f not in b]
                                                 + [f"-{f}" for f in b if f not in a]))  # fmt: skip
        elif a != b:
            out.append(f"{key} {_show(a)} ({_show(b)})")
    if missing:
        out.append("recorded by one only: " + ", ".join(missing))
    return out


def _show(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    path = Path("/proc/cpuinfo")
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.strip():
            if out:
                break  # the first processor's block ends
            continue
        key, _, value = line.partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


def _caches() -> dict[str, str]:
    """{"L1d": "48K", "L2": "1024K", ...} of the first CPU, from sysfs (empty elsewhere)."""
    out = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / f).read_text().strip() for f in ("level", "type", "size"))
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        out[f"L{level}{suffix}"] = size
    return out
