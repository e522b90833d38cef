"""A figure drawn from results/cka.parquet, named by params.figure (rules plot_base_strips,
plot_filter_heatmap, plot_finetuned_vs_base, plot_layer_matrices, plot_checkpoints,
plot_checkpoint_matrices, plot_depth)."""

from ckaflow.figures import cka as figs
from ckaflow.figures import save_figure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
plot = figs.draw(sm.params.figure, sm.input.cka, dict(sm.params.options))
width, height = plot.theme.getp("figure_size")
save_figure(plot, sm.output.png, sm.output.pdf, width=width, height=height)
