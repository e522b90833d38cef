"""The machine that computed an output, as far as it decides the numbers' last bits.

TensorFlow's oneDNN kernels pick their code path (and so their summation order) from the CPU's
instruction sets and cache sizes: two machines sold under one name ("AMD EPYC") have trained the
default study to different weights. :func:`machine` records the CPU by vendor, family, model and
stepping (on ARM: implementer, architecture, part and revision), its vector extensions and
caches, beside the versions; :func:`compare_machines` says whether two such records are one CPU
type and names what differs.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from .io import package_versions

# The instruction sets named in a record's short list (the README's "AVX-512" comes from it);
# the CPU's SIMD extensions all in ``vector_extensions`` (flag prefixes, x86's and ARM's; x86's
# smep is no SIMD extension).
_ISA = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"]
_VECTOR = re.compile(
    r"(sse|ssse|avx|fma|amx|f16c|gfni|vaes|vpclmul"  # x86
    r"|asimd|sve|sme(?!p)|fphp|bf16|i8mm)"  # ARM
)
# /proc/cpuinfo's fields that name the CPU type: x86's, then ARM's for the same four roles.
_CPU_ID = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "stepping": "stepping",
           "CPU implementer": "vendor", "CPU architecture": "family", "CPU part": "model",
           "CPU revision": "stepping"}  # fmt: skip
# The fields that decide whether two records are one CPU type; the others (cores, versions) are
# named when they differ but do not make another type.
CPU_TYPE = ("cpu", "vendor", "family", "model", "stepping", "instruction_sets",
            "vector_extensions", "caches")  # fmt: skip


def machine() -> dict:
    """The CPU (its name; vendor, family, model and stepping; logical cores; the short list of
    instruction sets and its SIMD extensions; cache sizes), the OS and the versions that decide
    the numbers. Fields the OS does not report (no ``/proc/cpuinfo`` or sysfs) are left out."""
    versions = package_versions()
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    out = {
        "cpu": info.get("model name") or platform.processor() or platform.machine() or "unknown",
        **{name: info[key] for key, name in _CPU_ID.items() if key in info},
        "cores": os.cpu_count(),
        "instruction_sets": [f for f in _ISA if f in flags],
        "os": f"{platform.system()} {platform.release()}",
        "python": versions["python"],
        "tensorflow": versions.get("tensorflow-cpu") or versions.get("tensorflow"),
        "numpy": versions["numpy"],
    }
    if flags:
        out["vector_extensions"] = sorted(f for f in flags if _VECTOR.match(f))
    if caches := _caches():
        out["caches"] = caches
    return out


class Comparison(NamedTuple):
    """How one machine record compares with another (:func:`compare_machines`)."""

    same_type: bool  # every CPU-type field both records hold is equal
    cpu: list[str]  # the CPU-type fields that differ: "family 26 (25)", a list by +/- entries
    other: list[str]  # the other fields that differ (cores, versions), the same way
    unrecorded: list[str]  # the fields only one of the two records holds


def compare_machines(mine: Mapping, theirs: Mapping) -> Comparison:
    """Whether ``mine`` and ``theirs`` (:func:`machine` records) are one CPU type as far as both
    record it, and what differs, each phrase ``theirs``' value in parentheses. A field only one
    record holds (made before it was recorded) is named, never taken for a difference. The OS
    release is left out (it does not enter the numbers)."""
    cpu, other, unrecorded = [], [], []
    keys = [*CPU_TYPE, *sorted((set(mine) | set(theirs)) - set(CPU_TYPE) - {"os"})]
    for key in keys:
        if key not in mine and key not in theirs:
            continue
        if key not in mine or key not in theirs:
            unrecorded.append(key)
        elif (phrase := _difference(key, mine[key], theirs[key])) is not None:
            (cpu if key in CPU_TYPE else other).append(phrase)
    return Comparison(not cpu, cpu, other, unrecorded)


def _difference(key: str, a, b) -> str | None:
    if isinstance(a, list) and isinstance(b, list):
        if set(a) == set(b):
            return None
        return f"{key} " + " ".join([f"+{f}" for f in a if f not in b]
                                    + [f"-{f}" for f in b if f not in a])  # fmt: skip
    if a == b:
        return None
    return f"{key} {_show(a)} ({_show(b)})"


def _show(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none or it cannot be
    read: a record is never worth a failed job)."""
    out: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        if not line.strip():
            if out:
                break  # the first processor's block ends
            continue
        key, _, value = line.partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


@functools.cache
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
