"""Config checks of the model and the figures (the rest: :mod:`.config`). Each returns the
problems found as sentences naming the key, the value and what is allowed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..model.builder import BuilderError, builder_source
from ..model.kornblith_cnn import MIN_SIDE as KORNBLITH_MIN_SIDE
from ..model.tied_layers import check_input_shape, layers

PAGE = (128, 320)  # a synth page (height, width): the largest image it fills
# The built-in classifiers and the smallest image side each takes (All-CNN-C's 12 leaves a
# margin over the 9 its blocks need; kornblith_cnn.MIN_SIDE is that 9).
CLASSIFIERS = {"all_cnn_c": 12, "kornblith_cnn": KORNBLITH_MIN_SIDE}


def model_problems(config: Mapping) -> list[str]:
    """The built-in autoencoder's image, layers and task; depths; deep_seeds."""
    m, image, problems = config["model"], config["image"], []
    shape = (image["height"], image["width"], image["channels"])
    if not m["builder"] and not m["pretrained"] and m["architecture"] in CLASSIFIERS:
        problems += _classifier_problems(config, shape)
    elif not m["builder"] and not m["pretrained"]:
        try:
            check_input_shape(shape, "image")
        except ValueError as err:
            problems.append(str(err))
        if config["task"] == "classify":
            problems.append(
                "task is classify, but the tied autoencoder reconstructs images: "
                "give your classifier as model.builder"
            )
        if m["layers"] != "auto" and m["depths"] != [1]:
            problems.append(
                f"model.layers = {m['layers']}: with model.depths {m['depths']} the layers "
                "differ by depth, so record them all (layers: auto)"
            )
        elif m["layers"] != "auto":
            unknown = [n for n in m["layers"] if n not in layers(1)]
            if unknown:
                problems.append(
                    f"model.layers: no layer {unknown} in the tied autoencoder; its layers "
                    f"are {list(layers(1))}"
                )
    elif m["depths"] != [1]:
        whose = "saved models have" if m["pretrained"] else "a builder's model has"
        problems.append(
            f"model.depths = {m['depths']}: {whose} one depth, [1] (depths are the built-in "
            "architectures')"
        )
    if 1 not in m["depths"]:
        problems.append(
            f"model.depths = {m['depths']}: depth 1 is always trained (the deeper "
            "models are compared with it)"
        )
    stray = [s for s in (m["deep_seeds"] or []) if s not in config["seeds"]]
    if stray:
        problems.append(f"model.deep_seeds {stray}: not among seeds {config['seeds']}")
    synth = [d for d, e in config["domains"].items() if e["source"] == "synth"]
    if synth and (image["height"] > PAGE[0] or image["width"] > PAGE[1]):
        problems.append(
            f"image {image['width']} x {image['height']}: domains {synth} render "
            f"synth pages of {PAGE[1]} x {PAGE[0]}, which cannot fill it"
        )
    return problems


def _classifier_problems(config: Mapping, shape: tuple[int, int, int]) -> list[str]:
    """A built-in classifier's task, image size and depths."""
    m, problems = config["model"], []
    arch, side = m["architecture"], CLASSIFIERS[m["architecture"]]
    if config["task"] != "classify":
        problems.append(
            f"model.architecture is {arch}, a classifier, but task is {config['task']!r}: "
            "set task: classify (and give domains with class labels)"
        )
    if min(shape[:2]) < side:
        problems.append(
            f"image: {shape[0]} x {shape[1]} is too small for {arch} (two stride-2 blocks "
            f"and a 3x3 VALID convolution need at least {side} x {side})"
        )
    if arch == "kornblith_cnn" and m["depths"] != [1]:
        problems.append(
            f"model.depths = {m['depths']}: kornblith_cnn (Kornblith et al.'s Table 2 CNN) has "
            "one depth, [1]; all_cnn_c is the built-in classifier with depths"
        )
    elif m["layers"] != "auto" and m["depths"] != [1]:
        problems.append(
            f"model.layers = {m['layers']}: with model.depths {m['depths']} the layers "
            "differ by depth, so record them all (layers: auto)"
        )
    return problems


def builder_problems(config: Mapping) -> list[str]:
    """A builder whose module or file cannot be found (what it returns is checked by the
    model_spec job, which builds it)."""
    builder = config["model"]["builder"]
    if not builder:
        return []
    try:
        builder_source(builder)
    except BuilderError as err:
        return [str(err)]
    return []


def pretrained_problems(config: Mapping) -> list[str]:
    """model.pretrained: a template naming {domain} and {seed} whose every file exists."""
    template = config["model"]["pretrained"]
    if not template:
        return []
    if "{domain}" not in template or "{seed}" not in template:
        return [f"model.pretrained is {template!r}; it must name {{domain}} and {{seed}}, e.g. "
                "'models/{domain}-{seed}.keras'"]  # fmt: skip
    paths = [template.format(domain=d, seed=s) for d in config["domains"] for s in config["seeds"]]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        return [f"model.pretrained {template!r}: no file {missing[:6]} (relative to the working "
                f"directory {os.getcwd()}); one saved Keras model per domain and seed"]  # fmt: skip
    return []


def figure_problems(config: Mapping) -> list[str]:
    """figures.filter_instances must be base instances of the study."""
    chosen = config["figures"]["filter_instances"] or []
    base = [f"{d}-{s}" for d in config["domains"] for s in config["seeds"]]
    return [
        f"figures.filter_instances: {name!r} is not a base instance of domains "
        f"{list(config['domains'])} and seeds {config['seeds']} (one of {base})"
        for name in chosen
        if name not in base
    ]
