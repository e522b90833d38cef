"""The autoencoder's named layers and their output shapes, without importing TensorFlow.

These names are the keys of every activation and CKA table, in network order. The model
(:mod:`ckaflow.model`) is built to exactly these shapes and a test holds it to them. The names
themselves, at every depth, are :mod:`ckaflow.names`'.
"""

from __future__ import annotations

import itertools
from functools import cache

from .data.shapes import HEIGHT, WIDTH
from .names import OUTPUT, conv_layers, layer_groups, layer_specs, layers

FILTERS = 16
KERNEL_SIZES = {1: 7, 2: 5, 3: 3}  # per stage, at every depth


@cache
def layer_shapes(depth: int = 1) -> dict[str, tuple[int, int, int]]:
    """name -> output shape per image (height, width, channels), in network order.

    A stage's convolutions keep the resolution its pool then halves; each decoder stage's first
    transposed convolution doubles it back."""
    shapes = {}
    for spec in layer_specs(depth):
        if spec.part == OUTPUT:
            shapes[spec.name] = (HEIGHT, WIDTH, 1)
        else:
            scale = 2 ** (spec.stage if spec.part == "pool" else spec.stage - 1)
            shapes[spec.name] = (HEIGHT // scale, WIDTH // scale, FILTERS)
    return shapes


def adjacent_convolutions(depth: int = 1) -> list[tuple[str, str, bool]]:
    """Consecutive convolutions on one side of the bottleneck (encoder, or decoder), in network
    order: (first, second, within) where ``within`` says both belong to one stage (only at depth
    2 and more: ``conv1a``, ``conv1b``). The block-structure finding compares the CKA of the
    pairs within a stage with that of the pairs across a stage boundary."""
    out = []
    for part in ("encoder", "decoder"):
        convs = [s for s in layer_specs(depth) if s.part == part]
        out += [(a.name, b.name, a.stage == b.stage) for a, b in itertools.pairwise(convs)]
    return out


# The thesis' model (depth 1): the names the thesis' figures and claims are about.
LAYER_SHAPES: dict[str, tuple[int, int, int]] = layer_shapes(1)
LAYERS = layers(1)
# The groups of the layer-level CKA rows, in network order: every layer, then the whole model.
LAYER_GROUPS = layer_groups(1)
CONV_LAYERS = conv_layers(1)

__all__ = [
    "CONV_LAYERS",
    "FILTERS",
    "KERNEL_SIZES",
    "LAYERS",
    "LAYER_GROUPS",
    "LAYER_SHAPES",
    "adjacent_convolutions",
    "conv_layers",
    "layer_groups",
    "layer_shapes",
    "layers",
]
