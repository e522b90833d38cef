# Stage 5: Gram matrices once per model, HSIC of all pairs in shards, and the CKA table. Layers
# and models are compared for every pair; filters where similarity.filters asks (FILTERS).


rule compute_grams:
    input:
        activations=activations_of_model,
        spec=spec_of_model,
        specs=specs(),
    output:
        paths.grams("{model}"),
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
        code=code_of("../scripts/compute_grams.py"),
        model=lambda w: w.model,
        estimators=ESTIMATORS,
        filter_layers=filter_layers_of,
        # the minibatch size is decided by the job from these (similarity.batch_size)
        batch_size=config["similarity"]["batch_size"],
        memory_budget=config["similarity"]["memory_budget"],
        test_sets=DOMAINS,
        device=config["similarity"]["device"],
    script:
        "../scripts/compute_grams.py"


rule compute_hsic:
    input:
        grams=grams(MODELS),
        datasets=DATASET_JSONS,
    output:
        paths.hsic_shard("{test_set}", "{estimator}", "{shard}"),
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
        code=code_of("../scripts/compute_hsic.py"),
        models=MODELS,
        test_set=lambda w: w.test_set,
        estimator=lambda w: w.estimator,
        shard=lambda w: int(w.shard),
        shards=SHARDS,
        filter_models=FILTERS.instances,
        across=FILTERS.across,
        device=config["similarity"]["device"],
    script:
        "../scripts/compute_hsic.py"


rule reduce_cka:
    input:
        shards=hsic_shards(),
        datasets=DATASET_JSONS,
    output:
        paths.CKA,
    log:
        "logs/reduce_cka/cka.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/reduce_cka.py"),
    script:
        "../scripts/reduce_cka.py"
