# Stage 2: the 8 base instances from scratch, then the 8 fine-tuned ones from their bases.
# One thread per job: on a CPU two single-threaded trainings beat one with two threads
# (measured 47 vs 74 ms per batch); a profile can raise it with --set-threads.


rule train_base:
    input:
        unpack(training_data),
    output:
        checkpoints=expand(
            "results/models/{{domain}}-{{seed}}/checkpoints/{name}.{ext}",
            name=PLAN.base_checkpoints,
            ext=["npz", "json"],
        ),
        history="results/models/{domain}-{seed}/history.parquet",
        provenance="results/models/{domain}-{seed}/provenance.json",
        tensorboard=directory("results/models/{domain}-{seed}/tensorboard"),
    log:
        "logs/train_base/{domain}-{seed}.log",
    benchmark:
        "benchmarks/results/train_base/{domain}-{seed}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        instance=instance_of,
        train=schedule_params,
        train_images=train_images,
        checkpoints=checkpoint_names,
        domains=DOMAINS,
    script:
        "../scripts/train.py"


rule finetune:
    input:
        unpack(training_data),
        init=finetune_start,
    output:
        checkpoints=expand(
            "results/models/{{domain}}-from-{{source}}-{{seed}}/checkpoints/{name}.{ext}",
            name=FINETUNE_CHECKPOINTS,
            ext=["npz", "json"],
        ),
        history="results/models/{domain}-from-{source}-{seed}/history.parquet",
        provenance="results/models/{domain}-from-{source}-{seed}/provenance.json",
        tensorboard=directory(
            "results/models/{domain}-from-{source}-{seed}/tensorboard"
        ),
    log:
        "logs/finetune/{domain}-from-{source}-{seed}.log",
    benchmark:
        "benchmarks/results/finetune/{domain}-from-{source}-{seed}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        instance=instance_of,
        train=schedule_params,
        train_images=train_images,
        checkpoints=checkpoint_names,
        domains=DOMAINS,
    script:
        "../scripts/train.py"
