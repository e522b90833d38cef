# Stage 6: bootstrap intervals of the pairs the findings read, from the stored Grams; CKA's
# invariances on the study's own activations.


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
        code=code_of("../scripts/compute_intervals.py"),
        models=PLAN.interval_models,
        pairs=PLAN.interval_pairs,
        rows=PLAN.interval_rows,
        test_set=lambda w: w.test_set,
        estimator=lambda w: w.estimator,
        resamples=config["similarity"]["resamples"],
        confidence=config["similarity"]["confidence"],
        seed=resample_seed,
        null_permutations=config["similarity"]["null_permutations"],
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
    params:
        code=code_of("../scripts/reduce_intervals.py"),
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
        code=code_of("../scripts/check_invariances.py"),
        model=PLAN.invariance_instance,
        test_sets=DOMAINS,
        estimators=PLAN.invariance_estimators,
        seed=config["seed"],
    script:
        "../scripts/check_invariances.py"
