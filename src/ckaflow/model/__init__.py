"""The model: the built-in ones (the tied autoencoder, All-CNN-C, Kornblith et al.'s Table 2
CNN), the user's builder, the layers recorded, the model spec, checkpoints."""
