# Stage 1: each image domain, split into train / val / test.


rule build_dataset:
    input:
        source_input,
    output:
        [paths.labels("{domain}", s) for s in LABELS],
        train=paths.split("{domain}", "train"),
        val=paths.split("{domain}", "val"),
        test=paths.split("{domain}", "test"),
        provenance=paths.dataset_record("{domain}"),
    log:
        "logs/build_dataset/{domain}.log",
    benchmark:
        "benchmarks/results/build_dataset/{domain}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        code=code_of("../scripts/build_dataset.py"),
        domain=lambda w: w.domain,
        dataset=lambda w: job_params.dataset(PLAN, w.domain),
        files=source_digest,
    script:
        "../scripts/build_dataset.py"
