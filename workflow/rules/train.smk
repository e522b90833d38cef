# Stage 3: the base instances from scratch (a domain and a seed each, and the deeper models of
# model.depths), then the fine-tuned ones from their bases.
# One thread per job: on a CPU two single-threaded trainings beat one with two threads
# (measured 47 vs 74 ms per batch); a profile can raise it with --set-threads.


rule train_base:
    input:
        unpack(training_data),
    output:
        checkpoints=written_checkpoints(PLAN.base_checkpoints),
        history=paths.model_file("{instance}", "history.parquet"),
        provenance=paths.model_file("{instance}", "provenance.json"),
        tensorboard=directory(paths.model_file("{instance}", "tensorboard")),
    log:
        "logs/train_base/{instance}.log",
    benchmark:
        "benchmarks/results/train_base/{instance}.tsv"
    wildcard_constraints:
        instance=one_of(i for i in BASE + PLAN.deep_base if i not in IMPORTED),
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        code=code_of("../scripts/train.py"),
        backend=BACKEND,
        instance=lambda w: w.instance,
        train=schedule_params,
        train_images=train_images,
        checkpoints=checkpoint_names,
        domains=DOMAINS,
    script:
        "../scripts/train.py"


# With model.pretrained: the base instances are the user's saved models, imported (checkpoint
# final their weights, init a fresh draw of the same architecture), not trained.
rule import_pretrained:
    input:
        unpack(training_data),
        saved=pretrained_file,
    output:
        checkpoints=written_checkpoints([INIT, FINAL]),
        history=paths.model_file("{instance}", "history.parquet"),
        provenance=paths.model_file("{instance}", "provenance.json"),
    log:
        "logs/import_pretrained/{instance}.log",
    wildcard_constraints:
        instance=one_of(IMPORTED),
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        code=code_of("../scripts/import_pretrained.py"),
        backend=BACKEND,
        instance=lambda w: w.instance,
        domains=DOMAINS,
    script:
        "../scripts/import_pretrained.py"


rule finetune:
    input:
        unpack(training_data),
        init=finetune_start,
        init_record=lambda w: finetune_start(w, "json"),
    output:
        checkpoints=written_checkpoints([INIT, FINAL]),
        history=paths.model_file("{instance}", "history.parquet"),
        provenance=paths.model_file("{instance}", "provenance.json"),
        tensorboard=directory(paths.model_file("{instance}", "tensorboard")),
    log:
        "logs/finetune/{instance}.log",
    benchmark:
        "benchmarks/results/finetune/{instance}.tsv"
    wildcard_constraints:
        instance=one_of(FINETUNED + PLAN.deep_finetuned),
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        code=code_of("../scripts/train.py"),
        backend=BACKEND,
        instance=lambda w: w.instance,
        train=schedule_params,
        train_images=train_images,
        checkpoints=checkpoint_names,
        domains=DOMAINS,
    script:
        "../scripts/train.py"
