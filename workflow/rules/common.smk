# Wildcard plumbing and the checks that JSON schema cannot express. The ckaflow package is
# installed (README), in the environment that runs Snakemake or in each conda env (envs/).
import re
import sys
from pathlib import Path

from ckaflow.code import script_sha256
from ckaflow.data.sources import folder_digest
from ckaflow.figures import layout
from ckaflow.model.builder import builder_files, source_sha256
from ckaflow.names import FINAL, INIT, SPLITS, parse as parse_instance, parse_model
from ckaflow.schema import load_schema
from ckaflow.stages.activations import activation_problem
from ckaflow.study.comparisons import filter_scope
from ckaflow.study.budget import cost_keys
from ckaflow.study.plan import Plan

# The study this config describes. Every cross-key check runs here, before any job: a config
# that cannot run to the end stops now.
PLAN = Plan.from_config(config, load_schema())
DOMAINS = PLAN.domains
BASE = PLAN.base
FINETUNED = PLAN.finetuned
INSTANCES = PLAN.instances
MODELS = PLAN.models
ESTIMATORS = PLAN.estimator_names
SHARDS = config["similarity"]["shards"]
BUILDER = config["model"]["builder"]
# The filters compared (similarity.filters): which instances, layers, and whether across them.
FILTERS = filter_scope(PLAN)
# Base instances imported from the user's saved models (model.pretrained), not trained, and
# the saved model whose architecture every job that rebuilds a model loads.
IMPORTED = BASE if config["model"]["pretrained"] else []
ARCHITECTURE = [PLAN.model_config["pretrained"]] if IMPORTED else []
# The conda env of the GPU rules: TensorFlow's GPU build and CuPy where config gpu_env is set (the
# SLURM profile sets it), else the CPU build. Never both in one env.
TF_ENV = (
    "../../envs/tensorflow-gpu.yaml"
    if config["gpu_env"]
    else "../../envs/tensorflow.yaml"
)


def code_of(script):
    """The SHA-256 of the code a rule's script runs: the script and every ckaflow module it
    imports (ckaflow.code). Every rule's params carry it, so editing a module reruns exactly
    the jobs whose scripts import it ("Params have changed")."""
    return script_sha256(str(workflow.source_path(script)))


def one_of(names):
    """A wildcard pattern matching exactly ``names`` (nothing when there are none)."""
    return "|".join(re.escape(str(n)) for n in names) or "(?!)"


wildcard_constraints:
    domain=one_of(DOMAINS),
    instance=one_of(INSTANCES),
    model=one_of(MODELS),
    test_set=one_of(DOMAINS),
    estimator=one_of(ESTIMATORS),
    shard=r"\d+",
    depth=one_of(PLAN.depths),
    figure=one_of(layout.cka_figures(PLAN)),
    a=one_of(INSTANCES),


# Every table records the datasets it was made from (their dataset.json: ids and SHA-256).
DATASET_JSONS = [f"results/data/{d}/dataset.json" for d in DOMAINS]


def source_input(wildcards):
    """A file a domain reads (SVHN, an array) is an input of its dataset, so a new copy
    rebuilds it."""
    entry = config["domains"][wildcards.domain]
    return [entry[k] for k in ("path", "images", "labels") if entry.get(k)]


def source_digest(wildcards):
    """The files under a domain's folders (images, fonts, photographs): a changed file deep
    inside rebuilds its dataset."""
    return folder_digest(config["domains"][wildcards.domain])


# The class labels of each split, when the study classifies.
LABELS = (
    ["train_labels", "val_labels", "test_labels"] if PLAN.task == "classify" else []
)


def label_files(splits=("train", "val", "test")):
    return [
        f"results/data/{d}/{s}_labels.npy" for d in DOMAINS for s in splits if LABELS
    ]


def dataset_params(wildcards):
    return PLAN.dataset_params(wildcards.domain)


def spec_file(depth):
    """The model of a depth, as model_spec describes it (what trainings read)."""
    return f"results/model_spec/d{depth}.json"


def recorded_file(depth):
    """The same with the recorded layers (what extraction, figures and findings read)."""
    return f"results/model_spec/d{depth}.recorded.json"


# What the similarity stages will cost (python -m ckaflow plan; the check_cost job writes it).
COST_CHECK = "results/model_spec/cost.txt"


def model_spec_inputs(wildcards):
    """The builder's source files (its file and the user's modules it imports: their edits
    make the model stale) and, classifying, the
    datasets (their classes set the model's outputs)."""
    inputs = {"datasets": DATASET_JSONS if PLAN.task == "classify" else []}
    if BUILDER:
        inputs["builder"] = [str(f) for f in builder_files(BUILDER)]
    inputs["pretrained"] = [PLAN.pretrained_file(b) for b in IMPORTED]
    return inputs


def builder_sha256(wildcards=None):
    """The SHA-256 of the builder's source files (a param too: an edit reruns the model even
    when the files' times say otherwise, as after a git checkout)."""
    return source_sha256(BUILDER) if BUILDER else None


def training_data(wildcards):
    """Every dataset (training split of the instance's domain, validation of all) and the
    model spec of the instance's depth."""
    return {
        "datasets": DATASET_JSONS,
        "splits": [
            f"results/data/{d}/{s}.npy" for d in DOMAINS for s in ("train", "val")
        ],
        "spec": spec_file(parse_instance(wildcards.instance).depth),
        "labels": label_files(("train", "val")),
        "architecture": ARCHITECTURE,
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


def record_of(checkpoint):
    """A checkpoint's record (its .json: provenance and the weights' SHA-256), an input
    wherever the checkpoint is: deleting it rebuilds the checkpoint, not a FileNotFoundError.
    """
    return str(Path(checkpoint).with_suffix(".json"))


def finetune_start(wildcards):
    """A fine-tuned instance starts from the final weights of its base instance."""
    base = parse_instance(instance_of(wildcards)).base
    return f"results/models/{base}/checkpoints/final.npz"


def pretrained_file(wildcards):
    return PLAN.pretrained_file(wildcards.instance)


def histories(wildcards=None):
    return [f"results/models/{i}/history.parquet" for i in INSTANCES]


def specs(wildcards=None):
    """The model spec of every depth trained, with its recorded layers."""
    return [recorded_file(d) for d in PLAN.depths]


def reconstruction_inputs(wildcards):
    """The reconstructing models' final weights (in layout.reconstruction_models' order), and
    the test set."""
    roles = layout.reconstruction_models(PLAN, wildcards.domain)
    return {
        "models": [f"results/models/{m}/checkpoints/final.npz" for m in roles.values()],
        "records": [
            f"results/models/{m}/checkpoints/final.json" for m in roles.values()
        ],
        "test": f"results/data/{wildcards.domain}/test.npy",
        "architecture": ARCHITECTURE,
    }


def reconstruction_roles(wildcards):
    return layout.reconstruction_models(PLAN, wildcards.domain)


def maybe_temp(path):
    """Activations are large: kept only when similarity.keep_activations is set."""
    return path if config["similarity"]["keep_activations"] else temp(path)


def extraction_inputs(wildcards):
    """The checkpoints whose activations an instance's job records, every test set, and the
    model spec that names the recorded layers."""
    names = PLAN.recorded_checkpoints(wildcards.instance)
    return {
        "checkpoints": [
            f"results/models/{wildcards.instance}/checkpoints/{c}.npz" for c in names
        ],
        "records": [
            f"results/models/{wildcards.instance}/checkpoints/{c}.json" for c in names
        ],
        "tests": [f"results/data/{d}/test.npy" for d in DOMAINS],
        "spec": recorded_file(parse_instance(wildcards.instance).depth),
        "architecture": ARCHITECTURE,
    }


def models_of(wildcards):
    return PLAN.models_of(wildcards.instance)


def incomplete_activations(wildcards):
    """What is missing from an instance's activation folder, or None while it is absent or
    whole: a param, so that a dry run plans the folder made again (params changed), as the
    run will after start-up removes it (startup.smk)."""
    folder = Path("results/activations") / wildcards.instance
    if not folder.is_dir():
        return None
    return activation_problem(folder, PLAN.models_of(wildcards.instance), DOMAINS)


def activations_of_model(wildcards):
    return f"results/activations/{parse_model(wildcards.model)[0]}"


def spec_of_model(wildcards):
    """The recorded layers of a model's depth (the filter layers are resolved against them)."""
    return recorded_file(parse_instance(parse_model(wildcards.model)[0]).depth)


def filter_layers_of(wildcards):
    """The layers whose filters a model's Gram job keeps (similarity.filters)."""
    return FILTERS.layers_of(wildcards.model)


def hsic_shards():
    return expand(
        "results/similarity/hsic/{test_set}/{estimator}/shard{shard}.parquet",
        test_set=DOMAINS,
        estimator=ESTIMATORS,
        shard=range(SHARDS),
    )


def resample_seed(wildcards):
    return PLAN.resample_seed(wildcards.test_set)


def cka_options(wildcards):
    return layout.cka_options(PLAN, wildcards.figure)


def report_caption(wildcards):
    """A CKA figure's caption: the text of its kind's caption file (found beside this file,
    also when ckaflow is used as a module)."""
    kind = cka_options(wildcards)["kind"]
    return Path(workflow.source_path(f"../report/{kind}.rst")).read_text()
