# Stage 3: activations of every model on both test sets, Gram matrices once per model, HSIC of
# all pairs in shards, and the CKA table. Activations are temporary unless
# similarity.keep_activations is set (about 200 MB per model and test set at n = 200).


rule extract_activations:
    input:
        unpack(extraction_inputs),
    output:
        maybe_temp(directory("results/activations/{instance}")),
    log:
        "logs/extract_activations/{instance}.log",
    benchmark:
        "benchmarks/results/extract_activations/{instance}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        models=lambda w: PLAN.models_of(w.instance),
        test_sets=DOMAINS,
    script:
        "../scripts/extract_activations.py"


rule compute_grams:
    input:
        activations=activations_of_model,
    output:
        "results/similarity/grams/{model}.npz",
    log:
        "logs/compute_grams/{model}.log",
    benchmark:
        "benchmarks/results/compute_grams/{model}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        model=lambda w: w.model,
        estimators=ESTIMATORS,
        test_sets=DOMAINS,
        device=config["similarity"]["device"],
    script:
        "../scripts/compute_grams.py"


rule compute_hsic:
    input:
        grams=expand("results/similarity/grams/{model}.npz", model=MODELS),
        datasets=DATASET_JSONS,
    output:
        "results/similarity/hsic/{test_set}/{estimator}/shard{shard}.parquet",
    log:
        "logs/compute_hsic/{test_set}-{estimator}-{shard}.log",
    benchmark:
        "benchmarks/results/compute_hsic/{test_set}-{estimator}-{shard}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        models=MODELS,
        test_set=lambda w: w.test_set,
        estimator=lambda w: w.estimator,
        shard=lambda w: int(w.shard),
        shards=SHARDS,
        blocks=PLAN.hsic_blocks,
        final_models=INSTANCES,
        device=config["similarity"]["device"],
    script:
        "../scripts/compute_hsic.py"


rule reduce_cka:
    input:
        shards=hsic_shards(),
        datasets=DATASET_JSONS,
    output:
        "results/cka.parquet",
    log:
        "logs/reduce_cka/cka.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/reduce_cka.py"


rule compute_intervals:
    input:
        grams=expand("results/similarity/grams/{model}.npz", model=PLAN.interval_models),
        datasets=DATASET_JSONS,
    output:
        "results/similarity/intervals/{test_set}/{estimator}.parquet",
    log:
        "logs/compute_intervals/{test_set}-{estimator}.log",
    benchmark:
        "benchmarks/results/compute_intervals/{test_set}-{estimator}.tsv"
    conda:
        TF_ENV
    threads: 1
    resources:
        gpu=1,
    params:
        models=PLAN.interval_models,
        rows=PLAN.interval_rows,
        test_set=lambda w: w.test_set,
        estimator=lambda w: w.estimator,
        resamples=config["similarity"]["resamples"],
        confidence=config["similarity"]["confidence"],
        seed=config["seed"],
        device=config["similarity"]["device"],
    script:
        "../scripts/compute_intervals.py"


rule reduce_intervals:
    input:
        parts=expand(
            "results/similarity/intervals/{test_set}/{estimator}.parquet",
            test_set=DOMAINS,
            estimator=ESTIMATORS,
        ),
        datasets=DATASET_JSONS,
    output:
        "results/cka_intervals.parquet",
    log:
        "logs/reduce_intervals/intervals.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/reduce_intervals.py"


rule check_invariances:
    input:
        activations=f"results/activations/{PLAN.invariance_instance}",
        datasets=DATASET_JSONS,
    output:
        table="results/tables/invariances.csv",
        provenance="results/tables/invariances.provenance.json",
    log:
        "logs/check_invariances/invariances.log",
    benchmark:
        "benchmarks/results/check_invariances/invariances.tsv"
    conda:
        "../../envs/figures.yaml"
    threads: 1
    params:
        model=PLAN.invariance_instance,
        test_sets=DOMAINS,
        estimators=PLAN.invariance_estimators,
        seed=config["seed"],
    script:
        "../scripts/check_invariances.py"
