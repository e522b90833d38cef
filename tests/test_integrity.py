"""Every file is checked when it is read: a changed, corrupted or truncated input stops the job
with one line that names the file, says what is wrong and what to do; nothing is read silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ckaflow.data import build_domain, load_split, write_dataset
from ckaflow.io import CorruptFileError, read_parquet, reading
from ckaflow.model.tied_layers import layer_shapes
from ckaflow.provenance import write_parquet

REBUILD = "delete it and rerun the workflow to rebuild it"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "synth"
    write_dataset(
        folder, build_domain("synth", {"source": "synth"}, images=30, seed=0, test_images=4)
    )
    return folder


def copy_dataset(dataset, tmp_path):
    out = tmp_path / "synth"
    out.mkdir()
    for f in dataset.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    return out


def test_a_dataset_split_changed_after_it_was_made_is_refused_naming_it(dataset, tmp_path):
    folder = copy_dataset(dataset, tmp_path)
    images = np.load(folder / "test.npy")
    images[:2] = 255 - images[:2]  # two images overwritten; same shape, same dtype
    np.save(folder / "test.npy", images)
    assert load_split(folder, "val").shape[0] > 0  # the untouched splits still read
    with pytest.raises(CorruptFileError) as err:
        load_split(folder, "test")
    msg = str(err.value)
    assert str(folder / "test.npy") in msg and "changed after it was written" in msg
    assert "dataset.json records" in msg and REBUILD in msg


def test_a_truncated_split_is_one_line_naming_the_file(dataset, tmp_path):
    folder = copy_dataset(dataset, tmp_path)
    data = (folder / "train.npy").read_bytes()
    (folder / "train.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"train\.npy: the dataset split cannot be read"):
        load_split(folder, "train")
    (folder / "val.npy").unlink()
    with pytest.raises(CorruptFileError, match=r"val\.npy: the dataset split is missing"):
        load_split(folder, "val")


def test_every_bit_flip_in_a_table_is_caught_or_harmless(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"cka": rng.random(3000), "a_group": rng.choice(["conv1", "pool1"], 3000)})
    path = tmp_path / "cka.parquet"
    write_parquet(table, path, {"run": 1})
    data = path.read_bytes()
    caught = 0
    for i in rng.choice(len(data), 60, replace=False):
        flipped = bytearray(data)
        flipped[i] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            got = read_parquet(path, "CKA table")
        except CorruptFileError as err:
            assert str(path) in str(err) and REBUILD in str(err)
            caught += 1
            continue
        pd.testing.assert_frame_equal(got, table)  # read back: then it is exactly the table
    assert caught >= 40  # most bytes of a table are its data pages


def test_checkpoints_are_checked_against_their_recorded_hash(tmp_path):
    from ckaflow.model.checkpoints import read_checkpoint, write_checkpoint

    weights = {"conv1_kernel": np.ones((7, 7, 1, 16), np.float32), "b": np.zeros(16, np.float32)}
    path = tmp_path / "final.npz"
    write_checkpoint(path, weights, {"step": 3})
    assert read_checkpoint(path)["conv1_kernel"].sum() == 7 * 7 * 16
    np.savez(path, **{**weights, "b": np.full(16, 0.5, np.float32)})  # new weights, old record
    with pytest.raises(CorruptFileError, match=r"final\.npz: the checkpoint changed after it was"):
        read_checkpoint(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=r"final\.npz: the checkpoint cannot be read"):
        read_checkpoint(path)


def test_gram_files_are_checked_array_by_array(tmp_path):
    """Each array's zip CRC-32 is checked as it is read: a flipped byte in the array read, or a
    truncated file, names the file."""
    from ckaflow.stages.grams import read_grams

    path = tmp_path / "synth-1.npz"
    k = np.arange(72.0).reshape(2, 36)
    np.savez(path, groups=np.array(["conv1", "model"]), n=np.array(8), k=k)
    groups, n, packed = read_grams(path, "k")
    assert groups == ["conv1", "model"] and n == 8 and np.array_equal(packed, k)
    data = bytearray(path.read_bytes())
    where = bytes(data).index(k.tobytes()[8:16])  # a byte inside k's values
    data[where] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"synth-1\.npz: the Gram file cannot be read.*CRC"):
        read_grams(path, "k")
    path.write_bytes(bytes(data)[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"synth-1\.npz: the Gram file cannot be read"):
        read_grams(path, "k")


def test_a_truncated_activation_memory_map_names_the_file(tmp_path):
    from ckaflow.model.tied_layers import LAYER_SHAPES
    from ckaflow.stages.activations import load_layers, save_activations

    folder = tmp_path / "synth-1" / "synth-1" / "synth"
    save_activations(folder, {layer: np.zeros((4, c, h, w), np.float32)
                              for layer, (h, w, c) in LAYER_SHAPES.items()})  # fmt: skip
    data = (folder / "conv2.npy").read_bytes()
    (folder / "conv2.npy").write_bytes(data[:-100])
    with pytest.raises(CorruptFileError, match=r"conv2\.npy: the activation file cannot be read"):
        load_layers(tmp_path / "synth-1", "synth-1", "synth")


def test_reading_keeps_the_first_line_and_the_cause():
    with pytest.raises(CorruptFileError) as err, reading("x.npz", "checkpoint"):
        raise OSError("line one\nline two")
    assert str(err.value) == (
        f"x.npz: the checkpoint cannot be read (OSError: line one); {REBUILD}"
    )
    assert isinstance(err.value.__cause__, OSError)


def test_activations_are_not_started_without_the_disk_space_they_need(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from ckaflow.stages import activations

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(activations.DiskFullError) as err:
        with activations._LayerFiles(tmp_path, 200, layer_shapes(1)):
            pass
    msg = str(err.value)
    assert "disk full: the activations of one test set need" in msg
    assert str(tmp_path) in msg and "1 MB are free" in msg
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_activation_files_have_their_blocks_reserved(tmp_path):
    from ckaflow.stages.activations import _LayerFiles

    shapes = {k: (v[-1], *v[:-1]) if len(v) > 1 else v for k, v in layer_shapes(2).items()}
    with _LayerFiles(tmp_path, 4, shapes) as files:
        tmp_files = list(tmp_path.glob(".*.tmp-*.npy"))
        assert len(tmp_files) == len(files)
        for f in tmp_files:  # allocated on disk, not sparse: a full disk fails before the work
            st = f.stat()
            assert st.st_blocks * 512 >= st.st_size
        for layer, rows in files.items():  # appended a minibatch at a time
            rows.write(np.full((3, *shapes[layer]), 1.0))
            rows.write(np.full((1, *shapes[layer]), 2.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.npy" for k in shapes)
    for layer, shape in shapes.items():
        a = np.load(tmp_path / f"{layer}.npy")
        assert a.shape == (4, *shape) and a.dtype == np.float32
        assert (a[:3] == 1).all() and (a[3] == 2).all()


def test_activation_files_cut_short_are_not_kept(tmp_path):
    from ckaflow.stages.activations import _LayerFiles

    with pytest.raises(ValueError, match="conv.npy: 3 of 4 rows written"):
        with _LayerFiles(tmp_path, 4, {"conv": (2, 3, 3)}) as files:
            files["conv"].write(np.zeros((3, 2, 3, 3)))
    overrun = r"rows \(2, 2, 3, 3\) do not continue \(4, 2, 3, 3\) at 3"
    with pytest.raises(ValueError, match=overrun):
        with _LayerFiles(tmp_path, 4, {"conv": (2, 3, 3)}) as files:
            files["conv"].write(np.zeros((3, 2, 3, 3)))
            files["conv"].write(np.zeros((2, 2, 3, 3)))
    assert list(tmp_path.iterdir()) == []


def test_gram_rows_read_into_their_blocks_are_checked_whole(tmp_path):
    """Rows read straight into block buffers equal numpy's reading; a flipped byte in rows the
    shard does not use still fails the CRC (the whole member is checked)."""
    from ckaflow.io import reading
    from ckaflow.npz import read_npz_array

    path = tmp_path / "natural-1.npz"
    k = np.random.default_rng(0).standard_normal((6, 10))
    np.savez(path, k=k)
    a, b = np.empty((2, 10)), np.empty((1, 10))
    assert read_npz_array(path, "k", into=[(1, a), (4, b)]) is None
    assert np.array_equal(a, k[1:3]) and np.array_equal(b, k[4:5])
    assert np.array_equal(read_npz_array(path, "k"), k)
    data = bytearray(path.read_bytes())
    data[bytes(data).index(k[5].tobytes())] ^= 1  # row 5: read by no destination
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"natural-1\.npz: the Gram file.*CRC"):
        with reading(path, "Gram file"):
            read_npz_array(path, "k", into=[(1, a)])


def test_an_incomplete_activation_folder_is_found_and_removed_before_a_run(tmp_path):
    """Snakemake sees a directory output only as present or absent: a file deleted or cut
    short inside an instance's activation folder is found when the run starts, and the folder
    removed so that it is made again (the error that says 'delete it and rerun' is then true)."""
    from ckaflow.stages.activations import activation_problem, remove_incomplete, save_activations

    rng = np.random.default_rng(0)
    models, tests = ["a-1", "a-1@init"], ["a", "b"]

    def make(instance):
        for m in models:
            for t in tests:
                save_activations(tmp_path / instance / m / t,
                                 {"conv1": rng.random((6, 2, 3, 3), dtype=np.float32),
                                  "conv2": rng.random((6, 4), dtype=np.float32)})  # fmt: skip
        return tmp_path / instance

    whole, deleted, cut = make("whole"), make("deleted"), make("cut")
    assert activation_problem(whole, models, tests) is None
    (deleted / "a-1@init" / "b" / "conv2.npy").unlink()
    path = cut / "a-1" / "a" / "conv1.npy"
    path.write_bytes(path.read_bytes()[:-10])
    assert "a-1@init/b/conv2.npy cannot be read" in activation_problem(deleted, models, tests)
    assert "a-1/a/conv1.npy" in activation_problem(cut, models, tests)
    assert "layers.json cannot be read" in activation_problem(whole, [*models, "a-1@x"], tests)
    removed = remove_incomplete(tmp_path, {i: models for i in ("whole", "deleted", "cut")}, tests)
    assert removed == [deleted, cut] and whole.is_dir() and not deleted.exists()


def test_a_checkpoint_pair_copied_from_another_instances_folder_is_refused(tmp_path):
    from ckaflow.io import CorruptFileError
    from ckaflow.model.checkpoints import read_checkpoint, write_checkpoint

    weights = {"w": np.arange(6, dtype=np.float32)}
    mine = tmp_path / "models" / "synth-1" / "checkpoints" / "final.npz"
    write_checkpoint(mine, weights, {"instance": "synth-1"})
    assert read_checkpoint(mine)["w"].sum() == 15
    copied = tmp_path / "models" / "synth-2" / "checkpoints" / "final.npz"
    copied.parent.mkdir(parents=True)
    for suffix in (".npz", ".json"):
        copied.with_suffix(suffix).write_bytes(mine.with_suffix(suffix).read_bytes())
    with pytest.raises(CorruptFileError) as err:
        read_checkpoint(copied)
    msg = str(err.value)
    assert "the record names instance 'synth-1', but it lies in 'synth-2''s folder" in msg
    assert REBUILD in str(err.value)


def test_a_record_cut_short_is_one_line_naming_it_not_a_json_error(tmp_path):
    from ckaflow.data.dataset import dataset_classes, read_provenance
    from ckaflow.io import CorruptFileError

    record = tmp_path / "natural" / "dataset.json"
    record.parent.mkdir()
    record.write_text('{"domain": "natural", "clas')
    for call in (lambda: read_provenance(record.parent), lambda: dataset_classes([record])):
        with pytest.raises(CorruptFileError) as err:
            call()
        assert str(err.value).startswith(f"{record}: the dataset record cannot be read")
        assert "JSONDecodeError" in str(err.value) and REBUILD in str(err.value)


def test_records_cut_short_are_found_when_a_run_starts(tmp_path, monkeypatch):
    """startup.smk reads every record the jobs read before any job: one cut short stops the run
    in one line naming it, before Snakemake deletes the outputs of the jobs that read it."""
    from ckaflow.io import unreadable_records

    monkeypatch.chdir(tmp_path)
    good = tmp_path / "results" / "data" / "synth" / "dataset.json"
    bad = tmp_path / "results" / "models" / "synth-1" / "checkpoints" / "final.json"
    for path, text in ((good, '{"domain": "synth"}'), (bad, '{"weights_sha256": "ab')):
        path.parent.mkdir(parents=True)
        path.write_text(text)
    patterns = ["results/data/*/dataset.json", "results/models/*/checkpoints/*.json"]
    found = unreadable_records(patterns)
    assert len(found) == 1 and found[0].startswith(
        "results/models/synth-1/checkpoints/final.json: the record cannot be read "
        "(JSONDecodeError: Unterminated string"
    )
    assert found[0].endswith(REBUILD)
