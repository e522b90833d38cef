# Wildcard plumbing and checks that JSON schema cannot express.
import os
from pathlib import Path

# Scripts import the ckaflow package from this checkout, whatever environment runs them.
_SRC = str(Path(workflow.basedir) / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p
)
os.environ.setdefault("MPLBACKEND", "Agg")  # headless plotting in every job

import re

import yaml

from ckaflow.activations import model_name, split_model_name
from ckaflow.instances import base_instances, finetuned_instances
from ckaflow.study import check_config

DOMAINS = ["natural", "synth"]
SPLITS = ["train", "val", "test"]
SEEDS = config["seeds"]
BASE = base_instances(SEEDS)
FINETUNED = finetuned_instances(SEEDS)
INSTANCES = BASE + FINETUNED
BASE_CHECKPOINTS = ["init", "phase1", "phase2", "final"]
FINETUNE_CHECKPOINTS = ["init", "final"]
# Models compared by CKA: every instance's final weights, and the base instances' earlier
# checkpoints (a fine-tuned instance's init is its base's final model).
MODELS = INSTANCES + [model_name(b, c) for b in BASE for c in BASE_CHECKPOINTS[:-1]]
SHARDS = config["similarity"]["shards"]
# Every cross-key check, before any job: a config that cannot run to the end stops here.
_SCHEMA = yaml.safe_load(
    (Path(workflow.basedir) / "config" / "schema.yaml").read_text()
)
ESTIMATORS = check_config(config, _SCHEMA)


wildcard_constraints:
    domain="|".join(DOMAINS),
    source="|".join(DOMAINS),
    seed="|".join(str(s) for s in SEEDS),
    instance="|".join(INSTANCES),
    model="|".join(re.escape(m) for m in MODELS),
    test_set="|".join(DOMAINS),
    estimator="|".join(re.escape(e) for e in ESTIMATORS),
    shard=r"\d+",
    a="|".join(re.escape(i) for i in INSTANCES),
    b="|".join(re.escape(i) for i in INSTANCES),


# One run at a time in this folder (an OS lock that dies with its process; dry-runs only read).
if workflow.is_main_process and not workflow.output_settings.dryrun:
    from ckaflow.runlock import hold_folder

    hold_folder(".snakemake")


# Fonts, photographs and SVHN files are checked once, when the run starts, not in every job.
if workflow.is_main_process:
    from ckaflow.data.preflight import check_sources

    check_sources(config)


def dataset_files(domain):
    """The files of one domain's dataset."""
    return [f"results/data/{domain}/{s}.npy" for s in SPLITS] + [
        f"results/data/{domain}/dataset.json"
    ]


# Every table records the datasets it was made from (their dataset.json: ids and SHA-256).
DATASET_JSONS = [f"results/data/{d}/dataset.json" for d in DOMAINS]


def svhn_input(wildcards):
    """Real SVHN is an input of the natural dataset, so a new copy rebuilds it."""
    if wildcards.domain == "natural" and config["natural"]["source"] == "svhn":
        return [config["natural"]["svhn_path"]]
    return []


def dataset_params(wildcards):
    """Plain values that decide a domain's images; a change re-runs exactly its dataset."""
    natural = wildcards.domain == "natural"
    svhn = config["natural"]["source"] == "svhn"
    return {
        "images": config["images_per_domain"],
        "seed": config["seed"],
        "val_fraction": config["val_fraction"],
        "test_images": config["test_images"],
        "source": config["natural"]["source"] if natural else "pillow-text",
        "svhn_path": config["natural"]["svhn_path"] if natural else None,
        "font_size": None if natural else list(config["synth"]["font_size"]),
        "fonts": None if natural else config["synth"]["fonts"],
        "photos": config["natural"]["photos"] if natural and not svhn else None,
    }


def training_data(wildcards):
    """Both datasets: the training split of the instance's domain, validation of both."""
    return {
        "natural": "results/data/natural/dataset.json",
        "synth": "results/data/synth/dataset.json",
        "splits": [
            f"results/data/{d}/{s}.npy" for d in DOMAINS for s in ("train", "val")
        ],
    }


def _schedule(max_steps, start_phase):
    return {
        "batch_size": config["train"]["batch_size"],
        "learning_rate": config["train"]["learning_rate"],
        "patience": config["train"]["patience"],
        "eval_every": config["train"]["eval_every"],
        "max_steps": max_steps,
        "pepper": config["noise"]["pepper"],
        "salt": config["noise"]["salt"],
        "start_phase": start_phase,
    }


def instance_of(wildcards):
    """The instance a training job makes, from its wildcards (domain, seed; source if fine-tuned)."""
    source = getattr(wildcards, "source", None)
    return (
        f"{wildcards.domain}-from-{source}-{wildcards.seed}"
        if source
        else f"{wildcards.domain}-{wildcards.seed}"
    )


def train_params(wildcards):
    """The TrainConfig of a base instance."""
    return _schedule(config["train"]["max_steps"], 0)


def finetune_params(wildcards):
    """The TrainConfig of a fine-tuned instance (the same schedule; maybe only its last phase)."""
    start = 2 if config["finetune"]["mode"] == "final_phase" else 0
    return _schedule(config["finetune"]["max_steps"], start)


def finetune_start(wildcards):
    """A fine-tuned instance starts from the final weights of its base instance."""
    return f"results/models/{wildcards.source}-{wildcards.seed}/checkpoints/final.npz"


def histories(wildcards=None):
    return {i: f"results/models/{i}/history.parquet" for i in INSTANCES}


def reconstruction_models(wildcards):
    """For a test set: its in-domain base, the other domain's base, and the fine-tuned instance
    that went from the other to this domain (first seed). The in-domain base is the scratch
    counterpart of the fine-tuned one."""
    d, s = wildcards.domain, SEEDS[0]
    o = [x for x in DOMAINS if x != d][0]
    return {
        "in_domain": f"results/models/{d}-{s}/checkpoints/final.npz",
        "cross_domain": f"results/models/{o}-{s}/checkpoints/final.npz",
        "finetuned": f"results/models/{d}-from-{o}-{s}/checkpoints/final.npz",
        "test": f"results/data/{d}/test.npy",
    }


def maybe_temp(path):
    """Activations are large: kept only when similarity.keep_activations is set."""
    return path if config["similarity"]["keep_activations"] else temp(path)


def extraction_inputs(wildcards):
    """The checkpoints whose activations an instance's job records, and both test sets."""
    names = BASE_CHECKPOINTS if wildcards.instance in BASE else ["final"]
    out = {c: f"results/models/{wildcards.instance}/checkpoints/{c}.npz" for c in names}
    out.update({d: f"results/data/{d}/test.npy" for d in DOMAINS})
    return out


def activations_of_model(wildcards):
    return f"results/activations/{split_model_name(wildcards.model)[0]}"


def estimator_params(wildcards):
    return ESTIMATORS[wildcards.estimator]


def hsic_shards():
    return expand(
        "results/similarity/hsic/{test_set}/{estimator}/shard{shard}.parquet",
        test_set=DOMAINS,
        estimator=list(ESTIMATORS),
        shard=range(SHARDS),
    )


def filter_pair(wildcards):
    """The two instances of a filter heatmap."""
    return {"a": wildcards.a, "b": wildcards.b}


def layer_matrix_pairs():
    """Layer x layer panels: an instance with itself, two seeds, a base vs its fine-tuned."""
    s1 = SEEDS[0]
    s2 = SEEDS[1] if len(SEEDS) > 1 else SEEDS[0]
    return {
        f"synth-{s1} with itself": [f"synth-{s1}", f"synth-{s1}"],
        f"synth-{s1} vs synth-{s2}": [f"synth-{s1}", f"synth-{s2}"],
        f"natural-{s1} vs synth-from-natural-{s1}": [
            f"natural-{s1}",
            f"synth-from-natural-{s1}",
        ],
    }


def cka_figures():
    """The CKA figures, table and findings."""
    a, b = (config["figures"]["filter_instances"] * 2)[:2]
    heatmaps = [f"{x}_vs_{x}" for x in config["figures"]["filter_instances"]]
    heatmaps += [f"{a}_vs_{b}"] if a != b else []
    names = [
        "base_layer_strips",
        "finetuned_vs_base",
        "layer_matrices",
        "checkpoints_vs_final",
        *[f"filters_{h}" for h in heatmaps],
        *[f"chord_{x}" for x in config["figures"]["filter_instances"]],
    ]
    return [
        *expand("results/figures/{fig}.{ext}", fig=names, ext=["png", "pdf"]),
        "results/findings.md",
        "results/tables/table_finetuning.md",
        "results/tables/table_finetuning.csv",
    ]


FIGURES = [
    "samples",
    "loss_curves",
    "test_loss",
    "reconstructions_synth",
    "reconstructions_natural",
]


def get_final_output():
    """Everything `snakemake` builds by default: the whole study."""
    return [
        *dataset_files("natural"),
        *dataset_files("synth"),
        "results/tables/test_loss.parquet",
        "results/tables/test_accuracy.csv",
        "results/tables/weight_change.csv",
        "results/cka.parquet",
        # The shards too: a shard deleted by hand is then rebuilt on the next run.
        *hsic_shards(),
        *cka_figures(),
        *expand("results/figures/{fig}.{ext}", fig=FIGURES, ext=["png", "pdf"]),
        *expand(
            "results/figures/conv1_filters_{instance}.{ext}",
            instance=config["figures"]["filter_instances"],
            ext=["png", "pdf"],
        ),
    ]
