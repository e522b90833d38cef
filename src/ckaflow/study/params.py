"""The plain values each job of a study is given (its Snakemake params): a change re-runs
exactly the jobs it reaches."""

from __future__ import annotations

from ..names import parse


class JobParams:
    """Mixed into :class:`~ckaflow.study.plan.Plan`: reads ``self.config`` and ``self.task``."""

    def dataset_params(self, domain: str) -> dict:
        """The plain values that decide a domain's images (a change re-runs exactly its job)."""
        c = self.config
        return {
            "entry": dict(c["domains"][domain]),
            "image": dict(c["image"]),
            "images": c["images_per_domain"],
            "seed": c["seed"],
            "val_fraction": c["val_fraction"],
            "test_images": c["test_images"],
            "classify": self.task == "classify",
        }

    @property
    def model_config(self) -> dict:
        """What builds and records the model (the model_spec job's parameters)."""
        m = self.config["model"]
        if m["pretrained"]:  # the architecture comes with the saved models
            first = self.pretrained_file(self.base[0])
            return {"architecture": None, "builder": None, "layers": m["layers"],
                    "pretrained": first}  # fmt: skip
        return {
            "architecture": None if m["builder"] else m["architecture"],
            "builder": m["builder"],
            "layers": m["layers"],
        }

    def pretrained_file(self, instance: str) -> str | None:
        """The saved model a base instance is imported from (model.pretrained), or None."""
        template, inst = self.config["model"]["pretrained"], parse(instance)
        if not template or inst.finetuned:
            return None
        return template.format(domain=inst.domain, seed=inst.seed)

    @property
    def input_shape(self) -> list[int]:
        i = self.config["image"]
        return [i["height"], i["width"], i["channels"]]

    def schedule(self, instance: str) -> dict:
        """The TrainConfig of ``instance``: a fine-tuning run has its own cap and, with
        finetune.mode final_phase, starts in the last learning-rate phase; a deeper model starts
        at train.deep_learning_rate."""
        c, inst = self.config, parse(instance)
        t, finetuned = c["train"], inst.finetuned
        out = {
            "batch_size": t["batch_size"],
            "learning_rate": t["learning_rate" if inst.depth == 1 else "deep_learning_rate"],
            **{k: t[k] for k in ("patience", "eval_every")},
            "max_steps": c["finetune" if finetuned else "train"]["max_steps"],
            "pepper": c["noise"]["pepper"],
            "salt": c["noise"]["salt"],
            "start_phase": 2 if finetuned and c["finetune"]["mode"] == "final_phase" else 0,
            "task": self.task,
            **{
                k: t[k]
                for k in (
                    "optimizer",
                    "momentum",
                    "weight_decay",
                    "schedule",
                    "epochs",
                    "decay_epochs",
                    "decay_factor",
                )
            },
        }
        if not finetuned:
            out["early_checkpoints"] = list(t["early_checkpoints"])
            out["checkpoint_epochs"] = list(t["checkpoint_epochs"])
        return out

    def train_images(self, instance: str) -> int | None:
        """How many training images a run uses (None: the whole training split)."""
        return self.config["finetune"]["images"] if parse(instance).finetuned else None
