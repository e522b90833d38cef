# Stage 3b: how well every trained instance does on every test set, and how far training moved
# each layer's kernel.


rule evaluate_test_loss:
    input:
        checkpoints=expand("results/models/{i}/checkpoints/final.npz", i=INSTANCES),
        records=expand("results/models/{i}/checkpoints/final.json", i=INSTANCES),
        tests=expand("results/data/{d}/test.npy", d=DOMAINS),
        train_splits=expand("results/data/{d}/train.npy", d=DOMAINS),
        datasets=DATASET_JSONS,
        spec=spec_file(1),
        architecture=ARCHITECTURE,
        labels=label_files(("train", "test")),
    output:
        losses="results/tables/test_loss.parquet",
        accuracy="results/tables/test_accuracy.csv",
        provenance="results/tables/test_accuracy.provenance.json",
    log:
        "logs/evaluate_test_loss/test_loss.log",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 2
    params:
        code=code_of("../scripts/evaluate_test_loss.py"),
        instances=INSTANCES,
        domains=DOMAINS,
    script:
        "../scripts/evaluate_test_loss.py"


rule measure_weight_change:
    input:
        init=expand("results/models/{i}/checkpoints/init.npz", i=INSTANCES),
        final=expand("results/models/{i}/checkpoints/final.npz", i=INSTANCES),
        records=expand(
            "results/models/{i}/checkpoints/{c}.json", i=INSTANCES, c=[INIT, FINAL]
        ),
        datasets=DATASET_JSONS,
        specs=specs(),
    output:
        table="results/tables/weight_change.csv",
        provenance="results/tables/weight_change.provenance.json",
    log:
        "logs/measure_weight_change/weight_change.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/measure_weight_change.py"),
        instances=INSTANCES,
    script:
        "../scripts/measure_weight_change.py"
