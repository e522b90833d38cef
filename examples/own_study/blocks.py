"""The building block of ``model.py``, kept in a module of its own as a user's code often is:
ckaflow hashes the builder and the modules it imports from your folders, so editing this file
makes the model and its trainings stale too."""

import keras


def conv_block(x, filters: int, name: str):
    """A 3 x 3 convolution, batch normalisation and a ReLU, named ``conv_``, ``bn_``, ``relu_``
    + ``name``."""
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"conv_{name}")(x)
    x = keras.layers.BatchNormalization(name=f"bn_{name}")(x)
    return keras.layers.Activation("relu", name=f"relu_{name}")(x)
