"""Every file a study writes, spelled once: the layout of ``results/``.

Each function names one kind of file from what it is about (a domain, an instance, a model; the
names are :mod:`ckaflow.names`'). Given a wildcard (``"{instance}"``) it gives the pattern a
rule writes; given ``"*"``, a glob. The workflow's rules, its start-up checks and the tools that
read a finished run all name a file through here, so moving one is a change in one place.
"""

from __future__ import annotations

RESULTS = "results"

# -- stage 1: the datasets --


def data(domain: str, name: str) -> str:
    """A file of a domain's dataset: ``train.npy``, ``test_labels.npy``, ``dataset.json``."""
    return f"{RESULTS}/data/{domain}/{name}"


def split(domain: str, name: str) -> str:
    """A split's images (``train``, ``val``, ``test``)."""
    return data(domain, f"{name}.npy")


def labels(domain: str, name: str) -> str:
    """A split's class labels (classifying studies)."""
    return data(domain, f"{name}_labels.npy")


def dataset_record(domain: str) -> str:
    """What a dataset was made from: its ids and SHA-256 (every table records them)."""
    return data(domain, "dataset.json")


# -- stage 2: the model of each depth --


def model_spec(depth: int | str, suffix: str = "json") -> str:
    """The model of a depth as ``model_spec`` describes it (``json``), with its recorded layers
    (``recorded.json``), and their table (``csv``)."""
    return f"{RESULTS}/model_spec/d{depth}.{suffix}"


COST_CHECK = f"{RESULTS}/model_spec/cost.txt"  # what the similarity stages will cost

# -- stage 3: the instances --


def model_file(instance: str, name: str) -> str:
    """A file of a trained instance: ``history.parquet``, ``provenance.json``, ``tensorboard``."""
    return f"{RESULTS}/models/{instance}/{name}"


def checkpoint(instance: str, name: str, ext: str = "npz") -> str:
    """A checkpoint's weights (``npz``) or its record (``json``: provenance, the weights' SHA)."""
    return model_file(instance, f"checkpoints/{name}.{ext}")


# -- stages 4 to 6: activations, Grams, HSIC, intervals --


def activations(instance: str) -> str:
    """The folder of an instance's recorded activations, every checkpoint and test set."""
    return f"{RESULTS}/activations/{instance}"


def grams(model: str) -> str:
    return f"{RESULTS}/similarity/grams/{model}.npz"


def hsic_shard(test_set: str, estimator: str, shard: int | str) -> str:
    return f"{RESULTS}/similarity/hsic/{test_set}/{estimator}/shard{shard}.parquet"


def interval_part(test_set: str, estimator: str) -> str:
    return f"{RESULTS}/similarity/intervals/{test_set}/{estimator}.parquet"


def measures(test_set: str) -> str:
    """The measures beside CKA (similarity.measures) between the layers of every two seeds."""
    return f"{RESULTS}/similarity/measures/{test_set}.parquet"


CKA = f"{RESULTS}/cka.parquet"
CKA_INTERVALS = f"{RESULTS}/cka_intervals.parquet"

# -- stages 7 and 8: figures, tables, findings --


def table(name: str, ext: str = "csv") -> str:
    """A table under ``results/tables/`` (``ext="provenance.json"``: its provenance sidecar)."""
    return f"{RESULTS}/tables/{name}.{ext}"


def figure(name: str, ext: str = "png") -> str:
    return f"{RESULTS}/figures/{name}.{ext}"


FINDINGS = f"{RESULTS}/findings.md"
FINDINGS_HTML = f"{RESULTS}/findings.html"
