# Stage 8: the findings (each claim an effect with its interval, read against its null
# baselines), their tables, and the two figures drawn from those tables.


rule write_findings:
    input:
        cka=paths.CKA,
        intervals=paths.CKA_INTERVALS,
        accuracy=paths.table("test_accuracy"),
        weight_change=paths.table("weight_change"),
        invariances=paths.table("invariances"),
        histories=histories(),
        provenance=[paths.model_file(i, "provenance.json") for i in INSTANCES],
        datasets=DATASET_JSONS,
        specs=specs(),
        # the measures beside CKA (similarity.measures), per test set; none by default
        measures=measure_tables(),
    output:
        findings=report(
            paths.FINDINGS,
            caption="../report/findings.rst",
            category="1 Findings",
        ),
        # The same findings as HTML: the report's first page (report/workflow.rst).
        findings_html=paths.FINDINGS_HTML,
        table_md=paths.table("table_finetuning", "md"),
        table_csv=paths.table("table_finetuning"),
        table_provenance=paths.table("table_finetuning", "provenance.json"),
        baselines=paths.table("null_baselines"),
        baselines_provenance=paths.table("null_baselines", "provenance.json"),
        effects=paths.table("claim_effects"),
        effects_provenance=paths.table("claim_effects", "provenance.json"),
        # The block-structure statistic per model (only a header without deeper models).
        blocks=paths.table("block_structure"),
        blocks_provenance=paths.table("block_structure", "provenance.json"),
        # Kornblith et al.'s layer-identification test per estimator and measure (two seeds)
        identification=paths.table("layer_identification"),
        identification_provenance=paths.table("layer_identification", "provenance.json"),
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
        invariance_model=COMPARED.invariance_instance,
        block_pairs=COMPARED.block_pairs,
        resamples=config["similarity"]["resamples"],
        confidence=config["similarity"]["confidence"],
        seed=config["seed"],
    script:
        "../scripts/write_findings.py"


rule plot_null_baselines:
    input:
        table=paths.table("null_baselines"),
    output:
        png=report(
            paths.figure("null_baselines"),
            caption="../report/null_baselines.rst",
            category="4 CKA",
        ),
        pdf=paths.figure("null_baselines", "pdf"),
    log:
        "logs/plot_null_baselines/null_baselines.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_null_baselines.py"),
        label=COMPARED.primary_estimator.label,
    script:
        "../scripts/plot_null_baselines.py"


rule plot_claim_effects:
    input:
        table=paths.table("claim_effects"),
    output:
        png=report(
            paths.figure("claim_effects"),
            caption="../report/claim_effects.rst",
            category="1 Findings",
        ),
        pdf=paths.figure("claim_effects", "pdf"),
    log:
        "logs/plot_claim_effects/claim_effects.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_claim_effects.py"),
    script:
        "../scripts/plot_claim_effects.py"


rule plot_layer_identification:
    input:
        table=paths.table("layer_identification"),
    output:
        png=report(
            paths.figure("layer_identification"),
            caption="../report/layer_identification.rst",
            category="1 Findings",
        ),
        pdf=paths.figure("layer_identification", "pdf"),
    log:
        "logs/plot_layer_identification/layer_identification.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_layer_identification.py"),
    script:
        "../scripts/plot_layer_identification.py"
