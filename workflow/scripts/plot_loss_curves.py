"""Validation loss curves of every family (snakemake rule plot_loss_curves)."""

import pandas as pd

from ckaflow.figures import save_figure
from ckaflow.figures.training import loss_curves
from ckaflow.io import read_parquet
from ckaflow.logs import log_to
from ckaflow.names import parse

sm = snakemake  # noqa: F821
log_to(sm.log[0])
frames = []
for instance, path in zip(sm.params.instances, sm.input.histories, strict=True):
    h = read_parquet(path, "history")
    inst = parse(instance)
    frames.append(h.assign(instance=instance, family=inst.family, seed=inst.seed))
plot = loss_curves(pd.concat(frames), sm.params.task)
width, height = plot.theme.getp("figure_size")
save_figure(plot, sm.output.png, sm.output.pdf, width=width, height=height)
