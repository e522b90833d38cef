"""The scale study's model: four 64-channel convolutions (two at the image's size, two at half
of it), each followed by batch normalisation and a ReLU, two poolings, global average pooling
and a dense readout; ``config.yaml`` records eight of its layers. ckaflow builds it with this
function for checkpoint ``init``; ``make_study.py`` trains and saves the base instances that
``model.pretrained`` names."""

import keras


def build(input_shape, num_classes, width=64):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for block in (1, 2):
        for i in (1, 2):
            k = 2 * block + i - 2
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv_{k}")(x)
            x = keras.layers.BatchNormalization(name=f"bn_{k}")(x)
            x = keras.layers.Activation("relu", name=f"relu_{k}")(x)
        x = keras.layers.MaxPooling2D(name=f"pool_{block}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="scale")
