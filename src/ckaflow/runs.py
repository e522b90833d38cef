"""One training job end to end: data in, checkpoints, history and provenance out.

The workflow's scripts call :func:`train_instance`; everything here takes plain values.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .checkpoints import provenance, read_checkpoint, write_checkpoint
from .data import load_split, read_provenance
from .io import atomic_dir, save_json
from .names import parse
from .provenance import write_parquet
from .train import CHECKPOINTS, TrainConfig, config_dict, train

log = logging.getLogger(__name__)


def train_instance(
    instance: str,
    *,
    data_dirs: dict[str, str],
    out_dir: str | Path,
    cfg: TrainConfig,
    init_from: str | Path | None = None,
    train_images: int | None = None,
    checkpoints: tuple[str, ...] = CHECKPOINTS,
    run: dict | None = None,
) -> None:
    """Train (or, with ``init_from``, fine-tune) ``instance`` and write under ``out_dir``:
    ``checkpoints/{name}.npz|.json``, ``history.parquet``, ``tensorboard/``, ``provenance.json``.

    ``data_dirs`` maps each domain to its dataset folder. ``train_images`` keeps the first that
    many training images (fine-tuning uses 800). Only the checkpoints named in ``checkpoints``
    are written. ``run`` (the workflow's config, seeds and dataset hashes, see
    :func:`ckaflow.provenance.run_provenance`) goes into every provenance record.
    """
    from .model import TiedAutoencoder

    inst = parse(instance)
    out_dir = Path(out_dir)
    train_x = load_split(data_dirs[inst.domain], "train")
    if train_images is not None:
        if train_images > len(train_x):
            raise ValueError(
                f"{instance}: asks for {train_images} training images, "
                f"{data_dirs[inst.domain]} has {len(train_x)}"
            )
        train_x = train_x[:train_images]
    val = {d: load_split(path, "val") for d, path in data_dirs.items()}
    datasets = {d: read_provenance(path)["dataset_id"] for d, path in data_dirs.items()}

    model = TiedAutoencoder(seed=inst.seed)
    parent = None
    if init_from is not None:
        model.set_weights_dict(read_checkpoint(init_from))
        parent = {"checkpoint": str(init_from), "instance": inst.base}
        log.info("%s: starts from %s", instance, init_from)
    common = dict(
        instance=instance,
        domain=inst.domain,
        seed=inst.seed,
        source_domain=inst.source,
        parent=parent,
        datasets=datasets,
        train_images=len(train_x),
        config=config_dict(cfg),
        model={"class": "TiedAutoencoder", "seed": inst.seed},
        run=run,
    )

    def save(name: str, info: dict) -> None:
        if name in checkpoints:
            write_checkpoint(
                out_dir / "checkpoints" / f"{name}.npz",
                model.get_weights_dict(),
                provenance(checkpoint=name, **common, **info),
            )

    with atomic_dir(out_dir / "tensorboard") as tensorboard:
        result = train(
            model,
            train_x,
            val,
            domain=inst.domain,
            instance=instance,
            cfg=cfg,
            save_checkpoint=save,
            tensorboard_dir=tensorboard,
        )
    write_parquet(result.history, out_dir / "history.parquet", run or {})
    save_json(
        out_dir / "provenance.json",
        provenance(
            **common,
            steps=result.steps,
            capped_by_max_steps=result.capped,
            best_val_loss=result.best_loss,
        ),
    )
