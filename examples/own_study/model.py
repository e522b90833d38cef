"""A small Keras classifier of your own: functional, two convolution blocks (``blocks.py``
beside this file: convolution, batch normalisation, ReLU), a dense readout. ckaflow calls
``build`` after seeding Keras with the instance's seed."""

import keras
from blocks import conv_block


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = conv_block(inputs, 8, "a")
    x = keras.layers.MaxPooling2D(name="pool_a")(x)
    x = conv_block(x, 16, "b")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="small")


def not_a_model(input_shape, num_classes):
    """A builder that forgets to return the model."""
    build(input_shape, num_classes)
