"""Whether a study fits: its largest job against ``similarity.memory_budget``, what would make
it fit, and the cost table as the ``plan`` command, the workflow's start and its check_cost job
print it (the costs themselves: :mod:`.cost`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .comparisons import FilterScope
from .cost import StageCost, gemm_rate, largest_job, study_costs


def memory_budget(config: Mapping) -> float:
    """``similarity.memory_budget`` in bytes (GB in the config), or 40% of this machine's
    memory: two jobs at once then fit, as on the 2-core machines the README's timings come from."""
    gb = config["similarity"]["memory_budget"]
    if gb is not None:
        return float(gb) * 1e9
    return 0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@dataclass(frozen=True)
class BudgetVerdict:
    fits: bool
    text: str


def check_budget(costs: Sequence[StageCost], plan, scope: FilterScope, specs) -> BudgetVerdict:
    """Whether every job fits ``similarity.memory_budget``; when one does not, what would make
    it fit: the most test images that fit, and the filters of the schema's default."""
    budget = memory_budget(plan.config)
    worst = largest_job(costs)
    head = (f"Largest job: {worst.stage}, {_bytes(worst.memory)}; memory budget "
            f"{_bytes(budget)} (similarity.memory_budget)")  # fmt: skip
    if worst.memory <= budget:
        return BudgetVerdict(True, head + ": fits.")
    n = int(plan.config["test_images"])
    lines = [head + ": does NOT fit. What would make it fit:"]
    lo, hi = 4, n  # the most test images whose largest job fits (memory grows with n)
    if largest_job(study_costs(plan, scope, specs, n=lo)).memory <= budget:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            fits = largest_job(study_costs(plan, scope, specs, n=mid)).memory <= budget
            lo, hi = (mid, hi) if fits else (lo, mid)
        lines.append(f"  test_images: {n} -> at most {lo}")
    narrow = FilterScope(tuple(plan.filter_instances), "first", scope.across)
    if narrow != scope:
        cost = largest_job(study_costs(plan, narrow, specs))
        if cost.memory < worst.memory:
            lines.append(f"  similarity.filters: {{layers: first, instances: null}} (the first "
                         f"convolution of figures.filter_instances) -> largest job "
                         f"{_bytes(cost.memory)}")  # fmt: skip
    lines.append(f"  similarity.memory_budget: at least {worst.memory / 1e9:.1f} (GB), where "
                 "the machine has the memory")  # fmt: skip
    return BudgetVerdict(False, "\n".join(lines))


def format_costs(costs: Sequence[StageCost]) -> str:
    """The costs as an aligned table: stage, jobs, largest job's memory, rows, disk, time."""
    head = ("stage", "jobs", "largest job", "CKA rows", "disk written", "time (est.)")
    timed = any(c.seconds is not None for c in costs)
    if not timed:
        head = head[:-1]
    lines = [head]
    for c in costs:
        lines.append((c.stage, f"{c.jobs:,}", _bytes(c.memory),
                      "" if c.rows is None else f"{c.rows:,}", _bytes(c.disk),
                      "" if c.seconds is None else _seconds(c.seconds))[: len(head)])  # fmt: skip
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]

    def line(row) -> str:
        cells = [
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in lines)


def _bytes(b: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b:.0f} B"


def _seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def check_at_load(plan, scope: FilterScope, spec_files: Mapping[int, str], out=None) -> None:
    """At the workflow's start: when the recorded model spec of every depth exists (from an
    earlier run, or ``model_spec`` and ``record_layers`` run alone), print what the similarity
    stages will cost to ``out`` (stderr) and raise :class:`~ckaflow.study.config.ConfigError`
    when a job would not fit ``similarity.memory_budget``, naming the keys that would make it
    fit. Without them: a line saying where the cost is printed before they exist."""
    import sys

    from ..model.spec import read_spec
    from .config import ConfigError

    out = out or sys.stderr
    missing = [f for f in spec_files.values() if not os.path.exists(f)]
    if missing:
        print("ckaflow: the similarity stages' cost is known once the model spec is made "
              f"({missing[0]}); python -m ckaflow plan prints it now", file=out)  # fmt: skip
        return
    specs = {depth: read_spec(path) for depth, path in spec_files.items()}
    costs = study_costs(plan, scope, specs)
    verdict = check_budget(costs, plan, scope, specs)
    if not verdict.fits:
        raise ConfigError(f"config: {verdict.text}\n{format_costs(costs)}")
    print(f"ckaflow: what the similarity stages will cost\n{format_costs(costs)}\n"
          f"{verdict.text}", file=out)  # fmt: skip


def cost_keys(config: Mapping) -> dict:
    """The config keys a study's cost depends on (what is trained, recorded and compared, on how
    many images), as plain values: the check_cost job's params."""
    model, train = config["model"], config["train"]
    return {
        "test_images": config["test_images"],
        "domains": list(config["domains"]),
        "seeds": list(config["seeds"]),
        "model": {k: model[k] for k in ("depths", "deep_seeds", "layers")},
        "finetune": bool(config["finetune"]["enabled"]),
        "checkpoints": [train[k] for k in ("schedule", "early_checkpoints", "checkpoint_epochs")],
        "similarity": {k: v for k, v in config["similarity"].items() if k != "device"},
        "filter_instances": config["figures"]["filter_instances"],
    }


def write_cost_check(config: Mapping, specs: Mapping[int, object], out_path) -> None:
    """The check_cost job: the cost table of the study of ``config`` (schema-validated) with the
    recorded ``specs``, logged and written to ``out_path``; a ConfigError (and no file) when a
    job would not fit the memory budget."""
    import logging

    from ..io import atomic_path
    from .comparisons import filter_scope
    from .config import ConfigError
    from .plan import Plan

    plan = Plan(config)
    scope = filter_scope(plan)
    costs = study_costs(plan, scope, specs, rate=gemm_rate())
    verdict = check_budget(costs, plan, scope, specs)
    text = f"{format_costs(costs)}\n{verdict.text}\n"
    logging.getLogger(__name__).info("what the similarity stages will cost:\n%s", text)
    if not verdict.fits:
        raise ConfigError(f"config: {verdict.text}")
    with atomic_path(out_path) as tmp:
        tmp.write_text(text)

