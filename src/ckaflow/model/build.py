"""Build the configured model for an instance, describe it, and rebuild one from a checkpoint.

:func:`build_model` is the one place a model is made: a built-in architecture (the tied
autoencoder, seeded by its own initialisers; All-CNN-C and Kornblith et al.'s Table 2 CNN, Keras
seeded first), a saved model's, or the user's builder (Keras seeded first). :func:`make_spec`
builds it once to write its layer table; :func:`load_model` rebuilds a checkpoint's model from
the record the checkpoint carries and loads its weights.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

from ..io import code_version, package_versions, read_json
from .builder import BuilderError, builder_source, call_builder, source_sha256
from .checkpoints import read_checkpoint
from .layers import layer_rows, select_layers
from .spec import ModelSpec

log = logging.getLogger(__name__)


def model_record(model_config: Mapping, *, depth: int, input_shape, num_classes) -> dict:
    """What rebuilds a model (stored in every checkpoint's provenance): architecture (and its
    width) or builder, depth, input shape and classes; the seed is added per instance."""
    return {
        "architecture": model_config.get("architecture"),
        "width": model_config.get("width"),
        "builder": model_config.get("builder"),
        "pretrained": model_config.get("pretrained"),
        "depth": int(depth),
        "input_shape": [int(s) for s in input_shape],
        "num_classes": num_classes,
    }


def _builtin_classifier(architecture: str | None):
    """The function that builds a built-in classifier with a width (All-CNN-C, Kornblith et
    al.'s CNN), imported only when asked for; None for any other architecture."""
    if architecture == "all_cnn_c":
        from .all_cnn_c import all_cnn_c

        return all_cnn_c
    if architecture == "kornblith_cnn":
        from .kornblith_cnn import kornblith_cnn

        return kornblith_cnn
    return None


def build_model(record: Mapping, seed: int):
    """A fresh model of ``record`` (:func:`model_record`) with the initial weights of ``seed``
    (a saved model's architecture, ``pretrained``, freshly initialised too)."""
    if record.get("pretrained"):
        import keras

        saved = load_saved(record["pretrained"])
        keras.utils.set_random_seed(int(seed))
        return keras.models.clone_model(saved)
    if record.get("builder"):
        return call_builder(
            record["builder"],
            seed=seed,
            input_shape=tuple(record["input_shape"]),
            num_classes=record.get("num_classes"),
        )
    classifier = _builtin_classifier(record.get("architecture"))
    if classifier is not None:
        return classifier(
            seed,
            depth=record["depth"],
            width=record.get("width") or 1.0,
            input_shape=tuple(record["input_shape"]),
            num_classes=record.get("num_classes"),
        )
    if record.get("architecture") == "tied_autoencoder":
        from .tied_autoencoder import TiedAutoencoder

        return TiedAutoencoder(
            seed, depth=record["depth"], input_shape=tuple(record["input_shape"])
        )
    raise BuilderError(f"model: unknown architecture {record.get('architecture')!r}")


def adjacent_convolutions(model_config: Mapping, depth: int) -> list[tuple[str, str, bool]]:
    """A built-in model's consecutive convolutions at ``depth`` (first, second, within one
    stage), what the block-structure finding compares; none for a builder's or a saved model
    (one depth)."""
    if model_config.get("builder") or model_config.get("pretrained"):
        return []
    if model_config.get("architecture") == "all_cnn_c":
        from .all_cnn_c import adjacent_convolutions as pairs

        return pairs(depth, model_config.get("width", 1.0))
    if model_config.get("architecture") == "kornblith_cnn":  # one depth
        from .kornblith_cnn import adjacent_convolutions as pairs

        return pairs(model_config.get("width", 1.0))
    from .tied_layers import adjacent_convolutions as pairs

    return pairs(depth)


def convolution_chains(pairs: list[tuple[str, str, bool]]) -> list[list[str]]:
    """The runs of consecutive convolutions that ``pairs`` (:func:`adjacent_convolutions`)
    link, in network order: one per side of the tied autoencoder's bottleneck, one for
    All-CNN-C and for Kornblith et al.'s CNN."""
    chains: list[list[str]] = []
    for first, second, _ in pairs:
        if chains and chains[-1][-1] == first:
            chains[-1].append(second)
        else:
            chains.append([first, second])
    return chains


def load_saved(path: str | Path):
    """A saved Keras model (``.keras``), without its optimizer; ``BuilderError`` naming the
    file when it cannot be read."""
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001  Keras raises many kinds for a bad file
        raise BuilderError(
            f"model.pretrained: {path} is not a saved Keras model ({type(err).__name__}: {err})"
        ) from err


def make_spec(
    model_config: Mapping, *, depth: int, input_shape, num_classes, task: str, seed: int = 0
) -> ModelSpec:
    """Build the model once (``seed``: its layers do not depend on it) and describe it: its
    layers, its output, and the builder's source hash; no layer is recorded yet
    (:func:`with_recorded`). Errors name the config key."""
    record = model_record(
        model_config, depth=depth, input_shape=input_shape, num_classes=num_classes
    )
    model = build_model(record, seed)
    rows = layer_rows(model)
    output = check_output(model, input_shape, num_classes, task)
    builder = model_config.get("builder")
    return ModelSpec(
        depth=int(depth),
        input_shape=tuple(int(s) for s in input_shape),
        num_classes=num_classes,
        task=task,
        output=output,
        layers=tuple(rows),
        recorded=(),
        architecture=model_config.get("architecture"),
        width=model_config.get("width"),
        builder=builder,
        builder_file=str(builder_source(builder)) if builder else None,
        builder_sha256=source_sha256(builder) if builder else None,
        pretrained=model_config.get("pretrained"),
        provenance={"code": code_version(), "packages": package_versions()},
    )


def with_recorded(spec: ModelSpec, layers, where: str = "model.layers") -> ModelSpec:
    """``spec`` with the layers ``layers`` selects (``"auto"`` or names) recorded; they must
    include a convolution (the filter figures and claims read the first one)."""
    recorded = select_layers(spec.layers, layers, where)
    chosen = dataclasses.replace(spec, recorded=tuple(recorded))
    if not chosen.conv_layers:
        raise ValueError(
            f"{where}: the recorded layers {recorded} hold no convolution; record at least one "
            "(the filter figures and the claims about the first convolution read it)"
        )
    return chosen


def check_output(model, input_shape, num_classes, task: str) -> str:
    """What the model's output is for ``task``: "image" (same shape as its input: denoise,
    reconstruct), "logits" or "probabilities" (num_classes scores: classify); ``BuilderError``
    when the output does not fit the task."""
    import keras

    if hasattr(model, "layer_outputs"):  # a built-in autoencoder: images of its input's shape
        if task == "classify":
            raise BuilderError(
                "model: the tied autoencoder reconstructs images; task classify "
                "needs a classifier (model.builder)"
            )
        return "image"
    given = tuple(model.input_shape[1:])
    if given != tuple(input_shape):
        raise BuilderError(
            f"model: it takes inputs of shape {given}, but the config's image is "
            f"{tuple(input_shape)} (image.height, width, channels)"
        )
    shape = tuple(model.output_shape[1:])
    if task == "classify":
        if shape != (num_classes,):
            raise BuilderError(
                f"model: task is classify with {num_classes} classes, so the model must output "
                f"(batch, {num_classes}) class scores; it outputs (batch, "
                f"{', '.join(map(str, shape))})"
            )
        last = model.layers[-1]
        soft = getattr(last, "activation", None) is keras.activations.softmax
        return "probabilities" if soft or type(last).__name__ == "Softmax" else "logits"
    if shape != tuple(input_shape):
        raise BuilderError(
            f"model: task is {task}, so the model must output images of its input's shape "
            f"{tuple(input_shape)}; it outputs {shape}"
        )
    return "image"


def load_model(checkpoint: str | Path):
    """The model of ``checkpoint`` (.npz) with its weights: rebuilt from the record its
    ``.json`` keeps (:func:`model_record` and the seed), the weights checked and loaded."""
    from .checkpoints import assign_weights

    checkpoint = Path(checkpoint)
    prov = read_json(checkpoint.with_suffix(".json"), "checkpoint record")
    record = prov["model"]
    model = build_model(record, record["seed"])
    assign_weights(model, read_checkpoint(checkpoint))
    return model
