"""Which layers of a model are recorded, and their outputs on a batch of images.

A layer's *kind* says what it is: ``conv`` (a convolution), ``deconv`` (a transposed one),
``pool``, ``norm`` (batch, layer, group normalisation), ``dense``, ``output`` (the tied
autoencoder's last layer) or ``other``. ``model.layers: auto`` records every conv, deconv, pool,
norm and dense layer in network order (the tied autoencoder: every named layer); a list records
exactly those Keras layer names, and an unknown name is an error listing the model's names.
A recorded layer with spatial outputs (n, h, w, c) has a filter group per channel; one with
(n, c) outputs (dense) is a layer group only.
"""

from __future__ import annotations

from collections.abc import Sequence

AUTO_KINDS = ("conv", "deconv", "pool", "norm", "dense")


def layer_kind(layer) -> str:
    """The kind of a Keras layer, from its class and those it derives from."""
    names = [c.__name__ for c in type(layer).__mro__]
    for kind, marks in (
        ("deconv", ("Transpose",)),
        ("conv", ("Conv",)),
        ("pool", ("Pool",)),
        ("norm", ("Normalization",)),
        ("dense", ("Dense",)),
    ):
        if any(m in n for n in names for m in marks):
            return kind
    return "other"


def layer_rows(model) -> list[dict]:
    """One row per layer of ``model`` in network order: name, type, kind, output_shape (per
    image), params and kernel (the checkpoint key of its kernel, if it has one)."""
    if hasattr(model, "layer_rows"):  # a built-in model describes its own named layers
        return model.layer_rows()
    auto = getattr(model, "recorded_kinds", AUTO_KINDS)  # a built-in model may say what it records
    _check_recordable(model)
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if _is_model(layer):
            raise ValueError(
                f"layer {layer.name!r} is itself a model: nested models cannot be recorded layer "
                "by layer; build the model with the functional API from the layers themselves"
            )
        shape = tuple(layer.output.shape[1:])
        kernel, kind = getattr(layer, "kernel", None), layer_kind(layer)
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "kind": kind,
                "output_shape": [int(s) for s in shape],
                "params": int(layer.count_params()),
                "kernel": kernel.path if kernel is not None else None,
                "auto": kind in auto,
            }
        )
    return rows


def select_layers(rows: Sequence[dict], wanted, where: str = "model.layers") -> list[str]:
    """The recorded layers: ``wanted`` ``"auto"`` (every conv, deconv, pool, norm and dense
    layer, or all of a built-in model's) or a list of names, returned in network order."""
    names = [r["name"] for r in rows]
    if wanted == "auto":
        auto = [r["name"] for r in rows if r.get("auto", r["kind"] in AUTO_KINDS)]
        if not auto:
            raise ValueError(
                f"{where} is auto, but the model has no convolution, pooling, normalisation or "
                f"dense layer; name the layers to record (the model has {names})"
            )
        return auto
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ValueError(f"{where}: no layer {unknown} in the model; its layers are {names}")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"{where} names a layer twice: {list(wanted)}")
    return [n for n in names if n in set(wanted)]


def recorder(model, names: Sequence[str]):
    """A function of a batch x (b, h, w, c) to {name: output as a NumPy array} of the layers
    ``names`` (inference mode: batch norm uses its moving statistics)."""
    import keras

    numpy = keras.ops.convert_to_numpy
    if hasattr(model, "layer_outputs"):
        return lambda x: {n: numpy(v) for n, v in model.layer_outputs(x).items() if n in names}

    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    return lambda x: dict(
        zip(names, (numpy(v) for v in _as_list(probe(x, training=False))), strict=True)
    )


def _check_recordable(model) -> None:
    """A model whose layers' outputs can be read: functional, or Sequential with its input
    given; ``ValueError`` in one line saying how to build it otherwise."""
    import keras

    kind = type(model).__name__
    if isinstance(model, keras.Sequential):
        try:
            model.inputs  # noqa: B018  raises while the model has no input
        except (AttributeError, ValueError):
            raise ValueError(
                f"the model {model.name!r} is a keras.Sequential that is not built (it has no "
                "input): its layers have no outputs to record; start it with "
                "keras.Input(shape=input_shape)"
            ) from None
        return
    if kind != "Functional":
        raise ValueError(
            f"the model {model.name!r} is a subclassed keras.Model ({kind}): its layers' outputs "
            "exist only inside call(), so they cannot be recorded; build it with the functional "
            "API (keras.Model(inputs, outputs)) or keras.Sequential"
        )


def _as_list(out) -> list:
    return list(out) if isinstance(out, list | tuple) else [out]


def _is_model(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model)
