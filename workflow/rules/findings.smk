# Stage 8: the findings (each claim an effect with its interval, read against its null
# baselines), their tables, and the two figures drawn from those tables.


rule write_findings:
    input:
        cka="results/cka.parquet",
        intervals="results/cka_intervals.parquet",
        accuracy="results/tables/test_accuracy.csv",
        weight_change="results/tables/weight_change.csv",
        invariances="results/tables/invariances.csv",
        histories=histories(),
        provenance=expand("results/models/{i}/provenance.json", i=INSTANCES),
        datasets=DATASET_JSONS,
        specs=specs(),
    output:
        findings=report(
            "results/findings.md",
            caption="../report/findings.rst",
            category="1 Findings",
        ),
        # The same findings as HTML: the report's first page (report/workflow.rst).
        findings_html="results/findings.html",
        table_md="results/tables/table_finetuning.md",
        table_csv="results/tables/table_finetuning.csv",
        table_provenance="results/tables/table_finetuning.provenance.json",
        baselines="results/tables/null_baselines.csv",
        baselines_provenance="results/tables/null_baselines.provenance.json",
        effects="results/tables/claim_effects.csv",
        effects_provenance="results/tables/claim_effects.provenance.json",
        # The block-structure statistic per model (only a header without deeper models).
        blocks="results/tables/block_structure.csv",
        blocks_provenance="results/tables/block_structure.provenance.json",
    log:
        "logs/write_findings/findings.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/write_findings.py"),
        instances=INSTANCES,
        base=BASE,
        finetuned=FINETUNED,
        domains=DOMAINS,
        preset=config["preset"],
        task=PLAN.task,
        estimator=config["figures"]["estimator"],
        invariance_model=PLAN.invariance_instance,
        block_pairs=PLAN.block_pairs,
    script:
        "../scripts/write_findings.py"


rule plot_null_baselines:
    input:
        table="results/tables/null_baselines.csv",
    output:
        png=report(
            "results/figures/null_baselines.png",
            caption="../report/null_baselines.rst",
            category="4 CKA",
        ),
        pdf="results/figures/null_baselines.pdf",
    log:
        "logs/plot_null_baselines/null_baselines.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_null_baselines.py"),
        label=PLAN.primary_estimator.label,
    script:
        "../scripts/plot_null_baselines.py"


rule plot_claim_effects:
    input:
        table="results/tables/claim_effects.csv",
    output:
        png=report(
            "results/figures/claim_effects.png",
            caption="../report/claim_effects.rst",
            category="1 Findings",
        ),
        pdf="results/figures/claim_effects.pdf",
    log:
        "logs/plot_claim_effects/claim_effects.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_claim_effects.py"),
    script:
        "../scripts/plot_claim_effects.py"
