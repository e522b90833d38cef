"""A small Keras classifier of your own: functional, two convolutions with batch normalisation,
a dense readout. ckaflow calls ``build`` after seeding Keras with the instance's seed."""

import keras


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv_a")(inputs)
    x = keras.layers.BatchNormalization(name="bn_a")(x)
    x = keras.layers.Activation("relu", name="relu_a")(x)
    x = keras.layers.MaxPooling2D(name="pool_a")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", name="conv_b")(x)
    x = keras.layers.BatchNormalization(name="bn_b")(x)
    x = keras.layers.Activation("relu", name="relu_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="small")


def not_a_model(input_shape, num_classes):
    """A builder that forgets to return the model."""
    build(input_shape, num_classes)
