# Stage 2: the model, built once per depth and described: its layer table, the layers recorded,
# and the SHA-256 of the builder's source. Every training depends on it, so editing a user's
# model makes exactly its trainings (and what depends on them) stale.


rule model_spec:
    input:
        unpack(model_spec_inputs),
    output:
        spec="results/model_spec/d{depth}.json",
        table="results/model_spec/d{depth}.csv",
    log:
        "logs/model_spec/d{depth}.log",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        model=PLAN.model_config,
        depth=lambda w: int(w.depth),
        input_shape=PLAN.input_shape,
        task=PLAN.task,
        seed=PLAN.seeds[0],
        builder_sha256=builder_sha256,
    script:
        "../scripts/model_spec.py"
