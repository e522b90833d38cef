"""Sample grid of every domain, clean and (denoising) noisy (snakemake rule plot_samples)."""

from pathlib import Path

from ckaflow.data import load_split
from ckaflow.figures import sample_grid, save_rule_figure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
domains = {
    d: load_split(Path(p).parent, "test")
    for d, p in zip(sm.params.domains, sm.input.tests, strict=True)
}
noise = dict(sm.params.noise)  # pepper and salt when denoising; else no noisy rows
plot = sample_grid(
    domains, per_domain=sm.params.per_domain, noise=bool(noise), **noise, seed=sm.params.seed
)
save_rule_figure(plot, sm)
