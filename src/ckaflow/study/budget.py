"""Whether a study fits: its largest job against ``similarity.memory_budget``, what would make
it fit, and the cost table as the ``plan`` command, the workflow's start and its check_cost job
print it (the costs themselves: :mod:`.cost`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..similarity.minibatch import MIN_BATCH, batch_bounds
from .comparisons import FilterScope
from .cost import StageCost, gemm_rate, largest_job, study_costs


def memory_budget(config: Mapping) -> float:
    """``similarity.memory_budget`` in bytes (GB in the config), or a quarter of this machine's
    memory: two jobs at once (``--cores 2``, the machines the README's timings come from) then
    leave half of it to everything else."""
    gb = config["similarity"]["memory_budget"]
    if gb is not None:
        return float(gb) * 1e9
    return 0.25 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# The stages whose jobs hold one minibatch's Grams at a time (their memory follows it).
BATCHED_STAGES = ("compute_grams", "compute_hsic", "compute_intervals")


@dataclass(frozen=True)
class Assessment:
    """A study's cost (:func:`assess`): the minibatch size its similarity stages use (None: all
    test images at once), each stage's cost, whether every job fits the memory budget, and the
    text that says so (and, if not, what would make it fit)."""

    batch: int | None
    costs: list[StageCost]
    fits: bool
    text: str


def assess(plan, scope: FilterScope, specs, rate: float | None = None) -> Assessment:
    """The cost of the study of ``plan`` comparing ``scope`` with the recorded ``specs``, its
    minibatch size (:func:`batch_size`) and whether it fits ``similarity.memory_budget``."""
    batch = batch_size(plan, scope, specs)
    costs = study_costs(plan, scope, specs, rate=rate, batch=batch)
    budget = memory_budget(plan.config)
    worst = largest_job(costs)
    n = int(plan.config["test_images"])
    lines = [f"Minibatches: {_batches(n, batch, plan.config)}.",
             f"Largest job: {worst.stage}, {_bytes(worst.memory)}; memory budget "
             f"{_bytes(budget)} (similarity.memory_budget)"]  # fmt: skip
    if worst.memory <= budget:
        lines[-1] += ": fits."
        return Assessment(batch, costs, True, "\n".join(lines))
    lines[-1] += ": does NOT fit. What would make it fit:"
    most = _largest(4, n, lambda m: _peak(plan, scope, specs, n=m, batch=batch) <= budget)
    if most is not None:
        lines.append(f"  test_images: {n} -> at most {most}")
    narrow = FilterScope(tuple(plan.filter_instances), "first", scope.across)
    if narrow != scope and (peak := _peak(plan, narrow, specs, batch=batch)) < worst.memory:
        lines.append(f"  similarity.filters: {{layers: first, instances: null}} (the first "
                     "convolution of figures.filter_instances) -> largest job "
                     f"{_bytes(peak)}")  # fmt: skip
    lines.append(f"  similarity.memory_budget: at least {worst.memory / 1e9:.1f} (GB), where "
                 "the machine has the memory")  # fmt: skip
    return Assessment(batch, costs, False, "\n".join(lines))


def batch_size(plan, scope: FilterScope, specs) -> int | None:
    """The minibatch size of the similarity stages: ``similarity.batch_size`` when given (None
    when it is the test set or more), else (automatic) None while the jobs that hold Grams fit
    the memory budget with all test images at once, else as few minibatches as fit, of equal
    size (a multiple of 10, at least 4, the unbiased estimator's minimum): the largest size
    that fits sets how many, the test set is then split evenly among them."""
    n, chosen = int(plan.config["test_images"]), plan.config["similarity"]["batch_size"]
    if chosen is not None:
        return None if chosen >= n else int(chosen)
    budget = memory_budget(plan.config)

    def fits(b: int) -> bool:
        costs = study_costs(plan, scope, specs, batch=b)
        return max(c.memory for c in costs if c.stage in BATCHED_STAGES) <= budget

    if fits(n):
        return None
    b = _largest(MIN_BATCH, n, fits) or MIN_BATCH
    b = max(MIN_BATCH, b // 10 * 10 if b >= 40 else b)
    even = -(-n // -(-n // b))  # n over as many batches as b makes, rounded up
    return min(b, -(-even // 10) * 10) if b >= 40 else b


def _largest(lo: int, hi: int, fits) -> int | None:
    """The largest m in lo..hi with ``fits(m)`` (true up to some m, false above), by bisection;
    None when not even ``lo`` fits."""
    if not fits(lo):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return hi if fits(hi) else lo


def _peak(plan, scope, specs, **kwargs) -> float:
    return largest_job(study_costs(plan, scope, specs, **kwargs)).memory


def _batches(n: int, batch: int | None, config) -> str:
    how = "similarity.batch_size" if config["similarity"]["batch_size"] is not None else "automatic"
    if batch is None:
        return f"all {n:,} test images at once ({how})"
    return f"{len(batch_bounds(n, batch)) - 1} of {batch:,} test images of {n:,} ({how})"


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
    found = assess(plan, scope, specs)
    if not found.fits:
        raise ConfigError(f"config: {found.text}\n{format_costs(found.costs)}")
    print(f"ckaflow: what the similarity stages will cost\n{format_costs(found.costs)}\n"
          f"{found.text}", file=out)  # fmt: skip


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
    found = assess(plan, filter_scope(plan), specs, rate=gemm_rate())
    text = f"{format_costs(found.costs)}\n{found.text}\n"
    logging.getLogger(__name__).info("what the similarity stages will cost:\n%s", text)
    if not found.fits:
        raise ConfigError(f"config: {found.text}")
    with atomic_path(out_path) as tmp:
        tmp.write_text(text)


def gram_batch_size(config: Mapping, specs: Mapping[int, object]) -> int | None:
    """The Gram jobs' minibatch size for the study of ``config`` with the recorded ``specs``
    (:func:`batch_size`); the HSIC and interval jobs read it from the Gram files."""
    from .comparisons import filter_scope
    from .plan import Plan

    plan = Plan(config)
    return batch_size(plan, filter_scope(plan), specs)
