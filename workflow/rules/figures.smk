# The study's figures.


rule plot_samples:
    input:
        natural="results/data/natural/test.npy",
        synth="results/data/synth/test.npy",
    output:
        png="results/figures/samples.png",
        pdf="results/figures/samples.pdf",
    log:
        "logs/plot_samples/samples.log",
    conda:
        "../../envs/figures.yaml"
    params:
        per_domain=config["figures"]["samples_per_domain"],
        pepper=config["noise"]["pepper"],
        salt=config["noise"]["salt"],
        seed=config["seed"],
    script:
        "../scripts/plot_samples.py"


rule plot_loss_curves:
    input:
        unpack(histories),
    output:
        png="results/figures/loss_curves.png",
        pdf="results/figures/loss_curves.pdf",
    log:
        "logs/plot_loss_curves/loss_curves.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/plot_loss_curves.py"


rule plot_test_loss:
    input:
        losses="results/tables/test_loss.parquet",
    output:
        png="results/figures/test_loss.png",
        pdf="results/figures/test_loss.pdf",
    log:
        "logs/plot_test_loss/test_loss.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/plot_test_loss.py"


rule plot_reconstructions:
    input:
        unpack(reconstruction_models),
    output:
        png="results/figures/reconstructions_{domain}.png",
        pdf="results/figures/reconstructions_{domain}.pdf",
    log:
        "logs/plot_reconstructions/{domain}.log",
    conda:
        "../../envs/tensorflow.yaml"
    params:
        images=config["figures"]["reconstruction_images"],
    script:
        "../scripts/plot_reconstructions.py"


rule plot_conv1_filters:
    input:
        init="results/models/{instance}/checkpoints/init.npz",
        final="results/models/{instance}/checkpoints/final.npz",
    output:
        png="results/figures/conv1_filters_{instance}.png",
        pdf="results/figures/conv1_filters_{instance}.pdf",
    log:
        "logs/plot_conv1_filters/{instance}.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/plot_conv1_filters.py"
