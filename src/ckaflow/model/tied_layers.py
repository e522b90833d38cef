"""The tied autoencoder's layer scheme: names, places and output shapes, without TensorFlow.

A model of depth D has, per encoder stage s (1 to 3), D convolutions and a 2x2 max pool:
``conv{s}``/``pool{s}`` at depth 1 and ``conv{s}a``, ``conv{s}b``, ... deeper; the decoder's
transposed convolutions mirror them (``deconv3``, or ``deconv3b``, ``deconv3a``, ...), then
``output``. These names are the keys of every activation and CKA table of the thesis' study, in
network order; the Keras model (:mod:`.tied_autoencoder`) is built to exactly these shapes and a
test holds it to them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

from ..similarity import MODEL_GROUP

DEPTHS = (1, 2, 3)  # convolutions per stage: 1 is the thesis' model
STAGES = (1, 2, 3)  # the encoder's resolutions, each ending in a 2x2 max pool
OUTPUT = "output"
FILTERS = 16
KERNEL_SIZES = {1: 7, 2: 5, 3: 3}  # per stage, at every depth


def check_depth(depth: int) -> int:
    if isinstance(depth, bool) or depth not in DEPTHS:
        raise ValueError(f"unknown tied autoencoder depth {depth!r}; expected one of {DEPTHS}")
    return depth


def check_input_shape(shape, where: str = "image") -> tuple[int, int, int]:
    """The tied autoencoder takes greyscale images whose sides are multiples of 8 (three 2x2
    pools, undone exactly by the decoder)."""
    h, w, c = shape
    if c != 1 or h % 8 or w % 8 or min(h, w) < 8:
        raise ValueError(
            f"{where}: the tied autoencoder takes greyscale images (channels 1) whose height and "
            f"width are multiples of 8; the config gives {h} x {w} x {c}"
        )
    return (int(h), int(w), int(c))


@dataclass(frozen=True)
class Layer:
    """Where a named layer sits: ``part`` ``encoder`` (a convolution), ``pool``, ``decoder``
    (a transposed convolution) or ``output``; its ``stage``; and its position ``index`` within the
    stage's convolutions (0 for ``a``; 0 at depth 1)."""

    part: str
    stage: int = 0
    index: int = 0
    depth: int = 1

    @property
    def name(self) -> str:
        if self.part == OUTPUT:
            return OUTPUT
        if self.part == "pool":
            return f"pool{self.stage}"
        stem = "conv" if self.part == "encoder" else "deconv"
        return f"{stem}{self.stage}" + ("" if self.depth == 1 else "abc"[self.index])

    @property
    def convolution(self) -> bool:
        """An encoder convolution or the decoder's transpose of one (not a pool or the output)."""
        return self.part in ("encoder", "decoder")

    @property
    def order(self) -> tuple[int, int, int, int]:
        """Its place in network order, comparable across depths (:func:`layer_sort_key`)."""
        return {
            "encoder": (0, self.stage, 0, self.index),
            "pool": (0, self.stage, 1, 0),
            "decoder": (1, -self.stage, 0, -self.index),
        }.get(self.part, (2, 0, 0, 0))


def layer_specs(depth: int) -> tuple[Layer, ...]:
    """Every layer of a model of ``depth``, in network order."""
    check_depth(depth)
    encoder = [
        spec
        for s in STAGES
        for spec in (*(Layer("encoder", s, i, depth) for i in range(depth)), Layer("pool", s))
    ]
    decoder = [Layer("decoder", s, i, depth) for s in STAGES[::-1] for i in range(depth)[::-1]]
    return (*encoder, *decoder, Layer(OUTPUT))


def layers(depth: int = 1) -> tuple[str, ...]:
    """The layer names of a model of ``depth``, in network order: ``conv1``, ``pool1``, ... at
    depth 1; ``conv1a``, ``conv1b``, ``pool1``, ..., ``deconv1b``, ``deconv1a``, ``output`` at 2."""
    return tuple(spec.name for spec in layer_specs(depth))


def conv_layers(depth: int = 1) -> tuple[str, ...]:
    """The encoder's convolutions of a model of ``depth``, in network order."""
    return tuple(s.name for s in layer_specs(depth) if s.part == "encoder")


def parse_layer(name: str, depth: int = 1) -> Layer:
    """The :class:`Layer` called ``name`` in a model of ``depth``."""
    for spec in layer_specs(depth):
        if spec.name == name:
            return spec
    raise ValueError(f"no layer {name!r} in a model of depth {depth}; it has {layers(depth)}")


def layer_groups(depth: int = 1) -> tuple[str, ...]:
    """The groups of the layer-level CKA rows of a model: every layer, then the whole model."""
    return (*layers(depth), MODEL_GROUP)


def layer_sort_key(name: str) -> tuple:
    """Puts layer names of any depth (and ``model``) in network order: a stage's convolutions,
    its pool, ..., the decoder's stages back up, ``output``, ``model``."""
    if name == MODEL_GROUP:
        return (3, 0, 0, 0)
    spec = _every_layer().get(name)
    if spec is None:
        raise ValueError(f"bad layer name {name!r}")
    return spec.order


@cache
def _every_layer() -> dict[str, Layer]:
    """Each layer name of every depth, with its :class:`Layer`."""
    return {spec.name: spec for d in DEPTHS for spec in layer_specs(d)}


@cache
def layer_shapes(
    depth: int = 1, height: int = 64, width: int = 80
) -> dict[str, tuple[int, int, int]]:
    """name -> output shape per image (height, width, channels), in network order, for greyscale
    input images of ``height`` x ``width`` (each a multiple of 8: three 2x2 pools).

    A stage's convolutions keep the resolution its pool then halves; each decoder stage's first
    transposed convolution doubles it back."""
    check_input_shape((height, width, 1))
    shapes = {}
    for spec in layer_specs(depth):
        if spec.part == OUTPUT:
            shapes[spec.name] = (height, width, 1)
        else:
            scale = 2 ** (spec.stage if spec.part == "pool" else spec.stage - 1)
            shapes[spec.name] = (height // scale, width // scale, FILTERS)
    return shapes


def layer_kind(spec: Layer) -> str:
    """The kind of a layer as the layer table states it (:mod:`ckaflow.model.layers`)."""
    return {"encoder": "conv", "decoder": "deconv", "pool": "pool"}.get(spec.part, OUTPUT)


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
LAYERS = layers(1)
LAYER_SHAPES: dict[str, tuple[int, int, int]] = layer_shapes(1)
# The groups of the layer-level CKA rows, in network order: every layer, then the whole model.
LAYER_GROUPS = layer_groups(1)
CONV_LAYERS = conv_layers(1)
