"""The blog study's pieces: the All-CNN-C architecture, the ten-class ``digits`` stand-in and the
CIFAR-10 reader (a small archive of the real layout stands in for the 170 MB download)."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest

from ckaflow.data.cifar10 import check_cifar10, load_cifar10
from ckaflow.data.images import ImageSpec
from ckaflow.data.sources import make_images
from ckaflow.model.all_cnn_c import adjacent_convolutions, blocks
from ckaflow.model.build import make_spec, with_recorded

ALLCNN = {"architecture": "all_cnn_c", "builder": None, "width": 0.125}
RGB32 = ImageSpec(height=32, width=32, channels=3, fit="resize")


def test_depth_1_has_the_published_nine_blocks_and_depth_2_almost_doubles_them():
    published = [(96, 3, 1), (96, 3, 1), (96, 3, 2), (192, 3, 1), (192, 3, 1), (192, 3, 2),
                 (192, 3, 1), (192, 1, 1), (10, 1, 1)]  # fmt: skip
    assert [(b.filters, b.kernel, b.stride) for b in blocks(1)] == published
    assert blocks(1)[6].padding == "valid" and len(blocks(2)) == 17 and len(blocks(3)) == 25
    assert [b.filters for b in blocks(1, width=0.25)][:3] == [24, 24, 24]
    # one stage per resolution: the pairs within a stage and the two across a stride-2 block
    assert [w for *_, w in adjacent_convolutions(1)].count(False) == 2
    assert [w for *_, w in adjacent_convolutions(2)].count(False) == 2


@pytest.mark.parametrize("depth, recorded", [(1, 18), (2, 34)])
def test_auto_records_every_convolution_and_batch_norm(depth, recorded):
    spec = with_recorded(
        make_spec(ALLCNN, depth=depth, input_shape=(32, 32, 3), num_classes=10, task="classify"),
        "auto",
    )
    assert len(spec.recorded) == recorded and spec.recorded[:3] == ("conv1", "bn1", "conv2")
    assert spec.output == "logits" and spec.row(f"conv{recorded // 2}")["output_shape"] == [
        6, 6, 10]  # fmt: skip
    assert "pool" not in spec.recorded and spec.width == 0.125


def test_the_same_seed_gives_the_same_initial_weights():
    from ckaflow.model.build import build_model, model_record

    record = model_record(ALLCNN, depth=1, input_shape=(16, 16, 3), num_classes=10)
    a, b, c = build_model(record, 1), build_model(record, 1), build_model(record, 2)
    wa, wb, wc = (m.get_layer("conv1").get_weights()[0] for m in (a, b, c))
    assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)


def test_all_cnn_c_needs_a_classification_task():
    with pytest.raises(ValueError, match="classify"):
        make_spec(ALLCNN, depth=1, input_shape=(32, 32, 3), num_classes=None, task="denoise")


def test_digits_are_ten_labelled_classes_made_the_same_way_each_time():
    a = make_images({"source": "digits"}, 60, 0, RGB32, True, "domains.digits")
    b = make_images({"source": "digits"}, 60, 0, RGB32, True, "domains.digits")
    assert a.pixels.shape == (60, 32, 32, 3) and a.classes == tuple("0123456789")
    assert np.array_equal(a.pixels, b.pixels) and np.array_equal(a.labels, b.labels)
    assert set(a.labels.tolist()) == set(range(10))
    assert a.pixels.std() > 20  # photographs and digits, not a flat colour
    # the class is drawn: images of one class differ from the others on average
    means = np.stack([a.pixels[a.labels == k].mean(axis=0) for k in range(10)])
    assert np.abs(means - means.mean(axis=0)).max() > 10


def fake_cifar10(path, per_batch: int = 12, cut: str | None = None):
    """A tar.gz of CIFAR-10's python layout with ``per_batch`` random images per batch; ``cut``
    leaves that member out."""
    rng = np.random.default_rng(0)
    names = "airplane automobile bird cat deer dog frog horse ship truck".split()
    members = {"batches.meta": {b"label_names": [n.encode() for n in names],
                                b"num_cases_per_batch": per_batch}}  # fmt: skip
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        members[name] = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                         b"labels": [int(v) for v in rng.integers(0, 10, per_batch)]}  # fmt: skip
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in members.items():
            if name == cut:
                continue
            data = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return members


def test_cifar10_images_are_read_channels_last_with_their_classes(tmp_path):
    members = fake_cifar10(tmp_path / "cifar.tar.gz")
    data = load_cifar10(tmp_path / "cifar.tar.gz")
    assert data.images.shape == (72, 32, 32, 3) and data.classes[0] == "airplane"
    first = members["data_batch_1"][b"data"][0]
    assert np.array_equal(data.images[0, :, :, 1], first[1024:2048].reshape(32, 32))  # green
    assert data.labels[12] == members["data_batch_2"][b"labels"][0]
    assert check_cifar10(tmp_path / "cifar.tar.gz").images == 72
    entry = {"source": "cifar10", "path": str(tmp_path / "cifar.tar.gz")}
    raw = make_images(entry, 30, 0, ImageSpec(height=16, width=16, channels=3, fit="resize"),
                      True, "d")  # fmt: skip
    assert raw.pixels.shape == (30, 16, 16, 3) and len(raw.labels) == 30


@pytest.mark.parametrize("case, words", [
    ("missing", ["domains.c.path", "does not exist"]),
    ("truncated", ["domains.c.path", "not a readable tar archive"]),
    ("no test batch", ["domains.c.path", "lacks ['test_batch']"]),
])  # fmt: skip
def test_a_bad_cifar10_archive_is_named_with_what_is_wrong(tmp_path, case, words):
    path = tmp_path / "cifar.tar.gz"
    if case != "missing":
        fake_cifar10(path, cut="test_batch" if case == "no test batch" else None)
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError) as err:
        load_cifar10(path, "domains.c.path")
    assert all(w in str(err.value) for w in words), str(err.value)


def test_the_filter_layers_a_config_asks_for():
    """similarity.filters.layers against a model's recorded layers: first, all, names (in network
    order, each checked); the filter figures draw the first convolution among them."""
    spec = with_recorded(
        make_spec(ALLCNN, depth=1, input_shape=(32, 32, 3), num_classes=10, task="classify"),
        "auto",
    )
    assert spec.filter_layers("first") == ["conv1"] == [spec.first_conv]
    assert spec.filter_layers("all") == list(spec.recorded)  # every recorded layer has positions
    assert spec.filter_layers(["conv3", "bn1"]) == ["bn1", "conv3"]
    assert spec.filter_figure_layer(["bn1", "conv3"]) == "conv3"
    assert spec.filter_figure_layer(["bn2"]) == "bn2"
    with pytest.raises(ValueError, match=r"'conv99' is not a recorded layer.*'conv1', 'bn1'"):
        spec.filter_layers(["conv3", "conv99"])
    with pytest.raises(ValueError, match="compares no filters"):
        spec.filter_figure_layer([])
