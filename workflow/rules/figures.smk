# Stage 7: the study's figures. Their names and panels are ckaflow.figures.layout's.


rule plot_samples:
    input:
        tests=tests(),
    output:
        png=report(
            paths.figure("samples"),
            caption="../report/samples.rst",
            category="2 Data",
        ),
        pdf=paths.figure("samples", "pdf"),
    log:
        "logs/plot_samples/samples.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_samples.py"),
        domains=DOMAINS,
        per_domain=config["figures"]["samples_per_domain"],
        noise=job_params.noise(PLAN),
        seed=config["seed"],
    script:
        "../scripts/plot_samples.py"


rule plot_loss_curves:
    input:
        histories=histories(),
    output:
        png=report(
            paths.figure("loss_curves"),
            caption="../report/loss_curves.rst",
            category="3 Training",
        ),
        pdf=paths.figure("loss_curves", "pdf"),
    log:
        "logs/plot_loss_curves/loss_curves.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_loss_curves.py"),
        instances=INSTANCES,
        task=PLAN.task,
    script:
        "../scripts/plot_loss_curves.py"


rule plot_test_loss:
    input:
        losses=paths.table("test_loss", "parquet"),
    output:
        png=report(
            paths.figure("test_loss"),
            caption="../report/test_loss.rst",
            category="3 Training",
        ),
        pdf=paths.figure("test_loss", "pdf"),
    log:
        "logs/plot_test_loss/test_loss.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_test_loss.py"),
        task=PLAN.task,
    script:
        "../scripts/plot_test_loss.py"


rule plot_reconstructions:
    input:
        unpack(reconstruction_inputs),
    output:
        png=report(
            paths.figure("reconstructions_{domain}"),
            caption="../report/reconstructions.rst",
            category="3 Training",
        ),
        pdf=paths.figure("reconstructions_{domain}", "pdf"),
    log:
        "logs/plot_reconstructions/{domain}.log",
    conda:
        "../../envs/tensorflow.yaml"
    params:
        code=code_of("../scripts/plot_reconstructions.py"),
        backend=BACKEND,
        domain=lambda w: w.domain,
        roles=reconstruction_roles,
        images=config["figures"]["reconstruction_images"],
    script:
        "../scripts/plot_reconstructions.py"


rule plot_conv1_filters:
    input:
        init=paths.checkpoint("{instance}", INIT),
        final=paths.checkpoint("{instance}", FINAL),
        records=[paths.checkpoint("{instance}", c, "json") for c in (INIT, FINAL)],
        spec=paths.model_spec(1, "recorded.json"),
    output:
        png=report(
            paths.figure("conv1_filters_{instance}"),
            caption="../report/conv1_filters.rst",
            category="3 Training",
        ),
        pdf=paths.figure("conv1_filters_{instance}", "pdf"),
    log:
        "logs/plot_conv1_filters/{instance}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_conv1_filters.py"),
        instance=lambda w: w.instance,
    script:
        "../scripts/plot_conv1_filters.py"


# Every figure drawn from the CKA table: one rule over the names layout.cka_figures gives.
rule plot_cka:
    input:
        cka=paths.CKA,
        # each interval pair's permutation null: the matrices mark cells not above it
        intervals=paths.CKA_INTERVALS,
        specs=specs(),
    output:
        png=report(
            paths.figure("{figure}"),
            caption="../report/cka.rst",
            category="4 CKA",
        ),
        pdf=paths.figure("{figure}", "pdf"),
    log:
        "logs/plot_cka/{figure}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_cka.py"),
        options=cka_options,
        caption=report_caption,
    script:
        "../scripts/plot_cka.py"


rule plot_filter_groups:
    input:
        cka=paths.CKA,
        weights=paths.checkpoint("{a}", FINAL),
        record=paths.checkpoint("{a}", FINAL, "json"),
        spec=paths.model_spec(1, "recorded.json"),
    output:
        png=report(
            paths.figure("filter_groups_{a}"),
            caption="../report/filter_groups.rst",
            category="4 CKA",
        ),
        pdf=paths.figure("filter_groups_{a}", "pdf"),
    log:
        "logs/plot_filter_groups/{a}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_filter_groups.py"),
        instance=lambda w: w.a,
        estimator=config["figures"]["estimator"],
        filter_layers=FILTERS.layer_choice,
    script:
        "../scripts/plot_filter_groups.py"
