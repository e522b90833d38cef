# Stage 5b: the measures beside CKA (similarity.measures: CCA, SVCCA, PWCCA, linear regression,
# Procrustes, RSA) for the layer-identification test: every layer of every two seeds of a domain,
# trained and at their initial weights (COMPARED.measure_pairs). One job per test set; nothing
# asks for it without similarity.measures. Each needs the whole test set at once.


rule compute_measures:
    input:
        activations=measure_activations(),
        datasets=DATASET_JSONS,
    output:
        paths.measures("{test_set}"),
    log:
        "logs/compute_measures/{test_set}.log",
    benchmark:
        "benchmarks/results/compute_measures/{test_set}.tsv"
    conda:
        "../../envs/figures.yaml"
    threads: 1
    params:
        code=code_of("../scripts/compute_measures.py"),
        measures=MEASURES,
        pairs=COMPARED.measure_pairs,
        folders=measure_folders(),
    script:
        "../scripts/compute_measures.py"
