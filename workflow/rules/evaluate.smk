# Stage 3b: how well every trained instance does on every test set, and how far training moved
# each layer's kernel.


rule evaluate_test_loss:
    input:
        checkpoints=final_weights(INSTANCES),
        records=final_weights(INSTANCES, "json"),
        tests=tests(),
        train_splits=[paths.split(d, "train") for d in DOMAINS],
        datasets=DATASET_JSONS,
        spec=paths.model_spec(1),
        architecture=ARCHITECTURE,
        labels=label_files(("train", "test")),
    output:
        losses=paths.table("test_loss", "parquet"),
        accuracy=paths.table("test_accuracy"),
        provenance=paths.table("test_accuracy", "provenance.json"),
    log:
        "logs/evaluate_test_loss/test_loss.log",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 2
    params:
        code=code_of("../scripts/evaluate_test_loss.py"),
        backend=BACKEND,
        instances=INSTANCES,
        domains=DOMAINS,
    script:
        "../scripts/evaluate_test_loss.py"


rule measure_weight_change:
    input:
        init=[paths.checkpoint(i, INIT) for i in INSTANCES],
        final=final_weights(INSTANCES),
        records=[
            paths.checkpoint(i, c, "json") for i in INSTANCES for c in [INIT, FINAL]
        ],
        datasets=DATASET_JSONS,
        specs=specs(),
    output:
        table=paths.table("weight_change"),
        provenance=paths.table("weight_change", "provenance.json"),
    log:
        "logs/measure_weight_change/weight_change.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/measure_weight_change.py"),
        instances=INSTANCES,
    script:
        "../scripts/measure_weight_change.py"
