"""The similarity engine on the thesis' workload, as the workflow runs it, in one table.

Workload: 16 instances x 2 test sets x n = 200 images; groups = every filter of every layer, every
layer (conv1 alone is 81,920 units) and the whole model (247,040 units). Activations are synthetic
(ReLU'd Gaussians of the real shapes), written once as channels-first .npy files and memory-mapped,
as the workflow stores them.

Rows:
* the workflow path, timed as ``snakemake --cores N`` runs it (N = ``--cores``, default all):
  ``shards.write_grams`` for every model (one Gram file each), then ``shards.hsic_shard`` for
  each shard of both test sets (each block's pairs in one product), writing its table; each job
  a process with one BLAS thread (what Snakemake sets for ``threads: 1``), N at a time. Against a
  floor measured in the same run: reading the activations once plus the Gram products at the
  rate this machine's BLAS reaches with every core;
* the general entry point ``cka_matrix`` on every filter (``x[..., c]`` views) and layer of the
  16 instances on one test set, with the arrays channels-last and channels-first;
* the naive methods of ``naive.py`` on a sample of pairs, extrapolated to the pairs the workflow
  computes, and the engine's error against the float64 reference on those pairs;
* on a GPU (CuPy, ``make run GPU=1``): the Gram products (float32) and the all-pairs HSIC product
  (float64, every group of every model) in TFLOP/s against the card's peak, and the workflow path
  computed there; on a machine without one, a row that says "no GPU" and why.

    .venv/bin/python benchmarks/bench_similarity.py            # the full workload (~6 min)
    .venv/bin/python benchmarks/bench_similarity.py --seeds 1 --pairs 2   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from gpu import gpu_rows
from naive import PRODUCT, SUM, blog_cka, extrapolate, reference_cka, sample_pairs, thesis_cka
from naive import time_pairs as time_naive
from tables import print_table

from ckaflow.device import compute_namespace, gpu_namespace
from ckaflow.model.tied_layers import LAYER_SHAPES, LAYERS
from ckaflow.names import Instance
from ckaflow.schema import schema_default
from ckaflow.similarity import MODEL_GROUP, Estimator, cka_matrix, filter_group
from ckaflow.stages.activations import MANIFEST, load_layers, save_activations
from ckaflow.stages.grams import write_grams
from ckaflow.stages.hsic import hsic_shard

# The variables Snakemake sets to a job's threads (snakemake/shell.py).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip
UNITS = {layer: h * w * c for layer, (h, w, c) in LAYER_SHAPES.items()}
DOMAINS = ("natural", "synth")  # the thesis' domains: its 16 instances, its two test sets


def make_activations(root: Path, models: list[str], n: int, channels_last: bool = False) -> None:
    """Write (once) ReLU'd activations of every layer of every model on both test sets, in the
    workflow's layout ``{root}/{model}/{test_set}/{layer}.npy``."""
    for i, model in enumerate(models):
        for ts in DOMAINS:
            folder = root / model / ts
            if (folder / MANIFEST).exists():
                continue
            rng = np.random.default_rng([i, DOMAINS.index(ts)])
            layers = {}
            for layer, (h, w, c) in LAYER_SHAPES.items():
                act = rng.standard_normal((n, c, h, w), dtype=np.float32)
                act += rng.standard_normal((c, 1, 1), dtype=np.float32)  # per-filter offsets
                np.maximum(act, 0, out=act)
                layers[layer] = np.moveaxis(act, 1, -1) if channels_last else act
            save_activations(folder, layers)


def workflow_path(
    root: Path, models: list[str], estimators: list[str], cores: int, device: str = "cpu"
) -> dict:
    """Gram files of every model, then every HSIC shard of both test sets: the workflow's jobs,
    run as ``snakemake --cores {cores}`` runs them (each job a process with one BLAS thread,
    ``cores`` at a time; the HSIC jobs start when every Gram file exists)."""
    ests = [Estimator.from_name(e) for e in estimators]
    grams = {m: root / "grams" / f"{m}.npz" for m in models}
    shards = schema_default("similarity.shards")
    hsic_jobs = [(ts, e, s) for ts in DOMAINS for e in ests for s in range(shards)]
    os.environ.update({v: "1" for v in THREAD_VARIABLES})  # what Snakemake sets for threads: 1
    with ProcessPoolExecutor(cores, mp_context=get_context("spawn")) as pool:
        list(pool.map(_job, [None] * cores))  # start the workers (imports are not timed)
        t0 = time.perf_counter()
        list(pool.map(_gram_job, [(root, m, ests, grams[m], device) for m in models]))
        t_grams = time.perf_counter() - t0
        peaks = list(
            pool.map(_hsic_job, [(root, grams, models, *job, shards, device) for job in hsic_jobs])
        )
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "grams_s": t_grams, "peak_bytes": max(peaks)}


def _job(_) -> int:
    import pyarrow.parquet  # noqa: F401

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _gram_job(args) -> int:
    root, model, ests, path, device = args
    write_grams(root / "act", model, DOMAINS, ests, path, xp=compute_namespace(device))
    return _job(None)


def _hsic_job(args) -> int:
    root, grams, models, ts, e, shard, shards, device = args
    table = hsic_shard(grams, test_set=ts, estimator=e, shard=shard, shards=shards,
                       filter_models=models, xp=compute_namespace(device))  # fmt: skip
    table.to_parquet(root / f"table-{ts}-{e.name}-{shard}.parquet")
    return _job(None)


def cka_matrix_call(root: Path, models: list[str], channels_last: bool) -> dict:
    """cka_matrix on every filter view and layer of every model, natural test set."""
    groups = {}
    for model in models:
        for layer, x in load_layers(root, model, "natural").items():
            c_axis = -1 if channels_last else 1
            for c in range(x.shape[c_axis]):
                view = x[..., c] if channels_last else x[:, c]
                groups[f"{model}:{filter_group(layer, c)}"] = view
            groups[f"{model}:{layer}"] = x
    t0 = time.perf_counter()
    out = cka_matrix(groups, debiased=False)  # the biased form, as the naive loop computes
    wall = time.perf_counter() - t0
    np.save(root / f"cka_matrix-{'last' if channels_last else 'first'}.npy", out)
    return {"wall_s": wall, "groups": len(groups)}


def in_child(what: str, root: Path, models: list[str], extra: str = "", cores: int = 1) -> dict:
    """Run ``what`` in a fresh process, so that its time and peak memory are its own."""
    cmd = [sys.executable, __file__, "--child", what, "--root", str(root), "--models",
           ",".join(models), "--extra", extra, "--cores", str(cores)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure_floor(root: Path, models: list[str], n: int) -> dict:
    """Reading every activation once, and the Gram products (syrk) at the rate this machine
    reaches on a conv1-sized channel (the best of five)."""
    t0 = time.perf_counter()
    read = 0
    for model in models:
        for ts in DOMAINS:
            for a in load_layers(root, model, ts).values():
                read += np.array(a).nbytes
    read_s = time.perf_counter() - t0
    q = LAYER_SHAPES["conv1"][0] * LAYER_SHAPES["conv1"][1]
    x = np.random.default_rng(0).standard_normal((n, q), dtype=np.float32)
    reps, best = 10, float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            x @ x.T
        best = min(best, time.perf_counter() - t0)
    rate = n * n * q * reps / best
    gram_s = n * n * sum(UNITS.values()) * len(models) * len(DOMAINS) / rate
    return {"read_s": read_s, "read_bytes": read, "gram_s": gram_s, "rate": rate}


def workflow_blocks(models: list[str]) -> dict[str, list]:
    """The groups of each HSIC block as the workflow forms them: ((model, group), units)."""
    blocks = {"layers": [((m, g), UNITS[g]) for m in models for g in LAYERS]}
    blocks["layers"] += [((m, MODEL_GROUP), sum(UNITS.values())) for m in models]
    for layer, (h, w, c) in LAYER_SHAPES.items():
        blocks[layer] = [((m, filter_group(layer, f)), h * w) for m in models for f in range(c)]
    return blocks


def group_data(root: Path, n: int):
    def data(group) -> np.ndarray:
        (model, name), _ = group
        layers = load_layers(root, model, "natural")
        if name == MODEL_GROUP:
            return np.concatenate([np.asarray(a).reshape(n, -1) for a in layers.values()], axis=1)
        layer, _, f = name.partition("/f")
        x = layers[layer][:, int(f)] if f else layers[layer]
        return np.ascontiguousarray(x).reshape(n, -1)

    return data


def naive_rows(root: Path, models: list[str], n: int, per_block: int) -> tuple[dict, list]:
    """The naive methods' extrapolated cost and the workflow's error on the sampled pairs."""
    blocks = workflow_blocks(models)
    pairs = sample_pairs(blocks, per_block, np.random.default_rng(0), max_cross=2_000_000)
    data = group_data(root / "act", n)
    a_total, n_pairs = extrapolate(time_naive(blog_cka, pairs["a"], data), SUM, blocks)
    b_total, _ = extrapolate(time_naive(thesis_cka, pairs["b"], data), PRODUCT, blocks)
    table = pd.concat([pd.read_parquet(p) for p in root.glob("table-natural-linear-biased-*")])
    table = table.set_index(["a_model", "a_group", "b_model", "b_group"])["cka"]
    errors = [abs(table[(*ga[0], *gb[0])] - reference_cka(data(ga), data(gb)))
              for ga, gb in pairs["a"]]  # fmt: skip
    sets = len(DOMAINS)
    return {"a": a_total * sets, "b": b_total * sets, "pairs": n_pairs, "sampled": pairs}, errors


def child(args) -> None:
    models = args.models.split(",")
    if args.child == "workflow":
        print(json.dumps(workflow_path(args.root, models, args.extra.split(","), args.cores)))
    elif args.child == "workflow-gpu":  # one GPU: one job at a time
        print(json.dumps(workflow_path(args.root, models, args.extra.split(","), 1, "gpu")))
    else:
        root = args.root / ("act-last" if args.child == "last" else "act")
        print(json.dumps(cka_matrix_call(root, models, args.child == "last")))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=4, help="seeds: 4 instances each")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=3, help="sampled pairs per block for (a), (b)")
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "ckaflow-bench")
    ap.add_argument("--cores", type=int, default=os.cpu_count(),
                    help="jobs at a time on the workflow path, as snakemake --cores")  # fmt: skip
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--models", help=argparse.SUPPRESS)
    ap.add_argument("--extra", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    seeds = list(range(1, args.seeds + 1))
    models = [Instance(d, s).name for d in DOMAINS for s in seeds]
    models += [Instance(d, s, o).name for d in DOMAINS for o in DOMAINS if o != d for s in seeds]
    root = args.root / f"s{args.seeds}-n{args.n}"
    t0 = time.perf_counter()
    make_activations(root / "act", models, args.n)
    make_activations(root / "act-last", models, args.n, channels_last=True)
    print(f"activations ready under {root} ({time.perf_counter() - t0:.0f} s)", flush=True)
    # Each measure is the best of two runs; the floor's first read warms the page cache for all.
    floor = min((measure_floor(root / "act", models, args.n) for _ in range(2)),
                key=lambda f: f["read_s"] + f["gram_s"])  # fmt: skip
    flow = min((in_child("workflow", root, models, "linear-biased", args.cores) for _ in range(2)),
               key=lambda r: r["wall_s"])  # fmt: skip
    flow2 = in_child("workflow", root, models, "linear-biased,linear-debiased", args.cores)
    print(f"workflow path: {flow['wall_s']:.1f} s", flush=True)
    first = min((in_child("first", root, models) for _ in range(2)), key=lambda r: r["wall_s"])
    last = min((in_child("last", root, models) for _ in range(2)), key=lambda r: r["wall_s"])
    same = np.abs(np.load(root / "act" / "cka_matrix-first.npy")
                  - np.load(root / "act-last" / "cka_matrix-last.npy"))  # fmt: skip
    naive, errors = naive_rows(root, models, args.n, args.pairs)
    report(args, models, floor, flow, flow2, first, last, float(np.nanmax(same)), naive,
                errors)  # fmt: skip
    print_table(gpu_section(root, models, args.n, floor, flow))


def gpu_section(root: Path, models: list[str], n: int, floor: dict, flow: dict) -> list[tuple]:
    """The engine's products on the GPU against its peak, and the workflow path there (one job
    at a time); "no GPU" rows on a machine without one."""
    h, w, c = LAYER_SHAPES["conv1"]
    groups = len(models) * (sum(s[2] for s in LAYER_SHAPES.values()) + len(LAYERS) + 1)
    rows = gpu_rows(n, h * w, c, groups, floor["rate"])
    if gpu_namespace()[0] is not None:
        on_gpu = in_child("workflow-gpu", root, models, "linear-biased")
        rows.append(("workflow path on the GPU, linear biased, one job at a time",
                     f"{on_gpu['wall_s']:.1f} s ({on_gpu['grams_s']:.1f} s Gram files); CPU, "
                     f"{flow['wall_s']:.1f} s", ""))  # fmt: skip
    return rows


def report(args, models, floor, flow, flow2, first, last, same, naive, errors) -> None:
    floor_s = floor["read_s"] + floor["gram_s"]
    gb = 1024**3
    rows = [
        ("workload", f"{len(models)} instances x 2 test sets, n={args.n}; "
         f"{naive['pairs']:,.0f} unique pairs per test set within the HSIC blocks", ""),
        ("workflow path: jobs", f"{len(models)} Gram jobs, then "
         f"{schema_default('similarity.shards')} HSIC shards per test set and estimator; "
         f"{args.cores} at a time, 1 thread each", ""),
        ("workflow path, linear biased: wall (best of 2)",
         f"{flow['wall_s']:.1f} s ({flow['grams_s']:.1f} s Gram files)", "< 60 s"),
        ("workflow path: peak memory of one job", f"{flow['peak_bytes'] / gb:.2f} GB", "< 4 GB"),
        ("workflow path, linear biased + debiased",
         f"{flow2['wall_s']:.1f} s, {flow2['peak_bytes'] / gb:.2f} GB", ""),
        ("floor: read once + Gram GEMMs",
         f"{floor_s:.1f} s = {floor['read_s']:.1f} s read ({floor['read_bytes'] / gb:.1f} GB) "
         f"+ {floor['gram_s']:.1f} s at {floor['rate'] / 1e9:.0f} G n^2q/s", ""),
        ("workflow path / floor", f"{flow['wall_s'] / floor_s:.2f}x", "<= 2x"),
        ("cka_matrix, channels-first views (best of 2)",
         f"{first['wall_s']:.1f} s, {first['groups']} groups", ""),
        ("cka_matrix, channels-last views (best of 2)", f"{last['wall_s']:.1f} s", ""),
        ("channels-last / channels-first", f"{last['wall_s'] / first['wall_s']:.2f}x", "<= 1.3x"),
        ("max |channels-last - channels-first| CKA", f"{same:.1e}", ""),
        ("(a) blog, per pair, H (extrapolated)",
         f"{naive['a']:,.0f} s from {len(naive['sampled']['a'])} pairs", ""),
        ("(a) / workflow path", f"{naive['a'] / flow['wall_s']:,.0f}x faster", ">= 100x"),
        ("(b) thesis, cross-cov (extrapolated)",
         f"{naive['b']:,.0f} s from {len(naive['sampled']['b'])} pairs", ""),
        ("(b) / workflow path", f"{naive['b'] / flow['wall_s']:,.0f}x faster", ""),
        ("max |workflow - float64 ref| (sample)",
         f"{max(errors):.1e} over {len(errors)} pairs", "<= 1e-6"),
    ]  # fmt: skip
    print_table(rows)


if __name__ == "__main__":
    main()
