"""The autoencoder's named layers and their output shapes, without importing TensorFlow.

These names are the keys of every activation and CKA table, in network order. The model
(:mod:`ckaflow.model`) is built to exactly these shapes and a test holds it to them.
"""

from __future__ import annotations

from .data.shapes import HEIGHT, WIDTH
from .names import MODEL_GROUP

FILTERS = 16

# name -> output shape per image (height, width, channels)
LAYER_SHAPES: dict[str, tuple[int, int, int]] = {
    "conv1": (HEIGHT, WIDTH, FILTERS),
    "pool1": (HEIGHT // 2, WIDTH // 2, FILTERS),
    "conv2": (HEIGHT // 2, WIDTH // 2, FILTERS),
    "pool2": (HEIGHT // 4, WIDTH // 4, FILTERS),
    "conv3": (HEIGHT // 4, WIDTH // 4, FILTERS),
    "pool3": (HEIGHT // 8, WIDTH // 8, FILTERS),
    "deconv3": (HEIGHT // 4, WIDTH // 4, FILTERS),
    "deconv2": (HEIGHT // 2, WIDTH // 2, FILTERS),
    "deconv1": (HEIGHT, WIDTH, FILTERS),
    "output": (HEIGHT, WIDTH, 1),
}
LAYERS = tuple(LAYER_SHAPES)
# The groups of the layer-level CKA rows, in network order: every layer, then the whole model.
LAYER_GROUPS = (*LAYERS, MODEL_GROUP)
CONV_LAYERS = ("conv1", "conv2", "conv3")
