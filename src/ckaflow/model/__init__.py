"""The model: the built-in tied autoencoder, the user's builder, the layers recorded, the model
spec, checkpoints."""
