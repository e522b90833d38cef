"""One training job end to end: data in, checkpoints, history and provenance out.

The workflow's scripts call :func:`train_instance`; everything here takes plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ..backend import current
from ..data import load_labels, load_split, read_provenance
from ..io import atomic_dir, save_json
from ..model.checkpoints import provenance, read_checkpoint, weights_of, write_checkpoint
from ..names import FINAL, INIT, parse
from ..provenance import write_parquet
from .config import TrainConfig, config_dict
from .train import TrainingData, train

log = logging.getLogger(__name__)

# The thesis' model, as the tests and the benchmark build it when no record is given.
TIED = {
    "architecture": "tied_autoencoder",
    "builder": None,
    "input_shape": [64, 80, 1],
    "num_classes": None,
    "output": "image",
}


def train_instance(
    instance: str,
    *,
    data_dirs: dict[str, str],
    out_dir: str | Path,
    cfg: TrainConfig,
    model: Mapping | None = None,
    init_from: str | Path | None = None,
    train_images: int | None = None,
    checkpoints: tuple[str, ...] | None = None,
    run: dict | None = None,
) -> None:
    """Train (or, with ``init_from``, fine-tune) ``instance`` and write under ``out_dir``:
    ``checkpoints/{name}.npz|.json``, ``history.parquet``, ``tensorboard/``, ``provenance.json``.

    ``data_dirs`` maps each domain to its dataset folder. ``model`` is the record that builds
    the model (:func:`ckaflow.model.build.model_record` and its ``output``; default: the
    thesis' autoencoder). ``train_images`` keeps the first that many training images. Only the
    checkpoints named in ``checkpoints`` are written (default: init and final). ``run`` (the
    workflow's config, seeds and dataset hashes) goes into every provenance record.
    """
    inst, out_dir = parse(instance), Path(out_dir)
    record = {**(model or TIED), "depth": inst.depth, "seed": inst.seed}
    checkpoints = (INIT, FINAL) if checkpoints is None else checkpoints
    data = _training_data(instance, data_dirs, inst.domain, train_images, cfg.task == "classify")
    net, parent = _initial_model(record, inst, init_from)
    common = _fields(inst, parent, data_dirs, len(data.train_x), cfg, record, run)

    def save(name: str, info: dict) -> None:
        if name in checkpoints:
            write_checkpoint(
                out_dir / "checkpoints" / f"{name}.npz",
                weights_of(net),
                provenance(checkpoint=name, **common, **info),
            )

    with atomic_dir(out_dir / "tensorboard") as board:
        result = train(
            net,
            data,
            domain=inst.domain,
            instance=instance,
            cfg=cfg,
            save_checkpoint=save,
            tensorboard_dir=board,
            output=record["output"],
        )
    write_parquet(result.history, out_dir / "history.parquet", run or {})
    ended = {"steps": result.steps, "capped_by_max_steps": result.capped}
    save_json(
        out_dir / "provenance.json", provenance(**common, **ended, best_val_loss=result.best_loss)
    )


def _fields(inst, parent, data_dirs, train_images, cfg, record, run) -> dict:
    """What every provenance record of the run holds."""
    return {
        "instance": inst.name,
        "domain": inst.domain,
        "seed": inst.seed,
        "source_domain": inst.source,
        "parent": parent,
        "datasets": {d: read_provenance(path)["dataset_id"] for d, path in data_dirs.items()},
        "train_images": train_images,
        "config": config_dict(cfg) if cfg is not None else None,
        "model": {k: v for k, v in record.items() if k != "output"},
        "output": record["output"],
        "backend": current(),  # the Keras backend that trained it (config backend)
        "run": run,
    }


def _initial_model(record: Mapping, inst, init_from: str | Path | None):
    """The instance's model at its start (its seed's draw, or ``init_from``'s weights) and, for a
    fine-tuning, where it started from."""
    from ..model.build import build_model
    from ..model.checkpoints import assign_weights

    net = build_model(record, inst.seed)
    if init_from is None:
        return net, None
    assign_weights(net, read_checkpoint(init_from))
    log.info("%s: starts from %s", inst.name, init_from)
    return net, {"checkpoint": str(init_from), "instance": inst.base}


def _training_data(
    instance: str, data_dirs: Mapping[str, str], domain: str, count: int | None, labelled: bool
) -> TrainingData:
    """The first ``count`` images (all when None) of ``domain``'s training split, every domain's
    validation split, and their labels when ``labelled``."""
    folder = data_dirs[domain]
    train_x = load_split(folder, "train")
    if count is not None and count > len(train_x):
        raise ValueError(
            f"{instance}: asks for {count} training images, {folder} has {len(train_x)}"
        )
    keep = slice(None) if count is None else slice(count)
    val = {d: load_split(path, "val") for d, path in data_dirs.items()}
    if not labelled:
        return TrainingData(train_x[keep], val)
    val_y = {d: load_labels(path, "val") for d, path in data_dirs.items()}
    return TrainingData(train_x[keep], val, load_labels(folder, "train")[keep], val_y)


def import_pretrained(
    instance: str,
    *,
    path: str | Path,
    data_dirs: dict[str, str],
    out_dir: str | Path,
    model: Mapping,
    run: dict | None = None,
) -> None:
    """A base instance from the user's saved model ``path`` instead of training: its weights are
    checkpoint ``final``; checkpoint ``init`` is a fresh draw of the same architecture for the
    instance's seed (the null baselines' start, not the weights the user's training started
    from). Writes what a training writes: checkpoints, an empty history and provenance.json."""
    import hashlib

    import pandas as pd

    from ..model.build import build_model, load_saved

    inst, out_dir = parse(instance), Path(out_dir)
    record = {**model, "depth": inst.depth, "seed": inst.seed}
    saved = load_saved(path)
    fresh = build_model(record, inst.seed)
    init = weights_of(fresh)
    # By position, not by name: models saved in one session get auto-names (dense, dense_1).
    shapes = [tuple(v.shape) for v in saved.weights], [tuple(v.shape) for v in fresh.weights]
    if shapes[0] != shapes[1]:
        raise ValueError(
            f"model.pretrained: {path} is not the architecture of {model['pretrained']} "
            f"(the model spec's): its variables' shapes {shapes[0]} differ from {shapes[1]}"
        )
    final = dict(zip(init, (v.numpy() for v in saved.weights), strict=True))
    val = {d: load_split(p, "val") for d, p in data_dirs.items()}
    labelled = model.get("num_classes") is not None
    data = TrainingData(
        val[inst.domain][:1],
        val,
        None,
        {d: load_labels(p, "val") for d, p in data_dirs.items()} if labelled else None,
    )
    losses = _val_losses(saved, data, model)
    common = {
        **_fields(inst, None, data_dirs, 0, None, record, run),
        "pretrained_file": str(path),
        "pretrained_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
    }
    for name, weights in (("init", init), ("final", final)):
        write_checkpoint(
            out_dir / "checkpoints" / f"{name}.npz",
            weights,
            provenance(checkpoint=name, **common, step=0, val_loss=losses),
        )
    columns = ["step", "phase", "learning_rate", "train_loss", *(f"val_loss_{d}" for d in val)]
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})  # no training
    write_parquet(empty, out_dir / "history.parquet", run or {})
    save_json(
        out_dir / "provenance.json",
        provenance(**common, steps=0, capped_by_max_steps=False, best_val_loss=losses[inst.domain]),
    )
    log.info("%s: imported from %s; validation loss %s", instance, path, losses)


def _val_losses(net, data: TrainingData, model: Mapping) -> dict[str, float]:
    """The mean validation loss of ``net`` on every domain, as training scores it."""
    from .tasks import scores

    task = "classify" if model.get("num_classes") is not None else "reconstruct"
    return {
        d: float(
            scores(net, x, data.val_y.get(d), task=task, output=model["output"])["loss"].mean()
        )
        for d, x in data.val.items()
    }
