"""Reading the layer rows of a large CKA table: all columns against the ones figures and findings
use (``PAIR_CKA``), and whether Parquet row-group statistics let the row filter skip the filter
rows, in one table.

Workload: a synthetic ``results/cka.parquet`` of a 10-seed study: 24 models x 9 layer and model
groups and 12 filter instances x 64 conv filters, on 2 test sets under 4 estimators (373 k layer
rows, 4.7 M filter rows), with the columns and ordered categories ``reduce_cka`` writes. Two
files: rows in ``reduce_cka``'s order (each test set's and estimator's layer block, then its
filter block), written by ``ckaflow.provenance.write_parquet`` (pyarrow's default row groups of
1 Mi rows); and the same rows with every layer row first, in row groups of 128 Ki rows. Each
read is ``read_cka_table(path, groups=<layer and model groups>, columns=...)`` in a fresh
process: its peak resident memory (``ru_maxrss``) above the process's before the read.

    .venv/bin/python benchmarks/read_columns.py            # about a minute, ~1 GB of disk in /tmp
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
import pandas as pd
from tables import print_table

from ckaflow.stages.cka_table import CKA_COLUMNS, PAIR_CKA

LAYERS = [*(f"conv_{i}" for i in range(1, 9)), "model"]
MODELS = [f"{d}-{s}" for d in ("natural", "synth") for s in range(1, 11)]
MODELS += [f"natural-{s}@init" for s in range(1, 5)]  # 24 models
FILTER_MODELS, FILTERS = MODELS[:12], [f"conv_1/f{i:02d}" for i in range(64)]
TEST_SETS, ESTIMATORS = ["natural", "synth"], [
    ("linear", "biased", "unit"), ("linear", "debiased", "unit"),
    ("linear", "biased", "global"), ("rbf", "biased", "unit"),
]  # fmt: skip
SORTED_ROW_GROUP = 128 * 1024


def _block(models: list[str], groups: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Model and group codes of every ordered pair of (model, group): (pairs, 2) each."""
    m = np.repeat(np.arange(len(models)), len(groups))
    g = np.tile(np.arange(len(groups)), len(models))
    a, b = np.meshgrid(np.arange(len(m)), np.arange(len(m)), indexing="ij")
    return np.stack([m[a.ravel()], m[b.ravel()]], 1), np.stack([g[a.ravel()], g[b.ravel()]], 1)


def synthetic_table() -> pd.DataFrame:
    """The rows in reduce_cka's order: per test set and estimator, layers then filters."""
    groups = [*LAYERS, *FILTERS]
    layer_m, layer_g = _block(list(range(len(MODELS))), LAYERS)
    filt_m, filt_g = _block(list(range(len(FILTER_MODELS))), FILTERS)
    filt_g = filt_g + len(LAYERS)  # filter groups after the layer groups, as the plan orders them
    m, g = np.concatenate([layer_m, filt_m]), np.concatenate([layer_g, filt_g])
    parts, rng = [], np.random.default_rng(0)
    for ts in range(len(TEST_SETS)):
        for est in range(len(ESTIMATORS)):
            n = len(m)
            parts.append({"ts": np.full(n, ts), "est": np.full(n, est), "m": m, "g": g})
    codes = {k: np.concatenate([p[k] for p in parts]) for k in ("ts", "est", "m", "g")}
    rows = len(codes["ts"])

    def cat(c, values):
        return pd.Categorical.from_codes(c, categories=values, ordered=True)

    kernel, estimator, centering = (
        np.array(v)[codes["est"]] for v in zip(*ESTIMATORS, strict=True)
    )
    return pd.DataFrame(
        {
            "test_set": cat(codes["ts"], TEST_SETS),
            "kernel": pd.Categorical(kernel, ordered=True),
            "estimator": pd.Categorical(estimator, ordered=True),
            "centering": pd.Categorical(centering, ordered=True),
            "sigma_frac": np.where(kernel == "rbf", 1.0, np.nan),
            "a_model": cat(codes["m"][:, 0], MODELS),
            "a_group": cat(codes["g"][:, 0], groups),
            "b_model": cat(codes["m"][:, 1], MODELS),
            "b_group": cat(codes["g"][:, 1], groups),
            **{c: rng.random(rows) for c in ("cka", "hsic_xy", "hsic_xx", "hsic_yy")},
            "n": np.full(rows, 4000, dtype=np.int64),
        }
    )[CKA_COLUMNS]


def write_files(folder: Path) -> dict[str, Path]:
    """Three layouts of the same rows: reduce_cka's (``write_parquet`` as is); every layer row
    first, in row groups of 128 Ki rows; and that with the label columns stored as plain strings
    (Parquet still dictionary-encodes them on disk), whose row-group statistics pyarrow reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ckaflow.provenance import write_parquet

    table = synthetic_table()
    paths = {
        "reduce_cka order, 1 Mi-row groups": folder / "as_written.parquet",
        "layer rows first, 128 Ki-row groups": folder / "sorted.parquet",
        "same, labels stored as strings": folder / "sorted_strings.parquet",
    }
    as_written, layered, strings = paths.values()
    write_parquet(table, as_written, {"benchmark": "read_columns"})
    is_filter = table["a_group"].astype(str).str.contains("/").to_numpy()
    arrow = pa.Table.from_pandas(
        table.iloc[np.argsort(is_filter, kind="stable")], preserve_index=False
    )
    pq.write_table(arrow, layered, write_page_checksum=True, row_group_size=SORTED_ROW_GROUP)
    plain = pa.schema(
        [
            pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f
            for f in arrow.schema
        ]
    )
    arrow = arrow.cast(plain.with_metadata(arrow.schema.metadata))
    pq.write_table(arrow, strings, write_page_checksum=True, row_group_size=SORTED_ROW_GROUP)
    print(f"{len(table):,} rows ({int(is_filter.sum()):,} filter rows)", file=sys.stderr)
    return paths


def row_groups_read(path: Path) -> tuple[int, int]:
    """(row groups the layer filter cannot skip by their statistics, all row groups)."""
    import pyarrow.dataset as ds

    expr = ds.field("a_group").isin(LAYERS) & ds.field("b_group").isin(LAYERS)
    (fragment,) = ds.dataset(path, format="parquet").get_fragments()
    return len(fragment.split_by_row_group(filter=expr)), fragment.metadata.num_row_groups


def _rss_mib() -> tuple[float, float]:
    """(resident, its high-water mark) of this process in MiB, from /proc/self/status."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))


def child(path: str, which: str) -> None:
    """In a fresh process: read the layer rows, print rows, peak RSS above the start, seconds.
    The high-water mark is reset first (``ru_maxrss`` would keep the parent's, inherited
    through fork and exec)."""
    from ckaflow.stages.cka_table import read_cka_table

    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before, _ = _rss_mib()
    start = time.perf_counter()
    columns = None if which == "all" else PAIR_CKA
    table = read_cka_table(path, groups=LAYERS, columns=columns)
    seconds = time.perf_counter() - start
    _, peak = _rss_mib()
    held = table.memory_usage(deep=True).sum() / 2**20
    print(json.dumps({"rows": len(table), "peak_mib": peak - before,
                      "seconds": seconds, "held_mib": held}))  # fmt: skip


def measure(path: Path, which: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), which],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "COLUMNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for layout, path in write_files(Path(tmp)).items():
            read, total = row_groups_read(path)
            size = path.stat().st_size / 2**20
            rows.append(
                (f"{layout}: row groups read", f"{read} of {total} ({size:.0f} MiB file)", "")
            )
            for which in ("all", "used"):
                r = measure(path, which)
                label = "all 14 columns" if which == "all" else f"the {len(PAIR_CKA)} used"
                rows.append((f"{layout}, {label}: peak RSS above start",
                             f"{r['peak_mib']:.0f} MiB ({r['held_mib']:.0f} MiB held, "
                             f"{r['rows']:,} rows, {r['seconds']:.2f} s)", ""))  # fmt: skip
    print_table(rows)


if __name__ == "__main__":
    main()
