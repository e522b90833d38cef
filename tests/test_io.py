"""Atomic outputs, and the provenance that tables carry."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ckaflow.io import atomic_dir, atomic_path
from ckaflow.provenance import (
    config_sha256,
    read_parquet_provenance,
    run_provenance,
    sidecar,
    write_parquet,
)


def test_atomic_path_leaves_nothing_on_error_and_clears_a_killed_writers_temporary(tmp_path):
    target = tmp_path / "table.parquet"
    stale = tmp_path / ".table.tmp-4242.parquet"  # what a SIGKILLed writer leaves
    stale.write_bytes(b"half")
    other = tmp_path / ".other.tmp-4242.parquet"  # another output's temporary: not ours
    other.write_bytes(b"x")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("killed")
    assert not target.exists() and not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-4242.parquet"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"


def test_atomic_dir_appears_complete_or_not_at_all(tmp_path):
    target = tmp_path / "acts"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "conv1.npy").write_bytes(b"1")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".acts.tmp-77").mkdir()  # a killed writer's folder
    target.mkdir()
    (target / "old.npy").write_bytes(b"old")
    with atomic_dir(target) as tmp:
        assert not target.joinpath("new.npy").exists()
        (tmp / "new.npy").write_bytes(b"new")
    assert sorted(p.name for p in target.iterdir()) == ["new.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["acts"]


def test_tables_carry_their_provenance(tmp_path):
    for domain, sha in (("natural", "aa"), ("synth", "bb")):
        (tmp_path / f"{domain}.json").write_text(
            json.dumps(
                {"domain": domain, "dataset_id": sha * 8, "sha256": {"test": sha}, "source": "x"}
            )
        )
    config = {"seed": 3, "seeds": [1, 2], "train": {"batch_size": 8}}
    prov = run_provenance(config, [tmp_path / "natural.json", tmp_path / "synth.json"])
    assert prov["seeds"] == {"datasets": 3, "instances": [1, 2]}
    assert prov["datasets"]["synth"]["dataset_id"] == "bb" * 8
    assert prov["config_sha256"] == config_sha256(
        {"train": {"batch_size": 8}, "seeds": [1, 2], "seed": 3}
    )
    assert prov["config_sha256"] != config_sha256({**config, "seed": 4})
    path = tmp_path / "t.parquet"
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_parquet(table, path, prov)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    assert read_parquet_provenance(path) == json.loads(json.dumps(prov))
    assert sidecar(tmp_path / "x.csv") == tmp_path / "x.provenance.json"
    with pytest.raises(ValueError, match="no ckaflow provenance"):
        table.to_parquet(tmp_path / "plain.parquet")
        read_parquet_provenance(tmp_path / "plain.parquet")
