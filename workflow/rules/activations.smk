# Stage 4: the recorded layers' activations of every model on every test set. Temporary unless
# similarity.keep_activations is set (about 200 MB per model and test set at n = 200 for the
# thesis' model).


rule extract_activations:
    input:
        unpack(extraction_inputs),
    output:
        maybe_temp(directory(paths.activations("{instance}"))),
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
        code=code_of("../scripts/extract_activations.py"),
        backend=BACKEND,
        models=models_of,
        test_sets=DOMAINS,
        # None while the folder is absent or whole: a dry run plans an incomplete one made again
        incomplete=incomplete_activations,
    script:
        "../scripts/extract_activations.py"
