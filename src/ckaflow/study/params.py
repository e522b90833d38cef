"""The plain values each job of a study is given (its Snakemake params): a change re-runs
exactly the jobs it reaches."""

from __future__ import annotations

from ..names import parse


class JobParams:
    """Mixed into :class:`~ckaflow.study.plan.Plan`: reads ``self.config`` and ``self.task``."""

    def dataset_params(self, domain: str) -> dict:
        """The plain values that decide a domain's images (a change re-runs exactly its job;
        the order keys are written in is not a change)."""
        c = self.config
        return {
            "entry": dict(sorted(c["domains"][domain].items())),
            "image": dict(sorted(c["image"].items())),
            "images": c["images_per_domain"],
            "seed": c["seed"],
            "val_fraction": c["val_fraction"],
            "test_images": c["test_images"],
            "classify": self.task == "classify",
        }

    @property
    def model_config(self) -> dict:
        """What builds the model (the model_spec job's parameters; which layers are recorded
        is another job's, so that choosing them retrains nothing)."""
        m = self.config["model"]
        if m["pretrained"]:  # the architecture comes with the saved models
            first = self.pretrained_file(self.base[0])
            return {"architecture": None, "builder": None, "pretrained": first}
        if m["builder"]:
            return {"architecture": None, "builder": m["builder"]}
        out = {"architecture": m["architecture"], "builder": None}
        if m["architecture"] == "all_cnn_c":
            out["width"] = m["width"]
        return out

    def pretrained_file(self, instance: str) -> str | None:
        """The saved model a base instance is imported from (model.pretrained), or None."""
        template, inst = self.config["model"]["pretrained"], parse(instance)
        if not template or inst.finetuned:
            return None
        return template.format(domain=inst.domain, seed=inst.seed)

    @property
    def noise(self) -> dict:
        """The training noise (denoise only): pepper and salt."""
        n = self.config["noise"]
        return {"pepper": n["pepper"], "salt": n["salt"]} if self.task == "denoise" else {}

    @property
    def input_shape(self) -> list[int]:
        i = self.config["image"]
        return [i["height"], i["width"], i["channels"]]

    def schedule(self, instance: str) -> dict:
        """The TrainConfig of ``instance``, with only the keys its task, optimizer and schedule
        read (a change to another key reruns no training): a fine-tuning run has its own cap
        and, with finetune.mode final_phase, starts in the last learning-rate phase; a deeper
        model starts at train.deep_learning_rate."""
        c, inst = self.config, parse(instance)
        t, finetuned = c["train"], inst.finetuned
        out = {
            "batch_size": t["batch_size"],
            "learning_rate": t["learning_rate" if inst.depth == 1 else "deep_learning_rate"],
            "eval_every": t["eval_every"],
            "task": self.task,
            "optimizer": t["optimizer"],
            "schedule": t["schedule"],
        }
        out.update(self.noise)
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

    def train_images(self, instance: str) -> int | None:
        """How many training images a run uses (None: the whole training split)."""
        return self.config["finetune"]["images"] if parse(instance).finetuned else None
