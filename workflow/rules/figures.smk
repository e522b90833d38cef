# The study's figures.


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
        domains=DOMAINS,
        per_domain=config["figures"]["samples_per_domain"],
        pepper=config["noise"]["pepper"],
        salt=config["noise"]["salt"],
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
        instances=INSTANCES,
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
        domain=lambda w: w.domain,
        roles=reconstruction_roles,
        images=config["figures"]["reconstruction_images"],
    script:
        "../scripts/plot_reconstructions.py"


rule plot_conv1_filters:
    input:
        init="results/models/{instance}/checkpoints/init.npz",
        final="results/models/{instance}/checkpoints/final.npz",
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
        instance=lambda w: w.instance,
    script:
        "../scripts/plot_conv1_filters.py"


rule plot_base_strips:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/base_layer_strips.png",
            caption="../report/base_layer_strips.rst",
            category="4 CKA",
        ),
        pdf="results/figures/base_layer_strips.pdf",
    log:
        "logs/plot_base_strips/base_layer_strips.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="base_layer_strips",
        options=PLAN.cka_options("base_layer_strips"),
    script:
        "../scripts/plot_cka.py"


rule plot_filter_heatmap:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/filters_{a}_vs_{b}.png",
            caption="../report/filter_heatmap.rst",
            category="4 CKA",
        ),
        pdf="results/figures/filters_{a}_vs_{b}.pdf",
    log:
        "logs/plot_filter_heatmap/{a}_vs_{b}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="filter_heatmap",
        options=filter_heatmap_options,
    script:
        "../scripts/plot_cka.py"


rule plot_chord:
    input:
        cka="results/cka.parquet",
        weights="results/models/{a}/checkpoints/final.npz",
    output:
        png=report(
            "results/figures/chord_{a}.png",
            caption="../report/chord.rst",
            category="4 CKA",
        ),
        pdf="results/figures/chord_{a}.pdf",
    log:
        "logs/plot_chord/{a}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        instance=lambda w: w.a,
        estimator=config["figures"]["estimator"],
    script:
        "../scripts/plot_chord.py"


rule plot_finetuned_vs_base:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/finetuned_vs_base.png",
            caption="../report/finetuned_vs_base.rst",
            category="4 CKA",
        ),
        pdf="results/figures/finetuned_vs_base.pdf",
    log:
        "logs/plot_finetuned_vs_base/finetuned_vs_base.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="finetuned_vs_base",
        options=PLAN.cka_options("finetuned_vs_base"),
    script:
        "../scripts/plot_cka.py"


rule plot_layer_matrices:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/layer_matrices.png",
            caption="../report/layer_matrices.rst",
            category="4 CKA",
        ),
        pdf="results/figures/layer_matrices.pdf",
    log:
        "logs/plot_layer_matrices/layer_matrices.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="layer_matrices",
        options=PLAN.cka_options("layer_matrices"),
    script:
        "../scripts/plot_cka.py"


rule plot_checkpoints:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/checkpoints_vs_final.png",
            caption="../report/checkpoints.rst",
            category="4 CKA",
        ),
        pdf="results/figures/checkpoints_vs_final.pdf",
    log:
        "logs/plot_checkpoints/checkpoints_vs_final.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="checkpoints_vs_final",
        options=PLAN.cka_options("checkpoints_vs_final"),
    script:
        "../scripts/plot_cka.py"


rule plot_checkpoint_matrices:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/checkpoint_matrices.png",
            caption="../report/checkpoint_matrices.rst",
            category="4 CKA",
        ),
        pdf="results/figures/checkpoint_matrices.pdf",
    log:
        "logs/plot_checkpoints/checkpoint_matrices.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figure="checkpoint_matrices",
        options=PLAN.cka_options("checkpoint_matrices"),
    script:
        "../scripts/plot_cka.py"


# Only when config depths names a deeper model (PLAN.figures lists them then).
rule plot_depth:
    input:
        cka="results/cka.parquet",
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/depth.rst",
            category="4 CKA",
        ),
        pdf="results/figures/{figure}.pdf",
    log:
        "logs/plot_depth/{figure}.log",
    wildcard_constraints:
        figure="|".join(DEPTH_FIGURES),
    conda:
        "../../envs/figures.yaml"
    params:
        figure=lambda w: w.figure,
        options=lambda w: PLAN.cka_options(w.figure),
    script:
        "../scripts/plot_cka.py"
