"""One module per workflow stage: activations, Gram files, HSIC shards and the CKA table,
intervals, evaluation, invariances."""
