# Stage 1: each image domain, split into train / val / test.


rule build_dataset:
    input:
        source_input,
    output:
        expand("results/data/{{domain}}/{name}.npy", name=LABELS),
        train="results/data/{domain}/train.npy",
        val="results/data/{domain}/val.npy",
        test="results/data/{domain}/test.npy",
        provenance="results/data/{domain}/dataset.json",
    log:
        "logs/build_dataset/{domain}.log",
    benchmark:
        "benchmarks/results/build_dataset/{domain}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        code=code_of("../scripts/build_dataset.py"),
        domain=lambda w: w.domain,
        dataset=dataset_params,
        files=source_digest,
    script:
        "../scripts/build_dataset.py"
