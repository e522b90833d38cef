"""Bootstrap intervals on the default study's workload, in one table.

Workload: what ``config/config.yaml`` asks of the interval stage: every pair the findings and the
null baselines read (each fine-tuned instance with its base and scratch, every two base instances
trained and at init, each base instance with its init; all 11 layer and model groups), on both
test sets, for every estimator, 1,000 resamples of n = 200 test images: eight
``intervals.compute_intervals`` jobs, timed as the workflow runs them (each reads its Gram
files). The Gram files are those of a finished ``make run`` (``--grams``) or, without one,
synthetic files of the same shapes (156 groups per final model, 11 per checkpoint).

Against the naive method, timed on a sample of pairs and resamples and extrapolated: per pair and
resample, index the full n x n Grams by the resample, centre them with H (or U), and take the
inner products (the loop a user would write over stored Grams; resampling the activations and
calling ``cka`` would add a Gram product per group and resample on top).

    .venv/bin/python benchmarks/bench_intervals.py                       # synthetic Grams
    .venv/bin/python benchmarks/bench_intervals.py --grams results/similarity/grams
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from tables import print_table

from ckaflow.model.tied_layers import LAYER_GROUPS, LAYER_SHAPES
from ckaflow.names import is_final
from ckaflow.similarity import filter_group, packed_grams, resample_counts
from ckaflow.similarity.hsic import unpack
from ckaflow.similarity.slices import named_moments
from ckaflow.stages.grams import gram_key, read_grams
from ckaflow.stages.intervals import compute_intervals
from ckaflow.study.comparisons import Comparisons
from ckaflow.study.load import load_config
from ckaflow.study.plan import Plan


def default_plan() -> Plan:
    return Plan.from_config(load_config(["config/config.yaml"]))


def synthetic_grams(root: Path, plan: Plan, n: int) -> dict[str, Path]:
    """Gram files of the interval models with the workflow's groups and shapes (once)."""
    rng = np.random.default_rng(0)
    files = {}
    for model in Comparisons(plan).interval_models:
        path = files[model] = root / f"{model}.npz"
        if path.exists():
            continue
        filters = [filter_group(layer, c) for layer, (_, _, k) in LAYER_SHAPES.items()
                   for c in range(k)] if is_final(model) else []  # fmt: skip
        groups = filters + list(LAYER_GROUPS)
        arrays = {"groups": np.array(groups), "n": np.array(n)}
        for ts in plan.domains:
            acts = {g: np.maximum(rng.normal(size=(n, 40)) + rng.normal(size=40), 0)
                    for g in groups}  # fmt: skip
            m = named_moments(acts, precision="float32", memory_budget=2**31, global_terms=True)
            for e in Comparisons(plan).estimators:
                arrays[gram_key(ts, e)] = packed_grams(m, **e.options())
        root.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
    return files


def naive_seconds(files: dict[str, Path], plan: Plan, n: int, pairs: int, resamples: int):
    """Seconds per (pair, resample) of the naive loop, linear biased, on sampled pairs."""
    est = next(e for e in Comparisons(plan).estimators if e.name == "linear-biased")
    h = np.eye(n) - 1.0 / n
    t = 0.0
    for a, b in Comparisons(plan).interval_pairs[:pairs]:
        ga, _, pa = read_grams(files[a], gram_key(plan.domains[0], est))
        gb, _, pb = read_grams(files[b], gram_key(plan.domains[0], est))
        k, l = unpack(pa[[ga.index("model")]], n)[0], unpack(pb[[gb.index("model")]], n)[0]
        counts = resample_counts(n, resamples, seed=1)
        t0 = time.perf_counter()
        for c in counts:
            idx = np.repeat(np.arange(n), c)
            ks, ls = h @ k[np.ix_(idx, idx)] @ h, h @ l[np.ix_(idx, idx)] @ h
            _ = np.sum(ks * ls) / np.sqrt(np.sum(ks * ks) * np.sum(ls * ls))
        t += time.perf_counter() - t0
    return t / (pairs * resamples)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--grams", type=Path, help="results/similarity/grams of a finished make run")
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "ckaflow-bench")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--permutations", type=int, default=200, help="of each pair's null")
    args = ap.parse_args()
    plan, n = default_plan(), 200
    if args.grams:
        files = {m: args.grams / f"{m}.npz" for m in Comparisons(plan).interval_models}
        source = f"Gram files of a make run ({args.grams})"
    else:
        t0 = time.perf_counter()
        files = synthetic_grams(args.root / "interval-grams", plan, n)
        source = "synthetic Gram files of the workflow's shapes"
        print(f"Gram files ready ({time.perf_counter() - t0:.0f} s)", flush=True)

    def stage(permutations: int) -> tuple[float, list[float], int]:
        jobs, rows = [], 0
        t0 = time.perf_counter()
        for ts in plan.domains:
            for e in Comparisons(plan).estimators:
                t1 = time.perf_counter()
                table = compute_intervals(
                    files, test_set=ts, estimator=e, pairs=Comparisons(plan).interval_pairs,
                    rows=Comparisons(plan).interval_rows, resamples=args.resamples, confidence=0.95,
                    seed=Comparisons(plan).resample_seed(ts), null_permutations=permutations,
                )  # fmt: skip
                jobs.append(time.perf_counter() - t1)
                rows += len(table)
        return time.perf_counter() - t0, jobs, rows

    wall, jobs, rows = stage(0)
    with_null, null_jobs, _ = stage(args.permutations)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    per = naive_seconds(files, plan, n, pairs=3, resamples=20)
    naive = per * rows * args.resamples
    estimators = len(Comparisons(plan).estimators)
    workload = (f"{rows:,} pairs ({len(jobs)} jobs: 2 test sets x {estimators} "
                f"estimators), {args.resamples} resamples, n = {n}; {source}")  # fmt: skip
    print_table([
        ("workload", workload, ""),
        ("interval stage: wall, all jobs in one process", f"{wall:.1f} s", "< 120 s"),
        ("slowest job", f"{max(jobs):.1f} s", ""),
        (f"with each pair's permutation null ({args.permutations} permutations)",
         f"{with_null:.1f} s (slowest job {max(null_jobs):.1f} s): "
         f"{with_null / wall:.1f}x the intervals alone", "well under training"),
        ("peak memory", f"{peak / 1024**3:.2f} GB", ""),
        ("naive: index, centre with H, inner products",
         f"{per * 1e3:.2f} ms per pair and resample -> {naive:,.0f} s (extrapolated)", ""),
        ("naive / interval stage", f"{naive / wall:,.0f}x", ""),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
