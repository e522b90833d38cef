"""What produced an output: the workflow config and its seeds, the datasets' hashes, the package
versions and the code revision.

Model folders carry it in ``provenance.json`` and each checkpoint's ``.json``; Parquet tables in
their schema metadata (key ``ckaflow``, read back with :func:`read_parquet_provenance`); CSV and
Markdown tables in a ``.provenance.json`` beside them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from .io import atomic_path, code_version, package_versions, read_json, save_json

KEY = b"ckaflow"


def config_sha256(config: Mapping) -> str:
    """Hash of a config as key-sorted JSON: equal configs, equal hashes."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_provenance(config: Mapping, dataset_files: Iterable[str | os.PathLike]) -> dict:
    """The provenance of an output of a workflow run with ``config`` on the datasets whose
    ``dataset.json`` files are given."""
    datasets = {}
    for path in dataset_files:
        info = read_json(path, "dataset record")
        datasets[info["domain"]] = {
            "dataset_id": info["dataset_id"],
            "sha256": info["sha256"],
            "source": info["source"],
        }
    return {
        "config": dict(config),
        "config_sha256": config_sha256(config),
        "seeds": {"datasets": config.get("seed"), "instances": list(config.get("seeds", []))},
        "datasets": datasets,
        "code": code_version(),
        "packages": package_versions(),
    }


def figure_provenance(config: Mapping, inputs: Iterable[str | os.PathLike]) -> dict:
    """What a figure is stamped with (:func:`ckaflow.figures.common.save_figure` writes it into
    the PNG's and the PDF's metadata): the code, the config's digest and the SHA-256 of every
    file it was drawn from (a folder by its name only)."""
    files = {}
    for path in sorted({str(p) for p in inputs}):
        p = Path(path)
        if p.is_file():
            with open(p, "rb") as f:
                files[path] = hashlib.file_digest(f, "sha256").hexdigest()
    return {"code": code_version(), "config_sha256": config_sha256(config), "inputs": files}


def write_parquet(table: pd.DataFrame, path: str | os.PathLike, provenance: Mapping) -> None:
    """Write ``table`` as Parquet, atomically, with ``provenance`` in its schema metadata and a
    checksum on every page (:func:`ckaflow.io.read_parquet` verifies them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = {**(arrow.schema.metadata or {}), KEY: json.dumps(provenance, default=str).encode()}
    with atomic_path(path) as tmp:
        pq.write_table(arrow.replace_schema_metadata(meta), tmp, write_page_checksum=True)


def read_parquet_provenance(path: str | os.PathLike) -> dict:
    """The provenance stored in a Parquet table by :func:`write_parquet`."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if KEY not in meta:
        raise ValueError(f"{path}: no ckaflow provenance in its Parquet metadata")
    return json.loads(meta[KEY])


def sidecar(path: str | os.PathLike) -> Path:
    """Where the provenance of a CSV or Markdown table lives: ``x.csv`` -> ``x.provenance.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.provenance.json")


def write_sidecar(path: str | os.PathLike, provenance: Mapping) -> None:
    save_json(sidecar(path), dict(provenance))


def footer(provenance: Mapping) -> str:
    """One Markdown line that says what made a report."""
    code = provenance["code"]
    data = ", ".join(f"{d} {v['dataset_id']}" for d, v in sorted(provenance["datasets"].items()))
    return (
        f"\n---\nMade by ckaflow {code['ckaflow']} (git {code['git']}) from config "
        f"{provenance['config_sha256'][:12]}, seeds {provenance['seeds']}, datasets {data}.\n"
    )
