"""The image domains of a study: sources (synth, standin, svhn, folder, npy), one image size and
channel count for all (:class:`ImageSpec`), splits, and the dataset files every stage reads."""

from ..names import SPLITS
from .dataset import (
    Dataset,
    build_domain,
    dataset_classes,
    load_labels,
    load_split,
    read_provenance,
    write_dataset,
)
from .images import ImageSpec
from .noise import salt_and_pepper
from .sources import SOURCES
from .splits import split_indices, split_sizes

__all__ = [
    "SOURCES",
    "SPLITS",
    "Dataset",
    "ImageSpec",
    "build_domain",
    "dataset_classes",
    "load_labels",
    "load_split",
    "read_provenance",
    "salt_and_pepper",
    "split_indices",
    "split_sizes",
    "write_dataset",
]
