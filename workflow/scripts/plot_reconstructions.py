"""Test images and their reconstructions by three instances (rule plot_reconstructions)."""

from pathlib import Path

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(1, sm.params.backend)

from ckaflow.data import load_split  # noqa: E402
from ckaflow.figures import save_rule_figure  # noqa: E402
from ckaflow.figures.training import reconstruction_grid  # noqa: E402
from ckaflow.stages.evaluate import reconstruction_columns  # noqa: E402

domain = sm.params.domain
x = load_split(Path(sm.input.test).parent, "test")[: sm.params.images]
roles = sm.params.roles  # role -> instance, in the order of input.models
columns = reconstruction_columns(
    x, {r: (i, p) for (r, i), p in zip(roles.items(), sm.input.models, strict=True)}
)
plot = reconstruction_grid(columns, f"{domain} test images and their reconstructions")
save_rule_figure(plot, sm)
