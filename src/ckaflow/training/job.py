"""One training job end to end: data in, checkpoints, history and provenance out.

The workflow's scripts call :func:`train_instance`; everything here takes plain values.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..data import load_split, read_provenance
from ..io import atomic_dir, save_json
from ..model.checkpoints import provenance, read_checkpoint, write_checkpoint
from ..names import parse
from ..provenance import write_parquet
from .train import TrainConfig, config_dict, train

log = logging.getLogger(__name__)


def train_instance(
    instance: str,
    *,
    data_dirs: dict[str, str],
    out_dir: str | Path,
    cfg: TrainConfig,
    init_from: str | Path | None = None,
    train_images: int | None = None,
    checkpoints: tuple[str, ...] | None = None,
    run: dict | None = None,
) -> None:
    """Train (or, with ``init_from``, fine-tune) ``instance`` and write under ``out_dir``:
    ``checkpoints/{name}.npz|.json``, ``history.parquet``, ``tensorboard/``, ``provenance.json``.

    ``data_dirs`` maps each domain to its dataset folder. ``train_images`` keeps the first that
    many training images (fine-tuning uses 800). Only the checkpoints named in ``checkpoints``
    are written (default: those of its kind, :attr:`ckaflow.names.Instance.checkpoints`).
    ``run`` (the workflow's config, seeds and dataset hashes, see
    :func:`ckaflow.provenance.run_provenance`) goes into every provenance record.
    """
    inst = parse(instance)
    out_dir = Path(out_dir)
    checkpoints = inst.checkpoints if checkpoints is None else checkpoints
    train_x = _training_images(instance, data_dirs[inst.domain], train_images)
    val = {d: load_split(path, "val") for d, path in data_dirs.items()}
    model, parent = _initial_model(inst, init_from)
    common = {
        "instance": instance,
        "domain": inst.domain,
        "seed": inst.seed,
        "source_domain": inst.source,
        "parent": parent,
        "datasets": {d: read_provenance(path)["dataset_id"] for d, path in data_dirs.items()},
        "train_images": len(train_x),
        "config": config_dict(cfg),
        "model": {"class": "TiedAutoencoder", "seed": inst.seed, "depth": inst.depth},
        "run": run,
    }

    def save(name: str, info: dict) -> None:
        if name in checkpoints:
            write_checkpoint(
                out_dir / "checkpoints" / f"{name}.npz",
                model.get_weights_dict(),
                provenance(checkpoint=name, **common, **info),
            )

    with atomic_dir(out_dir / "tensorboard") as board:
        result = train(model, train_x, val, domain=inst.domain, instance=instance, cfg=cfg,
                       save_checkpoint=save, tensorboard_dir=board)  # fmt: skip
    write_parquet(result.history, out_dir / "history.parquet", run or {})
    ended = {"steps": result.steps, "capped_by_max_steps": result.capped}
    save_json(
        out_dir / "provenance.json", provenance(**common, **ended, best_val_loss=result.best_loss)
    )


def _initial_model(inst, init_from: str | Path | None):
    """The instance's model at its start (its seed's draw, or ``init_from``'s weights) and, for a
    fine-tuning, where it started from."""
    from ..model.tied_autoencoder import TiedAutoencoder

    model = TiedAutoencoder(seed=inst.seed, depth=inst.depth)
    if init_from is None:
        return model, None
    model.set_weights_dict(read_checkpoint(init_from))
    log.info("%s: starts from %s", inst.name, init_from)
    return model, {"checkpoint": str(init_from), "instance": inst.base}


def _training_images(instance: str, folder: str, count: int | None):
    """The first ``count`` images of the training split in ``folder`` (all when None)."""
    train_x = load_split(folder, "train")
    if count is not None and count > len(train_x):
        raise ValueError(
            f"{instance}: asks for {count} training images, {folder} has {len(train_x)}"
        )
    return train_x if count is None else train_x[:count]
