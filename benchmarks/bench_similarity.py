"""The similarity engine on the thesis' workload, against the naive methods, in one table.

Workload: 16 instances x 2 test sets x n = 200 images; groups = every filter of every layer, every
layer (conv1 alone is 81,920 units) and the whole model (247,040 units); CKA of all pairs of
groups on each test set. Activations are synthetic (ReLU'd Gaussians of the real shapes), written
once as .npy files and memory-mapped, as the workflow stores them.

Compared with:
  (a) per pair, both Grams recomputed, explicit centring matrix H (the blog's method), and
  (b) per pair, the squared Frobenius norm of the p_x x p_y cross-covariance (the thesis' method),
each timed on a stratified sample of pairs and extrapolated to all pairs with a cost model fitted to
the sample; and a floor measured here: reading the activations once + the Gram products at the
measured GEMM rate.

    .venv/bin/python benchmarks/bench_similarity.py            # the full workload (~5 min)
    .venv/bin/python benchmarks/bench_similarity.py --instances 4 --pairs 2   # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ckaflow.architecture import LAYER_SHAPES
from ckaflow.similarity import Estimator, group_cka

TEST_SETS = ("natural", "synth")


# -- activations ---------------------------------------------------------------------------------


def make_activations(root: Path, instances: int, n: int) -> list[Path]:
    """Write (once) ReLU'd activations of every layer of every instance on both test sets."""
    files = []
    for ts, i in itertools.product(TEST_SETS, range(instances)):
        rng = np.random.default_rng([i, TEST_SETS.index(ts)])
        for layer, shape in LAYER_SHAPES.items():
            path = root / ts / f"inst{i:02d}" / f"{layer}.npy"
            files.append(path)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            h, w, c = shape  # stored channels-first, (n, c, h, w), as the workflow stores them
            act = rng.standard_normal((n, c, h, w), dtype=np.float32)
            act += rng.standard_normal((c, 1, 1), dtype=np.float32)  # per-filter offsets
            np.maximum(act, 0, out=act)
            np.save(path, act)
    return files


class Instances(Mapping):
    """Instance name -> its layers, memory-mapped when asked for and unmapped when dropped,
    as a workflow job reads them (so resident memory holds one instance at a time)."""

    def __init__(self, root: Path, ts: str, instances: int):
        self.dirs = {f"inst{i:02d}": root / ts / f"inst{i:02d}" for i in range(instances)}

    def __getitem__(self, key: str) -> dict[str, np.ndarray]:
        return {
            layer: np.load(self.dirs[key] / f"{layer}.npy", mmap_mode="r") for layer in LAYER_SHAPES
        }

    def __iter__(self):
        return iter(self.dirs)

    def __len__(self) -> int:
        return len(self.dirs)


def load_instances(root: Path, ts: str, instances: int) -> Instances:
    return Instances(root, ts, instances)


# -- the engine, in a child process so that its peak memory is its own -------------------------


def run_engine(root: Path, instances: int, estimators: list[str]) -> dict:
    t0 = time.perf_counter()
    out = {}
    for ts in TEST_SETS:
        ests = [Estimator(debiased=(e == "linear-debiased")) for e in estimators]
        names, results = group_cka(load_instances(root, ts, instances), ests, channel_axis=1)
        for key, r in results.items():
            np.save(root / f"engine-{ts}-{key}.npy", r.cka)
        out[ts] = len(names)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"wall_s": wall, "peak_bytes": peak, "groups": out}


def engine_in_child(root: Path, instances: int, estimators: list[str]) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--engine-only",
        "--root",
        str(root),
        "--instances",
        str(instances),
        "--estimators",
        ",".join(estimators),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# -- groups and the naive methods ------------------------------------------------------------------


def group_list(instances: int) -> list[tuple[int, str, str, int]]:
    """(instance, kind, group, units) in the engine's order."""
    out = []
    for i in range(instances):
        for layer, (h, w, c) in LAYER_SHAPES.items():
            out += [(i, "filter", f"{layer}/f{f:02d}", h * w) for f in range(c)]
        out += [(i, "layer", layer, h * w * c) for layer, (h, w, c) in LAYER_SHAPES.items()]
        out.append((i, "model", "model", sum(h * w * c for h, w, c in LAYER_SHAPES.values())))
    return out


def group_data(acts: Mapping, group: tuple) -> np.ndarray:
    i, kind, name, _ = group
    layers = acts[f"inst{i:02d}"]
    n = next(iter(layers.values())).shape[0]
    if kind == "filter":
        layer, f = name.split("/f")
        return np.ascontiguousarray(layers[layer][:, int(f)]).reshape(n, -1)
    if kind == "layer":
        return np.asarray(layers[name]).reshape(n, -1)
    return np.concatenate([np.asarray(a).reshape(n, -1) for a in layers.values()], axis=1)


def blog_cka(x: np.ndarray, y: np.ndarray) -> float:
    """(a) Per pair: both Grams recomputed in every HSIC, explicit centring matrix H."""

    def centring(k):
        n = k.shape[0]
        h = np.eye(n) - np.ones((n, n)) / n
        return h @ k @ h

    def hsic(a, b):
        return np.sum(centring(a @ a.T) * centring(b @ b.T))

    return hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y))


def thesis_cka(x: np.ndarray, y: np.ndarray, block: int = 4096) -> float:
    """(b) Per pair: ||Xc'Yc||_F^2 over the p_x x p_y cross-covariance (row blocks bound memory)."""

    def sq_cross(a, b):
        return sum(
            float(np.sum((a[:, r : r + block].T @ b) ** 2)) for r in range(0, a.shape[1], block)
        )

    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    return sq_cross(xc, yc) / np.sqrt(sq_cross(xc, xc) * sq_cross(yc, yc))


def reference_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The slow float64 reference (explicit H, trace form) for the accuracy column."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)

    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def sample_pairs(groups, per_stratum, rng, max_cross):
    """``per_stratum`` pairs of each kind-pair (filter-filter, ..., model-model)."""
    kinds = ("filter", "layer", "model")
    by_kind = {k: [i for i, g in enumerate(groups) if g[1] == k] for k in kinds}
    pairs = {"a": [], "b": []}
    for ka, kb in itertools.combinations_with_replacement(kinds, 2):
        for _ in range(per_stratum):
            i, j = rng.choice(by_kind[ka]), rng.choice(by_kind[kb])
            pairs["a"].append((i, j))
        cands = [
            (i, j)
            for i in by_kind[ka]
            for j in by_kind[kb]
            if groups[i][3] * groups[j][3] <= max_cross
        ]
        for idx in rng.permutation(len(cands))[:per_stratum]:
            pairs["b"].append(cands[idx])
    return pairs


def time_pairs(method, pairs, groups, acts):
    out = []
    for i, j in pairs:
        x, y = group_data(acts, groups[i]), group_data(acts, groups[j])
        t0 = time.perf_counter()
        method(x, y)
        out.append((groups[i][3], groups[j][3], time.perf_counter() - t0))
    return np.array(out)


def extrapolate(samples, feature, groups):
    """Fit t = c0 + c1 * feature(px, py) on the sample; sum over all unique pairs."""
    f = feature(samples[:, 0], samples[:, 1])
    design = np.stack([np.ones_like(f), f], axis=1)
    (c0, c1), *_ = np.linalg.lstsq(design, samples[:, 2], rcond=None)
    c0, c1 = max(c0, 0.0), max(c1, 0.0)
    p = np.array([g[3] for g in groups], dtype=np.float64)
    n_pairs = len(p) * (len(p) + 1) / 2
    if feature is SUM:  # sum over i <= j of (p_i + p_j) = (g + 1) * sum(p)
        total_f = (len(p) + 1) * p.sum()
    else:  # sum over i <= j of p_i p_j = ((sum p)^2 + sum p^2) / 2
        total_f = (p.sum() ** 2 + (p**2).sum()) / 2
    return c0 * n_pairs + c1 * total_f, n_pairs


def SUM(px, py):
    return px + py


def PRODUCT(px, py):
    return px * py


# -- the floor -------------------------------------------------------------------------------------


def measure_floor(root: Path, instances: int, n: int) -> dict:
    t0 = time.perf_counter()
    read = 0
    for ts in TEST_SETS:
        for arr in load_instances(root, ts, instances).values():
            for a in arr.values():
                read += np.array(a).nbytes  # read every byte once
    read_s = time.perf_counter() - t0
    q = LAYER_SHAPES["conv1"][0] * LAYER_SHAPES["conv1"][1]
    x = np.random.default_rng(0).standard_normal((n, q), dtype=np.float32)
    x @ x.T
    reps, best = 10, float("inf")
    for _ in range(5):  # the best of five: the rate this machine can reach
        t0 = time.perf_counter()
        for _ in range(reps):
            x @ x.T
        best = min(best, time.perf_counter() - t0)
    rate = n * n * q * reps / best  # Gram "n^2 q per second" (syrk)
    units = sum(h * w * c for h, w, c in LAYER_SHAPES.values()) * instances * len(TEST_SETS)
    gram_s = n * n * units / rate
    return {"read_s": read_s, "read_bytes": read, "gram_s": gram_s, "rate": rate}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--instances", type=int, default=16)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=3, help="sampled pairs per stratum for (a), (b)")
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "ckaflow-bench")
    ap.add_argument("--engine-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--estimators", default="linear-biased", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine_only:
        print(json.dumps(run_engine(args.root, args.instances, args.estimators.split(","))))
        return

    root = args.root / f"i{args.instances}-n{args.n}-nchw"
    t0 = time.perf_counter()
    make_activations(root, args.instances, args.n)
    print(f"activations ready under {root} ({time.perf_counter() - t0:.0f} s)", flush=True)
    # The floor's read comes first and leaves the files in the page cache, so that the engine
    # and the floor both read warm files.
    measure_floor(root, args.instances, args.n)
    floor = measure_floor(root, args.instances, args.n)
    eng = min(
        (engine_in_child(root, args.instances, ["linear-biased"]) for _ in range(2)),
        key=lambda r: r["wall_s"],
    )  # the best of two runs, as for the floor
    eng2 = engine_in_child(root, args.instances, ["linear-biased", "linear-debiased"])
    print(f"engine done: {eng['wall_s']:.1f} s", flush=True)

    groups = group_list(args.instances)
    assert len(groups) == eng["groups"]["natural"], "benchmark and engine disagree on the groups"
    rng = np.random.default_rng(0)
    pairs = sample_pairs(groups, args.pairs, rng, max_cross=2_000_000)
    acts = load_instances(root, "natural", args.instances)
    ta = time_pairs(blog_cka, pairs["a"], groups, acts)
    tb = time_pairs(thesis_cka, pairs["b"], groups, acts)
    a_total, n_pairs = extrapolate(ta, SUM, groups)
    b_total, _ = extrapolate(tb, PRODUCT, groups)
    a_total, b_total = a_total * len(TEST_SETS), b_total * len(TEST_SETS)

    engine_cka = np.load(root / "engine-natural-linear-biased.npy", mmap_mode="r")
    err = max(
        abs(
            engine_cka[i, j]
            - reference_cka(group_data(acts, groups[i]), group_data(acts, groups[j]))
        )
        for i, j in pairs["a"]
    )

    floor_s = floor["read_s"] + floor["gram_s"]
    gb = 1024**3
    rows = [
        (
            "workload",
            f"{args.instances} instances x 2 test sets, n={args.n}, {len(groups)} groups "
            f"and {n_pairs:,.0f} unique pairs per test set",
            "",
        ),
        ("engine, linear biased: wall (best of 2)", f"{eng['wall_s']:.1f} s", "< 60 s"),
        ("engine, linear biased: peak memory", f"{eng['peak_bytes'] / gb:.2f} GB", "< 4 GB"),
        (
            "engine, linear biased + debiased",
            f"{eng2['wall_s']:.1f} s, {eng2['peak_bytes'] / gb:.2f} GB",
            "",
        ),
        (
            "floor: read once + Gram GEMMs",
            f"{floor_s:.1f} s = {floor['read_s']:.1f} s read "
            f"({floor['read_bytes'] / gb:.1f} GB) + {floor['gram_s']:.1f} s at "
            f"{floor['rate'] / 1e9:.0f} G n^2q/s",
            "",
        ),
        ("engine / floor", f"{eng['wall_s'] / floor_s:.2f}x", "<= 3x"),
        ("(a) blog, per pair, H (extrapolated)", f"{a_total:,.0f} s from {len(ta)} pairs", ""),
        ("(a) / engine", f"{a_total / eng['wall_s']:,.0f}x faster", ">= 100x"),
        ("(b) thesis, cross-cov (extrapolated)", f"{b_total:,.0f} s from {len(tb)} pairs", ""),
        ("(b) / engine", f"{b_total / eng['wall_s']:,.0f}x faster", ""),
        (
            "max |engine - float64 ref| (sample)",
            f"{err:.1e} over {len(pairs['a'])} pairs",
            "<= 1e-6",
        ),
    ]
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"\n| {'measure':<{w0}} | {'value':<{w1}} | target |")
    print(f"|{'-' * (w0 + 2)}|{'-' * (w1 + 2)}|--------|")
    for a, b, c in rows:
        print(f"| {a:<{w0}} | {b:<{w1}} | {c:<6} |")


if __name__ == "__main__":
    main()
