"""All-CNN-C (Springenberg et al. 2015) with batch normalisation, the blog study's classifier.

At depth 1, width 1 (Kornblith et al. 2019 train it on CIFAR-10), nine Conv-BatchNorm-ReLU
blocks, strided convolutions instead of max-pooling, no dense layer:

    conv1  3x3  96          conv4  3x3 192          conv7  3x3 192, VALID
    conv2  3x3  96          conv5  3x3 192          conv8  1x1 192
    conv3  3x3  96, stride 2  conv6  3x3 192, stride 2  conv9  1x1 classes
    pool   global average -> (classes,) logits

Each ``convK`` is followed by ``bnK`` (batch normalisation) and ``reluK``. At depth D each of the
first eight blocks is followed by D - 1 copies of itself at stride 1 and SAME padding ("depth 2
almost doubles the number of blocks": 9, 17, 25); the blocks are numbered in network order.
``width`` multiplies every block's filters but the last (96 -> round(96 w)). The recorded layers
(``model.layers: auto``) are every convolution and every batch normalisation: 18 at depth 1.
"""

from __future__ import annotations

from dataclasses import dataclass

# (filters, kernel, stride, padding) of the nine blocks at depth 1, width 1; the last block's
# filters are the number of classes.
BLOCKS = (
    (96, 3, 1, "same"),
    (96, 3, 1, "same"),
    (96, 3, 2, "same"),
    (192, 3, 1, "same"),
    (192, 3, 1, "same"),
    (192, 3, 2, "same"),
    (192, 3, 1, "valid"),
    (192, 1, 1, "same"),
)
RECORDED_KINDS = ("conv", "norm")  # what model.layers: auto records of this model
MAX_DEPTH = 3


@dataclass(frozen=True)
class Block:
    """One Conv-BatchNorm-ReLU block: its number (1 = first), filters, kernel, stride, padding
    and stage (0, 1, 2: the resolution of its output; a stride-2 block starts a stage)."""

    number: int
    filters: int
    kernel: int
    stride: int
    padding: str
    stage: int


def blocks(depth: int = 1, width: float = 1.0, classes: int = 10) -> list[Block]:
    """The blocks of the model at ``depth`` and ``width``, in network order."""
    _check(depth, width, classes)
    out, stage = [], 0
    for filters, kernel, stride, padding in BLOCKS:
        f = max(1, round(filters * width))
        for s, p in [(stride, padding)] + [(1, "same")] * (depth - 1):
            stage += s == 2
            out.append(Block(len(out) + 1, f, kernel, s, p, stage))
    out.append(Block(len(out) + 1, classes, 1, 1, "same", stage))
    return out


def adjacent_convolutions(depth: int = 1, width: float = 1.0) -> list[tuple[str, str, bool]]:
    """Consecutive convolutions (first, second, within): ``within`` when both outputs are at
    one resolution (one stage). The block-structure finding compares the pairs within a stage
    with those across a stage boundary."""
    bs = blocks(depth, width)
    return [
        (f"conv{a.number}", f"conv{b.number}", a.stage == b.stage)
        for a, b in zip(bs, bs[1:], strict=False)
    ]


def all_cnn_c(seed: int, *, depth: int, width: float, input_shape, num_classes):
    """The model, its initial weights drawn from ``seed``: a ``keras.Model`` whose output is
    the logits (n, num_classes)."""
    import keras

    if not num_classes:
        raise ValueError("all_cnn_c is a classifier: task must be classify (num_classes is None)")
    keras.utils.set_random_seed(int(seed))
    layers = keras.layers
    inputs = keras.Input(tuple(input_shape), name="image")
    h = inputs
    for b in blocks(depth, width, num_classes):
        h = layers.Conv2D(b.filters, b.kernel, strides=b.stride, padding=b.padding,
                          use_bias=False, kernel_initializer="he_normal",
                          name=f"conv{b.number}")(h)  # fmt: skip
        h = layers.BatchNormalization(name=f"bn{b.number}")(h)
        h = layers.ReLU(name=f"relu{b.number}")(h)
    logits = layers.GlobalAveragePooling2D(name="pool")(h)
    model = keras.Model(inputs, logits, name=f"all_cnn_c_d{depth}")
    model.recorded_kinds = RECORDED_KINDS
    return model


def _check(depth: int, width: float, classes: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"all_cnn_c: depth {depth}; expected 1 to {MAX_DEPTH}")
    if not width > 0:
        raise ValueError(f"all_cnn_c: width {width}; expected a positive multiplier")
    if classes < 2:
        raise ValueError(f"all_cnn_c: {classes} classes; a classifier needs at least 2")
