"""Real CIFAR-10 (``source: cifar10``): the ``cifar-10-python.tar.gz`` you downloaded from
https://www.cs.toronto.edu/~kriz/cifar.html, or the ``cifar-10-batches-py`` folder it unpacks to.
Nothing is downloaded.

The pool is all 60,000 images (the five training batches, then the test batch, in their order)
with their classes, named from ``batches.meta``; the study draws its own splits from it
(``images_per_domain``, ``val_fraction``, ``test_images``). The batches are Python pickles, as
CIFAR-10 ships them: read only archives you trust.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .reading import reading_input

BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
META = "batches.meta"
SIDE = 32  # every CIFAR-10 image is 32 x 32 RGB


@dataclass(frozen=True)
class Cifar10:
    images: np.ndarray  # (60000, 32, 32, 3) uint8
    labels: np.ndarray  # (60000,) int64
    classes: tuple[str, ...]  # airplane, automobile, ...


def load_cifar10(path: str | Path, where: str = "cifar10 path") -> Cifar10:
    """Every image of the archive or folder ``path``; ``ValueError`` naming ``where`` and the
    path when it is missing, not CIFAR-10's python version, or damaged."""
    members = _read_members(Path(path), where)
    meta = _unpickle(members, META, path, where)
    classes = tuple(_text(c) for c in meta.get(b"label_names", []))
    images, labels = [], []
    for name in BATCHES:
        batch = _unpickle(members, name, path, where)
        data, y = batch.get(b"data"), batch.get(b"labels")
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE:
            raise ValueError(f"{where}: {name} in {str(path)!r} holds no (n, 3072) image array")
        if y is None or len(y) != len(data):
            raise ValueError(f"{where}: {name} in {str(path)!r} has {len(data)} images but "
                             f"{0 if y is None else len(y)} labels")  # fmt: skip
        # stored channel by channel (1024 red, green, blue values per image): to (n, h, w, c)
        images.append(data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1))
        labels.append(np.asarray(y, dtype=np.int64))
    labels = np.concatenate(labels)
    if len(classes) != 10 or labels.min() < 0 or labels.max() >= len(classes):
        raise ValueError(f"{where}: {str(path)!r} names {len(classes)} classes for labels "
                         f"{labels.min()}..{labels.max()}; CIFAR-10 has 10")  # fmt: skip
    return Cifar10(np.ascontiguousarray(np.concatenate(images), dtype=np.uint8), labels, classes)


@dataclass(frozen=True)
class Cifar10Check:
    images: int
    classes: tuple[str, ...]


def check_cifar10(path: str | Path, where: str = "cifar10 path") -> Cifar10Check:
    """The start-up check: the archive or folder holds CIFAR-10's batches and class names
    (read, not decoded into images): how many images, and the classes."""
    members = _read_members(Path(path), where)
    meta = _unpickle(members, META, path, where)
    classes = tuple(_text(c) for c in meta.get(b"label_names", []))
    n = meta.get(b"num_cases_per_batch", 10000) * len(BATCHES)
    if len(classes) != 10:
        raise ValueError(f"{where}: {str(path)!r} names {len(classes)} classes; CIFAR-10 has 10")
    return Cifar10Check(int(n), classes)


def _read_members(path: Path, where: str) -> dict[str, bytes]:
    """{file name: bytes} of the batches and meta file, from the archive or the folder."""
    wanted = {*BATCHES, META}
    if path.is_dir():
        found = {p.name: p.read_bytes() for p in path.rglob("*") if p.name in wanted}
    elif path.is_file():
        fix = "download cifar-10-python.tar.gz again (its MD5 is c58f30108f718f92721af3b95e74349a)"
        with reading_input(path, where, "tar archive", fix), tarfile.open(path, "r:*") as tar:
            found = {}
            for m in tar.getmembers():
                name = Path(m.name).name
                if m.isfile() and name in wanted:
                    found[name] = tar.extractfile(m).read()
    else:
        raise ValueError(f"{where}: {str(path)!r} does not exist (download "
                         "cifar-10-python.tar.gz and point path at it)")  # fmt: skip
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"{where}: {str(path)!r} lacks {missing}: not CIFAR-10's python "
                         "version (cifar-10-python.tar.gz), or cut short")  # fmt: skip
    return found


def _unpickle(members: dict[str, bytes], name: str, path, where: str) -> dict:
    try:
        out = pickle.load(io.BytesIO(members[name]), encoding="bytes")  # noqa: S301 (CIFAR's format)
    except Exception as err:  # noqa: BLE001  a damaged pickle raises many kinds
        raise ValueError(f"{where}: {name} in {str(path)!r} cannot be read "
                         f"({type(err).__name__}: {err})") from err  # fmt: skip
    if not isinstance(out, dict):
        raise ValueError(f"{where}: {name} in {str(path)!r} is not a CIFAR-10 batch")
    return out


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
