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
