"""Test images and their reconstructions by three instances (rule plot_reconstructions)."""

from pathlib import Path

from ckaflow.logs import log_to
from ckaflow.tfsetup import configure

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(1)

from ckaflow.data import load_split  # noqa: E402
from ckaflow.figures import save_figure  # noqa: E402
from ckaflow.figures.training import reconstruction_grid  # noqa: E402
from ckaflow.provenance import figure_provenance  # noqa: E402
from ckaflow.stages.evaluate import reconstruction_columns  # noqa: E402

domain = sm.params.domain
x = load_split(Path(sm.input.test).parent, "test")[: sm.params.images]
roles = sm.params.roles  # role -> instance, in the order of input.models
columns = reconstruction_columns(
    x, {r: (i, p) for (r, i), p in zip(roles.items(), sm.input.models, strict=True)}
)
plot = reconstruction_grid(columns, f"{domain} test images and their reconstructions")
save_figure(
    plot,
    sm.output.png,
    sm.output.pdf,
    width=plot.theme.getp("figure_size")[0],
    height=plot.theme.getp("figure_size")[1],
    provenance=figure_provenance(sm.config, sm.input),
)
