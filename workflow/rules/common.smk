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

from ckaflow.names import DOMAINS, FINETUNE_CHECKPOINTS, SPLITS, parse as parse_instance, parse_model
from ckaflow.study.plan import DEPTH_FIGURES, Plan
from ckaflow.schema import load_schema

# The study this config describes. Every cross-key check runs here, before any job: a config
# that cannot run to the end stops now.
PLAN = Plan.from_config(
    config,
    load_schema(),
)
SEEDS = PLAN.seeds
BASE = PLAN.base
FINETUNED = PLAN.finetuned
INSTANCES = PLAN.instances
MODELS = PLAN.models
ESTIMATORS = PLAN.estimator_names
SHARDS = config["similarity"]["shards"]
# The conda env of the GPU rules: TensorFlow's GPU build and CuPy where config gpu_env is set (the
# SLURM profile sets it), else the CPU build. Never both in one env.
TF_ENV = (
    "../../envs/tensorflow-gpu.yaml"
    if config["gpu_env"]
    else "../../envs/tensorflow.yaml"
)


wildcard_constraints:
    domain="|".join(DOMAINS),
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


# Every table records the datasets it was made from (their dataset.json: ids and SHA-256).
DATASET_JSONS = [f"results/data/{d}/dataset.json" for d in DOMAINS]


def svhn_input(wildcards):
    """Real SVHN is an input of the natural dataset, so a new copy rebuilds it."""
    if wildcards.domain == "natural" and config["natural"]["source"] == "svhn":
        return [config["natural"]["svhn_path"]]
    return []


def dataset_params(wildcards):
    return PLAN.dataset_params(wildcards.domain)


def training_data(wildcards):
    """Both datasets: the training split of the instance's domain, validation of both."""
    return {
        "datasets": [f"results/data/{d}/dataset.json" for d in DOMAINS],
        "splits": [
            f"results/data/{d}/{s}.npy" for d in DOMAINS for s in ("train", "val")
        ],
    }


def instance_of(wildcards):
    """The instance a job is about (trained, evaluated, recorded)."""
    return wildcards.instance


def schedule_params(wildcards):
    return PLAN.schedule(instance_of(wildcards))


def checkpoint_names(wildcards):
    return list(PLAN.checkpoints(instance_of(wildcards)))


def train_images(wildcards):
    return PLAN.train_images(instance_of(wildcards))


def finetune_start(wildcards):
    """A fine-tuned instance starts from the final weights of its base instance."""
    base = parse_instance(instance_of(wildcards)).base
    return f"results/models/{base}/checkpoints/final.npz"


def histories(wildcards=None):
    return [f"results/models/{i}/history.parquet" for i in INSTANCES]


def reconstruction_inputs(wildcards):
    """The reconstructing models' final weights (in PLAN.reconstruction_models' order), and the
    test set."""
    roles = PLAN.reconstruction_models(wildcards.domain)
    return {
        "models": [f"results/models/{m}/checkpoints/final.npz" for m in roles.values()],
        "test": f"results/data/{wildcards.domain}/test.npy",
    }


def reconstruction_roles(wildcards):
    return PLAN.reconstruction_models(wildcards.domain)


def maybe_temp(path):
    """Activations are large: kept only when similarity.keep_activations is set."""
    return path if config["similarity"]["keep_activations"] else temp(path)


def extraction_inputs(wildcards):
    """The checkpoints whose activations an instance's job records, and both test sets."""
    names = PLAN.recorded_checkpoints(wildcards.instance)
    return {
        "checkpoints": [
            f"results/models/{wildcards.instance}/checkpoints/{c}.npz" for c in names
        ],
        "tests": [f"results/data/{d}/test.npy" for d in DOMAINS],
    }


def activations_of_model(wildcards):
    return f"results/activations/{parse_model(wildcards.model)[0]}"


def hsic_shards():
    return expand(
        "results/similarity/hsic/{test_set}/{estimator}/shard{shard}.parquet",
        test_set=DOMAINS,
        estimator=ESTIMATORS,
        shard=range(SHARDS),
    )


def filter_heatmap_options(wildcards):
    return PLAN.cka_options("filter_heatmap", wildcards.a, wildcards.b)


def get_final_output():
    """Everything `snakemake` builds by default: the whole study."""
    return [
        *[f"results/data/{d}/{s}.npy" for d in DOMAINS for s in SPLITS],
        *DATASET_JSONS,
        "results/tables/test_loss.parquet",
        "results/tables/test_accuracy.csv",
        "results/tables/weight_change.csv",
        "results/cka.parquet",
        "results/cka_intervals.parquet",
        # The shards too: a shard deleted by hand is then rebuilt on the next run.
        *hsic_shards(),
        *expand("results/figures/{fig}.{ext}", fig=PLAN.figures(), ext=["png", "pdf"]),
        "results/findings.md",
        "results/tables/table_finetuning.md",
        "results/tables/table_finetuning.csv",
        "results/tables/null_baselines.csv",
        "results/tables/block_structure.csv",
    ]
