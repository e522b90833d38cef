# Stage 6: bootstrap intervals of the pairs the findings read, from the stored Grams; CKA's
# invariances on the study's own activations.


rule compute_intervals:
    input:
        grams=grams(COMPARED.interval_models),
        datasets=DATASET_JSONS,
    output:
        paths.interval_part("{test_set}", "{estimator}"),
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
        models=COMPARED.interval_models,
        pairs=COMPARED.interval_pairs,
        rows=COMPARED.interval_rows,
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
        parts=interval_parts(),
        datasets=DATASET_JSONS,
    output:
        paths.CKA_INTERVALS,
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
        activations=paths.activations(COMPARED.invariance_instance),
        datasets=DATASET_JSONS,
    output:
        table=paths.table("invariances"),
        provenance=paths.table("invariances", "provenance.json"),
    log:
        "logs/check_invariances/invariances.log",
    benchmark:
        "benchmarks/results/check_invariances/invariances.tsv"
    conda:
        "../../envs/figures.yaml"
    threads: 1
    params:
        code=code_of("../scripts/check_invariances.py"),
        model=COMPARED.invariance_instance,
        test_sets=DOMAINS,
        estimators=COMPARED.invariance_estimators,
        seed=config["seed"],
    script:
        "../scripts/check_invariances.py"
