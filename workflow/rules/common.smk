# The study this config describes, read by question (ckaflow.study): what is trained and
# recorded (PLAN), what is compared (COMPARED), what each job is given (job_params), where each
# file is (paths). Below, only the adapters from Snakemake's wildcards to those. The ckaflow
# package is installed (README), in the environment that runs Snakemake or in each conda env.
import re
import sys
from pathlib import Path

from ckaflow.code import script_param
from ckaflow.data.sources import folder_digest
from ckaflow.figures import layout
from ckaflow.model.builder import builder_files, source_sha256
from ckaflow.names import FINAL, INIT, SPLITS, parse as parse_instance, parse_model
from ckaflow.schema import load_schema
from ckaflow.stages.activations import activation_problem
from ckaflow.study import params as job_params, paths
from ckaflow.study.budget import cost_keys
from ckaflow.study.comparisons import Comparisons
from ckaflow.study.plan import Plan

# Every cross-key check runs here, before any job: a config that cannot run to the end stops now.
PLAN = Plan.from_config(config, load_schema())
COMPARED = Comparisons(PLAN)
FILTERS = COMPARED.filters  # similarity.filters: which instances, layers, across them
# The Keras backend of every job that runs a model (config backend, else $KERAS_BACKEND).
BACKEND = job_params.backend(PLAN)
DOMAINS = PLAN.domains
BASE = PLAN.base
FINETUNED = PLAN.finetuned
INSTANCES = PLAN.instances
MODELS = PLAN.models
ESTIMATORS = COMPARED.estimator_names
# The measures beside CKA, for the layer-identification test (similarity.measures).
MEASURES = config["similarity"]["measures"]
SHARDS = config["similarity"]["shards"]
BUILDER = config["model"]["builder"]
# Base instances imported from the user's saved models (model.pretrained), not trained, and
# the saved model whose architecture every job that rebuilds a model loads.
IMPORTED = BASE if config["model"]["pretrained"] else []
ARCHITECTURE = [job_params.model(PLAN)["pretrained"]] if IMPORTED else []
# The conda env of the GPU rules: TensorFlow's GPU build and CuPy where config gpu_env is set (the
# SLURM profile sets it), else the CPU build. Never both in one env.
TF_ENV = (
    "../../envs/tensorflow-gpu.yaml"
    if config["gpu_env"]
    else "../../envs/tensorflow.yaml"
)


def code_of(script):
    """The SHA-256 of the code a rule's script runs (it and the ckaflow modules it imports),
    made when a job of the rule is planned (ckaflow.code.script_param). Every rule's params
    carry it: editing a module reruns the jobs that run it ("Params have changed")."""
    return script_param(workflow.source_path(script))


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
DATASET_JSONS = [paths.dataset_record(d) for d in DOMAINS]
# The class labels of each split, when the study classifies.
LABELS = ["train", "val", "test"] if PLAN.task == "classify" else []


def label_files(splits=("train", "val", "test")):
    return [paths.labels(d, s) for d in DOMAINS for s in splits if s in LABELS]


def tests():
    """Every test set."""
    return [paths.split(d, "test") for d in DOMAINS]


def final_weights(instances, ext="npz"):
    """The final checkpoints of ``instances`` (``ext="json"``: their records)."""
    return [paths.checkpoint(i, FINAL, ext) for i in instances]


def specs(wildcards=None):
    """The model spec of every depth trained, with its recorded layers."""
    return [paths.model_spec(d, "recorded.json") for d in PLAN.depths]


def histories(wildcards=None):
    return [paths.model_file(i, "history.parquet") for i in INSTANCES]


# -- stage 1: the datasets --


def source_input(wildcards):
    """A file a domain reads (SVHN, an array) is an input of its dataset, so a new copy
    rebuilds it."""
    entry = config["domains"][wildcards.domain]
    return [entry[k] for k in ("path", "images", "labels") if entry.get(k)]


def source_digest(wildcards):
    """The files under a domain's folders (images, fonts, photographs): a changed file deep
    inside rebuilds its dataset."""
    return folder_digest(config["domains"][wildcards.domain])


# -- stage 2: the model --


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


# -- stage 3: training --


def training_data(wildcards):
    """Every dataset (training split of the instance's domain, validation of all) and the
    model spec of the instance's depth."""
    return {
        "datasets": DATASET_JSONS,
        "splits": [paths.split(d, s) for d in DOMAINS for s in ("train", "val")],
        "spec": paths.model_spec(parse_instance(wildcards.instance).depth),
        "labels": label_files(("train", "val")),
        "architecture": ARCHITECTURE,
    }


def schedule_params(wildcards):
    return job_params.schedule(PLAN, wildcards.instance)


def checkpoint_names(wildcards):
    return list(PLAN.checkpoints(wildcards.instance))


def train_images(wildcards):
    return job_params.train_images(PLAN, wildcards.instance)


def written_checkpoints(names):
    """The checkpoints (weights and record) a training job of ``{instance}`` writes."""
    return [
        paths.checkpoint("{instance}", c, e) for c in names for e in ("npz", "json")
    ]


def finetune_start(wildcards, ext="npz"):
    """A fine-tuned instance starts from the final weights of its base (``ext="json"``: their
    record, an input wherever the weights are: deleting it rebuilds them)."""
    return paths.checkpoint(parse_instance(wildcards.instance).base, FINAL, ext)


def pretrained_file(wildcards):
    return PLAN.pretrained_file(wildcards.instance)


def reconstruction_inputs(wildcards):
    """The reconstructing models' final weights (in layout.reconstruction_models' order), and
    the test set."""
    roles = layout.reconstruction_models(PLAN, wildcards.domain)
    return {
        "models": final_weights(roles.values()),
        "records": final_weights(roles.values(), "json"),
        "test": paths.split(wildcards.domain, "test"),
        "architecture": ARCHITECTURE,
    }


def reconstruction_roles(wildcards):
    return layout.reconstruction_models(PLAN, wildcards.domain)


# -- stage 4: activations --


def maybe_temp(path):
    """Activations are large: kept only when similarity.keep_activations is set."""
    return path if config["similarity"]["keep_activations"] else temp(path)


def extraction_inputs(wildcards):
    """The checkpoints whose activations an instance's job records, every test set, and the
    model spec that names the recorded layers."""
    instance, names = wildcards.instance, PLAN.recorded_checkpoints(wildcards.instance)
    return {
        "checkpoints": [paths.checkpoint(instance, c) for c in names],
        "records": [paths.checkpoint(instance, c, "json") for c in names],
        "tests": tests(),
        "spec": paths.model_spec(parse_instance(instance).depth, "recorded.json"),
        "architecture": ARCHITECTURE,
    }


def models_of(wildcards):
    return PLAN.models_of(wildcards.instance)


def incomplete_activations(wildcards):
    """What is missing from an instance's activation folder, or None while it is absent or
    whole: a param, so that a dry run plans the folder made again (params changed), as the
    run will after start-up removes it (startup.smk)."""
    folder = Path(paths.activations(wildcards.instance))
    if not folder.is_dir():
        return None
    return activation_problem(folder, PLAN.models_of(wildcards.instance), DOMAINS)


# -- stages 5 and 6: Grams, HSIC, intervals; the measures beside CKA (similarity.measures) --


def activations_of_model(wildcards):
    return paths.activations(parse_model(wildcards.model)[0])


def spec_of_model(wildcards):
    """The recorded layers of a model's depth (the filter layers are resolved against them)."""
    depth = parse_instance(parse_model(wildcards.model)[0]).depth
    return paths.model_spec(depth, "recorded.json")


def filter_layers_of(wildcards):
    """The layers whose filters a model's Gram job keeps (similarity.filters)."""
    return FILTERS.layers_of(wildcards.model)


def grams(models):
    return [paths.grams(m) for m in models]


def hsic_shards():
    return [
        paths.hsic_shard(t, e, s)
        for t in DOMAINS
        for e in ESTIMATORS
        for s in range(SHARDS)
    ]


def interval_parts():
    return [paths.interval_part(t, e) for t in DOMAINS for e in ESTIMATORS]


def resample_seed(wildcards):
    return COMPARED.resample_seed(wildcards.test_set)


def measure_tables():
    """The measure tables, one per test set; none without similarity.measures."""
    return [paths.measures(t) for t in DOMAINS] if MEASURES else []


def measure_activations(wildcards=None):
    """The activation folders of the models the measures compare."""
    instances = dict.fromkeys(COMPARED.measure_models.values())
    return [paths.activations(i) for i in instances]


def measure_folders(wildcards=None):
    """{model: its activation folder}, for the measures' job."""
    return {m: paths.activations(i) for m, i in COMPARED.measure_models.items()}


# -- stage 7: figures --


def cka_options(wildcards):
    return layout.cka_options(PLAN, wildcards.figure)


def report_caption(wildcards):
    """A CKA figure's caption: the text of its kind's caption file (found beside this file,
    also when ckaflow is used as a module)."""
    kind = cka_options(wildcards)["kind"]
    return Path(workflow.source_path(f"../report/{kind}.rst")).read_text()
