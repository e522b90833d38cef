"""The similarity path at growing size: each job's time and peak memory, measured, beside what
``python -m ckaflow plan`` predicts for it (ckaflow.study.cost), and how both grow with n.

Workload: a study of two domains and one seed of a 6-layer convolutional model (``--channels``
channels per layer at 8 x 8 positions), no fine-tuning, its instances at init, two phase ends and
final (8 models), two estimators (linear biased and debiased), the schema's default filters (the
first convolution of the two filter instances, across them). For each n: synthetic activations,
then one job of each kind as the workflow runs it, each in a fresh process whose peak resident
memory is read at its end: the Gram job of a filter instance (the largest), the HSIC job of one
test set and estimator (one shard: every block) and the interval job (1,000 resamples, 200
permutations of the null; ``--jobs`` picks some). Each time is the job's work, its imports (about
a second, once per job whatever its size) left out, the least of ``--repeats`` runs (default 3:
one run on a shared 2-core machine varies by a third, never downwards), each peak the largest.
Extraction and training are not part of it.

    .venv/bin/python benchmarks/bench_scale.py                      # n = 250, 500, 1000
    .venv/bin/python benchmarks/bench_scale.py --n 1000 2000 4000 --batch 500   # minibatches

With ``--allcnn WIDTH ...`` the workload is All-CNN-C's instead (``scale_allcnn.py``: the 18
recorded layers at each width, ``--instances`` seeds at init and final), and the Gram job's
time is also given against its GEMM floor (its products at this machine's measured rate), as is
the time of its products alone (made at the job's shapes in this process, nothing else):

    .venv/bin/python benchmarks/bench_scale.py --allcnn 1 --n 500 2000 10000 --batch 500
    .venv/bin/python benchmarks/bench_scale.py --allcnn 0.1667 --n 500 2000 10000 --batch 500 \
        --jobs compute_grams                # activations that fit the page cache at n = 10,000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [f"conv{i}" for i in range(1, 7)]
SIDE = 8  # positions per side: the Gram cost follows the units, not the image


def study_config(n: int, batch: int | None = None) -> dict:
    """The study's config: tiny.yaml's keys, two npy domains, n test images each, minibatches
    of ``batch`` (None: all at once)."""
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config.update(
        preset=None, task="reconstruct", seeds=[1], images_per_domain=4 * n, val_fraction=0.5,
        test_images=n, finetune={"enabled": False},
        domains={d: {"source": "npy", "images": f"{d}.npy"} for d in ("a", "b")},
        model={"builder": "examples/own_study/model.py:build", "layers": "auto"},
    )  # fmt: skip
    config["train"]["early_checkpoints"] = []
    config["figures"]["filter_instances"] = None
    config["similarity"] = {"estimators": [{"debiased": False}, {"debiased": True}], "shards": 1,
                            "batch_size": batch}  # fmt: skip
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def model_spec(channels: int):
    from ckaflow.model.spec import ModelSpec

    rows = tuple({"name": name, "type": "Conv2D", "kind": "conv", "params": 0,
                  "output_shape": [SIDE, SIDE, channels], "kernel": None}
                 for name in LAYERS)  # fmt: skip
    return ModelSpec(depth=1, input_shape=(32, 32, 3), num_classes=None, task="reconstruct",
                     output="image", layers=rows, recorded=tuple(LAYERS))  # fmt: skip


def setup(work: Path, n: int, channels: int, batch: int | None) -> dict:
    """Activations and Gram files of every model (the jobs' inputs); returns the job inputs."""
    from ckaflow.stages.activations import save_activations
    from ckaflow.stages.grams import write_grams
    from ckaflow.study.comparisons import Comparisons, filter_scope
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(study_config(n, batch))
    scope = filter_scope(plan)
    spec = model_spec(channels)
    rng = np.random.default_rng(0)
    for model in plan.models:
        for ts in plan.domains:
            acts = {name: np.maximum(rng.normal(size=(n, channels, SIDE, SIDE)) + 0.2, 0)
                    for name in LAYERS}  # fmt: skip
            save_activations(work / "act" / model / ts, acts)
        keep = spec.filter_layers(scope.layers_of(model))
        write_grams(work / "act", model, plan.domains, Comparisons(plan).estimators,
                    work / "grams" / f"{model}.npz", filter_layers=keep,
                    batch_size=batch)  # fmt: skip
    return {
        "n": n, "channels": channels, "batch": batch, "work": str(work), "domains": plan.domains,
        "models": plan.models, "estimators": [e.name for e in Comparisons(plan).estimators],
        "filter_model": scope.instances[0], "filter_models": list(scope.instances),
        "filter_layers": spec.filter_layers(scope.layers_of(scope.instances[0])),
        "pairs": Comparisons(plan).interval_pairs, "rows": Comparisons(plan).interval_rows,
        "interval_models": Comparisons(plan).interval_models,
    }  # fmt: skip


def run_job(kind: str, job: dict) -> int | None:
    """One job of ``kind`` on the inputs ``job`` names (in a fresh process); the HSIC job's
    rows of the CKA table."""
    from ckaflow.similarity import Estimator  # each job imports what its script imports

    work = Path(job["work"])
    grams = {m: work / "grams" / f"{m}.npz" for m in job["models"]}
    estimators = [Estimator.from_name(e) for e in job["estimators"]]
    if kind == "compute_grams":
        from ckaflow.stages.grams import write_grams

        write_grams(work / "act", job["filter_model"], job["domains"], estimators,
                    work / "out.npz", filter_layers=job["filter_layers"],
                    batch_size=job["batch"])  # fmt: skip
    elif kind == "compute_hsic":
        from ckaflow.stages.hsic import hsic_shard

        return len(hsic_shard(grams, test_set=job["domains"][0], estimator=estimators[1], shard=0,
                              shards=1, filter_models=job["filter_models"]))  # fmt: skip
    else:
        from ckaflow.stages.intervals import compute_intervals

        compute_intervals({m: grams[m] for m in job["interval_models"]},
                          test_set=job["domains"][0], estimator=estimators[1],
                          pairs=[tuple(p) for p in job["pairs"]],
                          rows=[tuple(r) for r in job["rows"]], resamples=1000,
                          confidence=0.95, seed=0, null_permutations=200)  # fmt: skip


def measure(kind: str, job: dict, repeats: int = 1) -> tuple[float, float, int | None]:
    """(seconds, peak resident bytes, rows written or None) of one job, each run in a fresh
    process: the least time and the largest peak of ``repeats`` runs."""
    runs = [_measure_once(kind, job) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def _measure_once(kind: str, job: dict) -> tuple[float, float, int | None]:
    # VmHWM, not getrusage: a child's ru_maxrss starts from its parent's at the fork. Snakemake
    # imported as a workflow job's script preamble imports it.
    here = str(Path(__file__).parent)
    code = (
        "import json, sys, time, snakemake.script\n"
        f"sys.path.insert(0, {here!r})\n"
        "import bench_scale as b\n"
        # the job's own imports (about a second, once per job whatever its size) are not timed
        f"import ckaflow.similarity, ckaflow.stages.{STAGE_MODULES[kind]}\n"
        "job = json.loads(sys.stdin.read())\n"
        f"t = time.perf_counter(); rows = b.run_job({kind!r}, job)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(time.perf_counter() - t, hwm, rows)"
    )
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(job), text=True,
                         capture_output=True, check=True, cwd=ROOT)  # fmt: skip
    seconds, kb, rows = out.stdout.split()[-3:]
    return float(seconds), float(kb) * 1024, None if rows == "None" else int(rows)


def predicted(job: dict) -> dict[str, float]:
    """The cost model's largest-job memory of each stage for this study."""
    from ckaflow.study.comparisons import filter_scope
    from ckaflow.study.cost import study_costs
    from ckaflow.study.plan import Plan

    config = study_config(job["n"], job["batch"])
    config["similarity"]["resamples"], config["similarity"]["null_permutations"] = 1000, 200
    plan = Plan.from_config(config)
    scope = filter_scope(plan)
    costs = study_costs(plan, scope, {1: model_spec(job["channels"])}, batch=job["batch"])
    return {c.stage: c.memory for c in costs}


KINDS = ("compute_grams", "compute_hsic", "compute_intervals")
STAGE_MODULES = {"compute_grams": "grams", "compute_hsic": "hsic", "compute_intervals": "intervals"}


def run_sizes(args, width: float | None) -> dict:
    """{(n, job): (seconds, peak bytes, predicted bytes, GEMM floor seconds or None, rows
    written or None, the products alone in seconds or None)}."""
    import scale_allcnn as allcnn

    from ckaflow.study.cost import gemm_rate

    # the floor's rate: the best of five measurements (one varies by a third between runs)
    rate, results = max(gemm_rate(0.5) for _ in range(5)), {}
    for n in args.n:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            start = time.perf_counter()
            if width is None:
                job = setup(Path(tmp), n, args.channels, args.batch)
                want = predicted(job)
            else:
                job = allcnn.setup_allcnn(Path(tmp), n, args.batch, width, args.instances)
                want = allcnn.predicted_allcnn(job)
            print(f"n = {n}: inputs made in {time.perf_counter() - start:.0f} s", flush=True)
            for kind in args.jobs:
                seconds, peak, rows = measure(kind, job, args.repeats)
                floor = products = None
                if width is not None and kind == "compute_grams":
                    floor = allcnn.gram_floor_seconds(job, rate)
                    products = min(allcnn.products_seconds(job) for _ in range(args.repeats))
                results[n, kind] = (seconds, peak, want[kind], floor, rows, products)
                print(f"  {kind}: {seconds:.2f} s, {peak / 1e6:.0f} MB "
                      f"(plan: {want[kind] / 1e6:.0f} MB)", flush=True)  # fmt: skip
    return results


def report(args, results: dict, what: str) -> None:
    batch = f"minibatches of {args.batch}" if args.batch else "all test images at once"
    print(f"\n{what}, 2 estimators, {batch}\n")
    print("| job | n | time | peak memory | plan's prediction | predicted / measured "
          "| time / GEMM floor | its products alone / GEMM floor | rows |\n"
          "|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for (n, kind), (s, peak, want, floor, rows, products) in results.items():
        ratio = "" if floor is None else f"{s / floor:.2f}"
        alone = "" if products is None else f"{products / floor:.2f}"
        written = "" if rows is None else f"{rows:,}"
        print(f"| {kind} | {n:,} | {s:.2f} s | {peak / 1e6:,.0f} MB | {want / 1e6:,.0f} MB "
              f"| {want / peak:.2f} | {ratio} | {alone} | {written} |")  # fmt: skip
    if len(args.n) > 1:
        print("\n| job | time grows as n^ | memory grows as n^ |\n|---|---|---|")
        logn = np.log(args.n)
        for kind in args.jobs:
            t = np.log([results[n, kind][0] for n in args.n])
            m = np.log([results[n, kind][1] for n in args.n])
            print(f"| {kind} | {np.polyfit(logn, t, 1)[0]:.2f} | {np.polyfit(logn, m, 1)[0]:.2f} |")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--repeats must be at least 1, not {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--batch", type=int, default=None,
                        help="minibatch size (default: all test images at once)")  # fmt: skip
    parser.add_argument(
        "--allcnn",
        type=float,
        nargs="+",
        default=None,
        metavar="WIDTH",
        help="All-CNN-C's layers at these widths (1: 96 and 192 channels)",
    )
    parser.add_argument("--instances", type=int, default=2, help="seeds (--allcnn)")
    parser.add_argument("--repeats", type=_positive, default=3,
                        help="runs of each job, the least time reported (default 3)")  # fmt: skip
    parser.add_argument("--tmp", default=None, help="folder for the inputs (default: $TMPDIR)")
    parser.add_argument("--jobs", nargs="+", choices=KINDS, default=list(KINDS),
                        help="the jobs to time (default: all three)")  # fmt: skip
    args = parser.parse_args()
    if args.allcnn is None:
        what = f"{args.channels} channels per layer, 6 layers, 8 models"
        report(args, run_sizes(args, None), what)
        return
    for width in args.allcnn:
        what = (f"All-CNN-C at width {width:g} ({round(96 * width)} and {round(192 * width)} "
                f"channels), 18 layers, {args.instances} seeds at init and final")  # fmt: skip
        report(args, run_sizes(args, width), what)


if __name__ == "__main__":
    main()
