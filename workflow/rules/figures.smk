# Stage 7: the study's figures. Their names and panels are ckaflow.figures.layout's.


rule plot_samples:
    input:
        tests=expand("results/data/{d}/test.npy", d=DOMAINS),
    output:
        png=report(
            "results/figures/samples.png",
            caption="../report/samples.rst",
            category="2 Data",
        ),
        pdf="results/figures/samples.pdf",
    log:
        "logs/plot_samples/samples.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/plot_samples.py"),
        domains=DOMAINS,
        per_domain=config["figures"]["samples_per_domain"],
        noise=PLAN.noise,
        seed=config["seed"],
    script:
        "../scripts/plot_samples.py"


rule plot_loss_curves:
    input:
        histories=histories(),
    output:
        png=report(
            "results/figures/loss_curves.png",
            caption="../report/loss_curves.rst",
            category="3 Training",
        ),
        pdf="results/figures/loss_curves.pdf",
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
        losses="results/tables/test_loss.parquet",
    output:
        png=report(
            "results/figures/test_loss.png",
            caption="../report/test_loss.rst",
            category="3 Training",
        ),
        pdf="results/figures/test_loss.pdf",
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
            "results/figures/reconstructions_{domain}.png",
            caption="../report/reconstructions.rst",
            category="3 Training",
        ),
        pdf="results/figures/reconstructions_{domain}.pdf",
    log:
        "logs/plot_reconstructions/{domain}.log",
    conda:
        "../../envs/tensorflow.yaml"
    params:
        code=code_of("../scripts/plot_reconstructions.py"),
        domain=lambda w: w.domain,
        roles=reconstruction_roles,
        images=config["figures"]["reconstruction_images"],
    script:
        "../scripts/plot_reconstructions.py"


rule plot_conv1_filters:
    input:
        init="results/models/{instance}/checkpoints/init.npz",
        final="results/models/{instance}/checkpoints/final.npz",
        records=expand(
            "results/models/{{instance}}/checkpoints/{c}.json", c=[INIT, FINAL]
        ),
        spec=recorded_file(1),
    output:
        png=report(
            "results/figures/conv1_filters_{instance}.png",
            caption="../report/conv1_filters.rst",
            category="3 Training",
        ),
        pdf="results/figures/conv1_filters_{instance}.pdf",
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
        cka="results/cka.parquet",
        # each interval pair's permutation null: the matrices mark cells not above it
        intervals="results/cka_intervals.parquet",
        specs=specs(),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/cka.rst",
            category="4 CKA",
        ),
        pdf="results/figures/{figure}.pdf",
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
        cka="results/cka.parquet",
        weights="results/models/{a}/checkpoints/final.npz",
        record="results/models/{a}/checkpoints/final.json",
        spec=recorded_file(1),
    output:
        png=report(
            "results/figures/filter_groups_{a}.png",
            caption="../report/filter_groups.rst",
            category="4 CKA",
        ),
        pdf="results/figures/filter_groups_{a}.pdf",
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
