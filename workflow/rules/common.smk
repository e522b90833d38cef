# Wildcard plumbing and checks that JSON schema cannot express.
import os
from pathlib import Path

# Scripts import the ckaflow package from this checkout, whatever environment runs them.
_SRC = str(Path(workflow.basedir) / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p
)

DOMAINS = ["natural", "synth"]
SPLITS = ["train", "val", "test"]


wildcard_constraints:
    domain="|".join(DOMAINS),


if config["natural"]["source"] == "svhn":
    _svhn = config["natural"]["svhn_path"]
    if not Path(_svhn).exists():
        raise ValueError(
            f"config natural.svhn_path: {_svhn!r} does not exist "
            "(natural.source is 'svhn'; point it at SVHN format 1 train.tar.gz or its folder)"
        )


def dataset_files(domain):
    """The files of one domain's dataset."""
    return [f"results/data/{domain}/{s}.npy" for s in SPLITS] + [
        f"results/data/{domain}/dataset.json"
    ]


def svhn_input(wildcards):
    """Real SVHN is an input of the natural dataset, so a new copy rebuilds it."""
    if wildcards.domain == "natural" and config["natural"]["source"] == "svhn":
        return [config["natural"]["svhn_path"]]
    return []


def dataset_params(wildcards):
    """Plain values that decide a domain's images; a change re-runs exactly its dataset."""
    natural = wildcards.domain == "natural"
    return {
        "images": config["images_per_domain"],
        "seed": config["seed"],
        "val_fraction": config["val_fraction"],
        "test_images": config["test_images"],
        "source": config["natural"]["source"] if natural else "pillow-text",
        "svhn_path": config["natural"]["svhn_path"] if natural else None,
        "font_size": None if natural else list(config["synth"]["font_size"]),
    }


def get_final_output():
    """Everything `snakemake` builds by default: the whole study."""
    return [
        *dataset_files("natural"),
        *dataset_files("synth"),
        "results/figures/samples.png",
        "results/figures/samples.pdf",
    ]
