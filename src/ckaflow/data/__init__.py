"""The two image domains of the study: synth (text pages) and natural (house numbers)."""

from ..names import DOMAINS, SPLITS
from .dataset import (
    NATURAL_SOURCES,
    Dataset,
    build_domain,
    load_split,
    read_provenance,
    split_indices,
    split_sizes,
    write_dataset,
)
from .noise import salt_and_pepper
from .shapes import HEIGHT, WIDTH

__all__ = [
    "DOMAINS",
    "HEIGHT",
    "NATURAL_SOURCES",
    "SPLITS",
    "WIDTH",
    "Dataset",
    "build_domain",
    "load_split",
    "read_provenance",
    "salt_and_pepper",
    "split_indices",
    "split_sizes",
    "write_dataset",
]
