"""The 10-layer CNN of Kornblith et al. 2019 (Table 2, Appendix Table E.1), trained on CIFAR-10
from 10 seeds for the layer-identification test.

Eight Conv-BatchNorm-ReLU blocks, strided convolutions instead of pooling, a global average and
a dense readout; the sizes at a 32 x 32 x 3 input (width 1):

    conv1  3x3 16             32 x 32 x 16      conv5  3x3 32             16 x 16 x 32
    conv2  3x3 16             32 x 32 x 16      conv6  3x3 64, stride 2    8 x  8 x 64
    conv3  3x3 32, stride 2   16 x 16 x 32      conv7  3x3 64, VALID       6 x  6 x 64
    conv4  3x3 32             16 x 16 x 32      conv8  1x1 64              6 x  6 x 64
    pool   global average     64
    logits dense              classes

Each ``convK`` is followed by ``bnK`` (batch normalisation) and ``reluK``; the convolutions have
no bias (the batch norm's offset is one), the logits do. The table follows a description of
Table E.1; the paper's own text could not be read here to check it against, nor its training
schedule (``config/kornblith_table2.yaml`` says what it takes instead).

One depth: Table 2 compares ten networks of one architecture, so depths other than 1 are
refused (All-CNN-C, :mod:`.all_cnn_c`, is the model with depths). ``width`` multiplies every
convolution's filters (16 -> round(16 w)). The recorded layers (``model.layers: auto``) are
every convolution, every batch normalisation and the pool: 17. Table 2's nine compared layers
(logits excluded, chance 1/9) are the eight convolutional layers and the pool, so the pool is
recorded although All-CNN-C's is not; the preset names those nine (``conv1`` .. ``conv8``,
``pool``), since a batch norm is nearly its own convolution and the layer-identification test
would have to tell the two apart.
"""

from __future__ import annotations

from .all_cnn_c import Block

# (filters, kernel, stride, padding) of the eight convolutions at width 1.
BLOCKS = (
    (16, 3, 1, "same"),
    (16, 3, 1, "same"),
    (32, 3, 2, "same"),
    (32, 3, 1, "same"),
    (32, 3, 1, "same"),
    (64, 3, 2, "same"),
    (64, 3, 1, "valid"),
    (64, 1, 1, "same"),
)
RECORDED_KINDS = ("conv", "norm", "pool")  # what model.layers: auto records of this model
# The smallest image side: two SAME stride-2 convolutions make 9 pixels 3, which the 3x3 VALID
# convolution still fits (1 x 1); 8 would leave it 2.
MIN_SIDE = 9


def blocks(width: float = 1.0) -> list[Block]:
    """The eight Conv-BatchNorm-ReLU blocks at ``width``, in network order (``stage``: the
    resolution of a block's output; a stride-2 block starts a stage)."""
    if not width > 0:
        raise ValueError(f"kornblith_cnn: width {width}; expected a positive multiplier")
    out, stage = [], 0
    for number, (filters, kernel, stride, padding) in enumerate(BLOCKS, start=1):
        stage += stride == 2
        out.append(Block(number, max(1, round(filters * width)), kernel, stride, padding, stage))
    return out


def adjacent_convolutions(width: float = 1.0) -> list[tuple[str, str, bool]]:
    """Consecutive convolutions (first, second, within one stage), as
    :func:`.all_cnn_c.adjacent_convolutions` gives them: two pairs cross a stage boundary."""
    bs = blocks(width)
    return [
        (f"conv{a.number}", f"conv{b.number}", a.stage == b.stage)
        for a, b in zip(bs, bs[1:], strict=False)
    ]


def kornblith_cnn(seed: int, *, depth: int = 1, width: float = 1.0, input_shape, num_classes):
    """The model, its initial weights drawn from ``seed`` (Keras seeded first, as All-CNN-C is):
    a ``keras.Model`` whose output is the logits (n, num_classes)."""
    import keras

    if not num_classes:
        raise ValueError(
            "kornblith_cnn is a classifier: task must be classify (num_classes is None)"
        )
    if num_classes < 2:
        raise ValueError(f"kornblith_cnn: {num_classes} classes; a classifier needs at least 2")
    if depth != 1:
        raise ValueError(
            f"kornblith_cnn: depth {depth}; Kornblith et al.'s Table 2 CNN has one depth "
            "(model.depths: [1])"
        )
    if min(input_shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"kornblith_cnn: input {tuple(input_shape)} is smaller than {MIN_SIDE} x {MIN_SIDE}"
        )
    keras.utils.set_random_seed(int(seed))
    layers = keras.layers
    inputs = keras.Input(tuple(input_shape), name="image")
    h = inputs
    for b in blocks(width):
        h = layers.Conv2D(b.filters, b.kernel, strides=b.stride, padding=b.padding,
                          use_bias=False, kernel_initializer="he_normal",
                          name=f"conv{b.number}")(h)  # fmt: skip
        h = layers.BatchNormalization(name=f"bn{b.number}")(h)
        h = layers.ReLU(name=f"relu{b.number}")(h)
    h = layers.GlobalAveragePooling2D(name="pool")(h)  # (n, 64)
    logits = layers.Dense(num_classes, name="logits")(h)  # (n, classes)
    model = keras.Model(inputs, logits, name="kornblith_cnn")
    model.recorded_kinds = RECORDED_KINDS
    return model
