"""The All-CNN-C workload of ``bench_scale.py --allcnn``: a study of ``instances`` seeds of
All-CNN-C (depth 1, the 18 recorded layers at ``width``) on one test set of n images, each
instance at init and final (2 x instances models), the default filters (the first convolution
of two filter instances, across them), the linear biased and debiased estimators.

The measured Gram job reads activations of the real shapes (conv1 at width 1: 96 x 32 x 32 per
image), written a minibatch at a time as extraction writes them; every other model's Gram file
is made from activations of the same channels at one position (a Gram file's size and groups
do not depend on the positions), so that the HSIC and interval jobs see the real study's groups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def allcnn_config(n: int, batch: int | None, width: float, instances: int) -> dict:
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "allcnn_tiny.yaml").read_text())
    config.update(
        images_per_domain=4 * n, val_fraction=0.5, test_images=n,
        domains={"cifar": {"source": "npy", "images": "cifar.npy", "labels": "labels.npy"}},
        seeds=list(range(1, instances + 1)), finetune={"enabled": False},
    )  # fmt: skip
    config["model"].update(width=width, depths=[1], deep_seeds=None)
    config["train"]["checkpoint_epochs"] = []
    config["figures"]["filter_instances"] = ["cifar-1", "cifar-2"]
    config["similarity"] = {"estimators": [{"debiased": False}, {"debiased": True}], "shards": 1,
                            "batch_size": batch}  # fmt: skip
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def allcnn_spec(width: float):
    """All-CNN-C's model spec at ``width`` (depth 1, 32 x 32 x 3, ten classes, layers auto)."""
    from ckaflow.backend import configure
    from ckaflow.model.build import make_spec, with_recorded

    configure(1)
    model = {"architecture": "all_cnn_c", "width": width, "builder": None, "pretrained": None}
    spec = make_spec(model, depth=1, input_shape=(32, 32, 3), num_classes=10, task="classify")
    return with_recorded(spec, "auto")


def shapes(spec, full: bool) -> dict[str, tuple[int, ...]]:
    """Each recorded layer's stored shape per image (channels first); one position unless
    ``full``."""
    out = {}
    for row in spec.layers:
        if row["name"] in spec.recorded:
            *space, c = row["output_shape"]
            out[row["name"]] = (c, *space) if full else (c, *[1] * len(space))
    return out


def write_activations(folder: Path, n: int, layer_shapes: dict, rng, batch: int = 250) -> None:
    """Rectified normal activations, written a minibatch at a time (as extraction does)."""
    from ckaflow.io import save_json
    from ckaflow.stages.activations import MANIFEST, _LayerFiles

    folder.mkdir(parents=True, exist_ok=True)
    with _LayerFiles(folder, n, layer_shapes) as files:
        for b0 in range(0, n, batch):
            k = min(batch, n - b0)
            for layer, shape in layer_shapes.items():
                x = rng.standard_normal((k, *shape), dtype=np.float32)
                files[layer].write(np.maximum(x + 0.2, 0, out=x))
    save_json(folder / MANIFEST, {"layers": list(layer_shapes)})


def setup_allcnn(work: Path, n: int, batch: int | None, width: float, instances: int) -> dict:
    from ckaflow.stages.grams import write_grams
    from ckaflow.study.comparisons import Comparisons, filter_scope
    from ckaflow.study.plan import Plan

    config = allcnn_config(n, batch, width, instances)
    plan = Plan.from_config(config)
    scope, spec = filter_scope(plan), allcnn_spec(width)
    measured = scope.instances[0]
    rng = np.random.default_rng(0)
    for model in plan.models:
        full = model == measured
        write_activations(work / "act" / model / "cifar", n, shapes(spec, full), rng)
        if not full:
            keep = spec.filter_layers(scope.layers_of(model))
            write_grams(work / "act", model, plan.domains, Comparisons(plan).estimators,
                        work / "grams" / f"{model}.npz", filter_layers=keep,
                        batch_size=batch)  # fmt: skip
    keep = spec.filter_layers(scope.layers_of(measured))
    write_grams(work / "act", measured, plan.domains, Comparisons(plan).estimators,
                work / "grams" / f"{measured}.npz", filter_layers=keep,
                batch_size=batch)  # fmt: skip
    return {
        "n": n, "batch": batch, "work": str(work), "domains": plan.domains, "models": plan.models,
        "estimators": [e.name for e in Comparisons(plan).estimators], "filter_model": measured,
        "filter_models": list(scope.instances), "filter_layers": keep,
        "pairs": Comparisons(plan).interval_pairs, "rows": Comparisons(plan).interval_rows,
        "interval_models": Comparisons(plan).interval_models, "config": config, "width": width,
        "units": int(sum(np.prod(s) for s in shapes(spec, True).values())),
        "filter_units": int(sum(np.prod(shapes(spec, True)[layer]) for layer in keep)),
    }  # fmt: skip


def predicted_allcnn(job: dict) -> dict[str, float]:
    from ckaflow.study.comparisons import filter_scope
    from ckaflow.study.cost import study_costs
    from ckaflow.study.plan import Plan

    config = job["config"]
    config["similarity"]["resamples"], config["similarity"]["null_permutations"] = 1000, 200
    plan = Plan.from_config(config)
    costs = study_costs(plan, filter_scope(plan), {1: allcnn_spec(job["width"])},
                        batch=job["batch"])  # fmt: skip
    return {c.stage: c.memory for c in costs}


def gram_floor_seconds(job: dict, rate: float) -> float:
    """The Gram job's GEMM floor: its products at the measured float32 rate of X X'. Each
    minibatch's X X' of every layer (b^2 d multiply-adds for d units) and of every channel of
    the layers whose filters are compared (as many again for those layers' units): a filter's
    Gram is a product the job must make, as a layer's is."""
    from ckaflow.similarity.minibatch import batch_bounds

    bounds = batch_bounds(job["n"], job["batch"])
    sizes = np.diff(bounds)
    units = job["units"] + job["filter_units"]
    return 2.0 * float(np.sum(sizes.astype(float) ** 2)) * units / rate


def products_seconds(job: dict, budget: int = 1 << 30) -> float:
    """The Gram job's products alone, at the shapes it makes them, timed in this process on
    random float32 values (no reading, centring, checks, packing or writing): for each
    minibatch, every layer's X X' a block of channels side by side at a time (blocks sized to
    the job's memory budget by :func:`ckaflow.similarity.moments.channel_blocks`),
    and every channel's of the layers whose filters are compared. What the GEMM floor counts,
    made at this machine's rate for those shapes."""
    import time

    from ckaflow.similarity.minibatch import batch_bounds
    from ckaflow.similarity.moments import channel_blocks

    sizes = np.diff(batch_bounds(job["n"], job["batch"]))
    rng, total = np.random.default_rng(0), 0.0
    for layer, (c, *space) in shapes(allcnn_spec(job["width"]), True).items():
        q = int(np.prod(space))
        for b in np.unique(sizes):
            b, count = int(b), int(np.sum(sizes == b))
            block, _ = channel_blocks(b, c, q, "float32", budget, total=True)
            x = rng.random((b, block * q), dtype=np.float32)
            start = time.perf_counter()
            for _ in range(-(-c // block)):  # the last block may be smaller: timed as full
                _ = x @ x.T
            if layer in job["filter_layers"]:
                per_channel = x[:, :q]
                for _ in range(c):
                    _ = per_channel @ per_channel.T
            total += count * (time.perf_counter() - start)
    return total
