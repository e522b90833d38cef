"""The committed reference run (``docs/reference-run/``): what ``make run`` on the default config
made, on a named machine, with the fingerprints of its datasets and trained weights; the
README's numbers rendered from it; and another run compared with it.

    snapshot(results, dest, run_seconds)   copy the findings and small tables, write provenance
    readme_blocks(dest)                    {marker name: Markdown} for the README
    fill_markers(text, blocks)             the README with every marker's text replaced
    compare(results, dest, default)        what differs between a run and the reference
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_json
from ..machine import compare_machines, machine
from .config_diff import backend_line, config_line, run_backend

FILES = [
    "findings.md",
    "tables/claim_effects.csv",
    "tables/null_baselines.csv",
    "tables/table_finetuning.md",
    "tables/test_accuracy.csv",
    "tables/block_structure.csv",
]
_MARKER = re.compile(
    r"(<!-- reference:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /reference -->)", re.S
)
_CLAIM = re.compile(
    r"^### (?P<claim>\([a-z]\)) (?P<statement>.+?)\n\n\*\*(?P<verdict>[\w ]+)\.\*\*", re.M
)


def fingerprints(results: str | os.PathLike) -> dict:
    """SHA-256 of each dataset (as its dataset.json records it) and of each instance's final
    weights (the arrays' bytes in name order, not the .npz file's: zip headers carry dates)."""
    results = Path(results)
    data = {p.parent.name: json.loads(p.read_text())["sha256"]
            for p in sorted(results.glob("data/*/dataset.json"))}  # fmt: skip
    weights = {}
    for path in sorted(results.glob("models/*/checkpoints/final.npz")):
        digest = hashlib.sha256()
        with np.load(path) as arrays:
            for name in sorted(arrays.files):
                digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
        weights[path.parent.parent.name] = digest.hexdigest()
    return {"datasets": data, "weights": weights}


def run_seconds(workdir: str | os.PathLike) -> float | None:
    """The wall time of the newest complete Snakemake run in ``workdir`` (its log's first and
    last timestamps), or None without one."""
    best = None
    for log in Path(workdir, ".snakemake", "log").glob("*.snakemake.log"):
        text = log.read_text(errors="replace")
        jobs = text.count("Finished job")  # the study's run, not a later report or rerun
        if "100%) done" in text and (best is None or jobs > best[0]):
            best = (jobs, text)
    if best is not None:
        stamps = re.findall(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", best[1], re.M)
        if len(stamps) >= 2:
            t0, t1 = (datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y")
                      for s in (stamps[0], stamps[-1]))  # fmt: skip
            return (t1 - t0).total_seconds()
    return None


def snapshot(results: str | os.PathLike, dest: str | os.PathLike, seconds: float | None) -> dict:
    """Copy the reference files of ``results`` into ``dest`` and write ``provenance.json``
    (commit, the validated config and its digest, the Keras backend, machine, run time,
    fingerprints); returns the provenance."""
    results, dest = Path(results), Path(dest)
    missing = [f for f in FILES if not (results / f).exists()]
    if missing:
        raise FileNotFoundError(f"{results} is not a finished run: {', '.join(missing)} missing")
    for f in FILES:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / f, dest / f)
    made = json.loads((results / "tables/claim_effects.provenance.json").read_text())
    provenance = {
        "commit": made["code"].get("git"),
        "config_sha256": made["config_sha256"],
        "config": made["config"],
        "backend": run_backend(results),
        "run_seconds": seconds,
        "machine": (run_machines(results) or [machine()])[0],  # the one that trained
        **fingerprints(results),
    }
    (dest / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    return provenance


def claims(findings_md: str) -> pd.DataFrame:
    """The first section's claims of a findings.md: claim, statement, verdict, and how the
    effect compares with its initial-weights baseline (exceeds, smaller, indistinguishable,
    or empty)."""
    rows = []
    matches = list(_CLAIM.finditer(findings_md))
    for i, m in enumerate(matches):
        if m["claim"] in {r["claim"] for r in rows}:
            break  # the next estimator's section
        end = matches[i + 1].start() if i + 1 < len(matches) else len(findings_md)
        body = findings_md[m.start() : end]
        beyond = next((word for phrase, word in (
            ("effect exceeds its baseline", "exceeds"),
            ("effect is smaller than its baseline", "smaller"),
            ("effect is indistinguishable from its baseline", "indistinguishable"),
        ) if phrase in body), "")  # fmt: skip
        rows.append({**m.groupdict(), "beyond_baseline": beyond})
    return pd.DataFrame(rows, columns=["claim", "statement", "verdict", "beyond_baseline"])


def readme_blocks(dest: str | os.PathLike) -> dict[str, str]:
    """The README's reference text, each under its marker name: ``run`` (where and how the
    reference run was made), ``claims`` (each claim, its verdict, effect and baseline),
    ``null`` (every comparison against its permutation null)."""
    dest = Path(dest)
    prov = json.loads((dest / "provenance.json").read_text())
    findings = (dest / "findings.md").read_text()
    m = prov["machine"]
    minutes = f"{prov['run_seconds'] / 60:.0f} min" if prov.get("run_seconds") else "time unknown"
    sets = m["instruction_sets"]
    isa = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))
                if flag in sets), "no AVX")  # fmt: skip
    kind = "".join(f"{k} {m[k]}, " for k in ("family", "model", "stepping") if k in m)
    run = (
        f"*From the committed reference run (`docs/reference-run/`): `make run` at commit "
        f"`{prov['commit'][:10]}` on {m['cpu']} ({kind}{m['cores']} cores; {isa}), TensorFlow "
        f"{m['tensorflow']}, {minutes}.*\n"
    )
    return {"run": run, "claims": _claims_table(dest, findings), "null": _null_table(findings)}


def _claims_table(dest: Path, findings: str) -> str:
    effects = pd.read_csv(dest / "tables/claim_effects.csv")
    primary = re.search(r"^## The claims \(([^;)]+)", findings, re.M)
    mine = effects[effects["estimator"].isin([primary[1] if primary else "", "training"])]
    lines = ["| claim | verdict | effect [95% interval] | same at initial weights |",
             "|---|---|---|---|"]  # fmt: skip
    for c in claims(findings).itertuples():
        rows = mine[mine["claim"] == c.claim].set_index("kind")
        effect = _interval(rows, "effect") or "two effects, see findings"
        init = _interval(rows, "same at initial weights") or "—"
        if c.beyond_baseline:
            init += f" ({_BEYOND[c.beyond_baseline]})"
        lines.append(f"| {c.claim} {c.statement} | **{c.verdict}** | {effect} | {init} |")
    return "\n".join(lines) + "\n"


_BEYOND = {"exceeds": "the effect exceeds it", "smaller": "the effect is below it",
           "indistinguishable": "the effect is within it"}  # fmt: skip


def _interval(rows: pd.DataFrame, kind: str) -> str:
    if kind not in rows.index:
        return ""
    r = rows.loc[kind]
    fmt = "{:+.0f}" if abs(r["estimate"]) >= 10 else "{:+.4f}"
    return f"{fmt.format(r['estimate'])} [{fmt.format(r['low'])}, {fmt.format(r['high'])}]"


def _null_table(findings: str) -> str:
    section = findings.split("## Every comparison against its permutation null", 1)
    if len(section) < 2:
        return "(this run computed no permutation null)\n"
    table = [line for line in section[1].split("\n## ")[0].splitlines() if line.startswith("|")]
    return "\n".join(table) + "\n"


def fill_markers(text: str, blocks: dict[str, str]) -> str:
    """``text`` with the body of every ``<!-- reference:NAME -->`` ... ``<!-- /reference -->``
    replaced by ``blocks[NAME]``; a marker without a block is an error."""
    unknown = sorted({m["name"] for m in _MARKER.finditer(text)} - set(blocks))
    if unknown:
        raise KeyError(f"README markers with no reference text: {', '.join(unknown)}")
    return _MARKER.sub(lambda m: m[1] + blocks[m["name"]] + m[4], text)


def compare(
    results: str | os.PathLike, dest: str | os.PathLike, default_config: Mapping | None = None
) -> list[str]:
    """Lines saying how a finished run compares with the reference: its config (key by key;
    keys added since the reference are held to ``default_config``, today's validated
    ``config/config.yaml``), its backend, the same datasets and weights (bytes), and each
    claim's verdict and effect."""
    results, dest = Path(results), Path(dest)
    prov = json.loads((dest / "provenance.json").read_text())
    made = json.loads((results / "tables/claim_effects.provenance.json").read_text())
    out = [config_line(prov, made, default_config), backend_line(prov, results)]
    out.append(_machine_line(results, prov["machine"]))
    got = fingerprints(results)
    for kind in ("datasets", "weights"):
        ref, mine = prov[kind], got[kind]
        same = sum(mine.get(k) == v for k, v in ref.items())
        out.append(f"{kind}: {same} of {len(ref)} identical to the reference's bytes")
    ref_claims = claims((dest / "findings.md").read_text()).set_index("claim")
    mine_claims = claims((results / "findings.md").read_text()).set_index("claim")
    for claim, row in ref_claims.iterrows():
        now = mine_claims["verdict"].get(claim, "missing")
        mark = "same" if now == row["verdict"] else "DIFFERENT"
        out.append(f"claim {claim}: {now} (reference: {row['verdict']}; {mark})")
    for claim, (diff, unit) in _effect_differences(results, dest).items():
        out.append(
            f"claim {claim} effects: largest difference from the reference {diff:.2g} {unit}"
        )
    return out


def run_machines(results: str | os.PathLike) -> list[dict]:
    """The distinct machines a run's models record having been trained on, in model order
    (empty for models made before they recorded it)."""
    out = []
    for path in sorted(Path(results).glob("models/*/provenance.json")):
        record = read_json(path, "model record").get("machine")
        if record is not None and record not in out:
            out.append(record)
    return out


def _machine_line(results: Path, reference: Mapping) -> str:
    """Whether the machine that trained the run (its models' records; this machine for models
    that record none) is the reference's CPU type: byte-identical weights are only to be
    expected on it. Names every field that differs and the fields only one record holds."""
    recorded = run_machines(results)
    mine = recorded[0] if recorded else machine()
    c = compare_machines(mine, reference)
    who = "the models trained on" if recorded else "this machine (the models record none) is"
    if c.same_type:
        partly = " as far as both records go" if c.unrecorded else ""
        line = f"machine: {who} the reference's CPU type{partly} ({mine['cpu']})"
    else:
        line = f"machine: {who} another CPU type than the reference's: " + ", ".join(c.cpu)
    if c.other:
        line += "; also " + ", ".join(c.other)
    if c.cpu or c.other:
        line += " (the reference's in parentheses)"
    if c.unrecorded:
        line += "; recorded by one of the two only: " + ", ".join(c.unrecorded)
    if len(recorded) > 1:
        line += f"; the models name {len(recorded)} machines, the first compared"
    return line


# The unit of each claim's effect: a CKA difference, but claim (d) compares training steps and
# claim (e) accuracies (their rows' estimator is "training").
_TRAINING_UNITS = {"(d)": "training steps", "(e)": "accuracy"}


def _effect_differences(results: Path, dest: Path) -> dict[str, tuple[float, str]]:
    """{claim: (largest difference of its effects from the reference's, their unit)}."""
    key = ["estimator", "claim", "kind"]
    ref = pd.read_csv(dest / "tables/claim_effects.csv").set_index(key)["estimate"]
    mine = pd.read_csv(results / "tables/claim_effects.csv").set_index(key)["estimate"]
    both = pd.concat([ref, mine], axis=1, join="inner").dropna()
    diff = (both.iloc[:, 0] - both.iloc[:, 1]).abs()
    out = {}
    for (estimator, claim, _), d in diff.items():
        unit = _TRAINING_UNITS.get(claim, "") if estimator == "training" else "CKA"
        old = out.get(claim, (0.0, unit))[0]
        out[claim] = (max(old, float(d)), unit)
    return dict(sorted(out.items()))
