"""The plain values each job of a study is given (its Snakemake params), one function per
question, each of a :class:`~ckaflow.study.plan.Plan`: a change to the config re-runs exactly
the jobs whose values it reaches, and the order keys are written in is not a change."""

from __future__ import annotations

from ..backend import check_installed, resolve
from ..names import parse


def dataset(plan, domain: str) -> dict:
    """What decides a domain's images (``build_dataset``)."""
    c = plan.config
    return {
        "entry": dict(sorted(c["domains"][domain].items())),
        "image": dict(sorted(c["image"].items())),
        "images": c["images_per_domain"],
        "seed": c["seed"],
        "val_fraction": c["val_fraction"],
        "test_images": c["test_images"],
        "classify": plan.task == "classify",
    }


def model(plan) -> dict:
    """What builds the model (``model_spec``; which layers are recorded is another job's, so
    that choosing them retrains nothing)."""
    m = plan.config["model"]
    if m["pretrained"]:  # the architecture comes with the saved models
        first = plan.pretrained_file(plan.base[0])
        return {"architecture": None, "builder": None, "pretrained": first}
    if m["builder"]:
        return {"architecture": None, "builder": m["builder"]}
    out = {"architecture": m["architecture"], "builder": None}
    if m["architecture"] in ("all_cnn_c", "kornblith_cnn"):  # the architectures with a width
        out["width"] = m["width"]
    return out


def backend(plan) -> str:
    """The Keras backend of every job that runs a model (config ``backend``, else
    ``$KERAS_BACKEND`` at the workflow's load, else TensorFlow), installed here."""
    return check_installed(resolve(plan.config["backend"]))


def input_shape(plan) -> list[int]:
    """(height, width, channels) of every image."""
    i = plan.config["image"]
    return [i["height"], i["width"], i["channels"]]


def noise(plan) -> dict:
    """The training noise (denoising only): pepper and salt."""
    n = plan.config["noise"]
    return {"pepper": n["pepper"], "salt": n["salt"]} if plan.task == "denoise" else {}


def schedule(plan, instance: str) -> dict:
    """The TrainConfig of ``instance``, with only the keys its task, optimizer and schedule
    read (a change to another key reruns no training): a fine-tuning run has its own cap
    and, with finetune.mode final_phase, starts in the last learning-rate phase; a deeper
    model starts at train.deep_learning_rate."""
    c, inst = plan.config, parse(instance)
    t, finetuned = c["train"], inst.finetuned
    out = {
        "batch_size": t["batch_size"],
        "learning_rate": t["learning_rate" if inst.depth == 1 else "deep_learning_rate"],
        "eval_every": t["eval_every"],
        "task": plan.task,
        "optimizer": t["optimizer"],
        "schedule": t["schedule"],
    }
    out.update(noise(plan))
    if t["optimizer"] == "sgd":
        out["momentum"] = t["momentum"]
    if t["weight_decay"]:
        out["weight_decay"] = t["weight_decay"]
    if t["schedule"] == "patience":
        out.update(
            patience=t["patience"],
            max_steps=c["finetune" if finetuned else "train"]["max_steps"],
        )
        out["start_phase"] = 2 if finetuned and c["finetune"]["mode"] == "final_phase" else 0
    else:
        out.update({k: t[k] for k in ("epochs", "decay_epochs", "decay_factor")})
    if not finetuned and t["early_checkpoints"]:
        out["early_checkpoints"] = list(t["early_checkpoints"])
    if not finetuned and t["checkpoint_epochs"]:
        out["checkpoint_epochs"] = list(t["checkpoint_epochs"])
    return out


def train_images(plan, instance: str) -> int | None:
    """How many training images a run uses (None: the whole training split)."""
    return plan.config["finetune"]["images"] if parse(instance).finetuned else None
