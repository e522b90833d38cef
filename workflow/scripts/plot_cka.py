"""The figures drawn from results/cka.parquet (rules plot_base_strips, plot_filter_heatmap,
plot_finetuned_vs_base, plot_layer_matrices, plot_checkpoints)."""

from ckaflow.architecture import LAYER_GROUPS
from ckaflow.figures import cka as figs
from ckaflow.figures import save_figure
from ckaflow.logs import log_to
from ckaflow.shards import read_cka_table

sm = snakemake  # noqa: F821
log_to(sm.log[0])
if sm.rule == "plot_filter_heatmap":
    table = read_cka_table(sm.input.cka, models=[sm.wildcards.a, sm.wildcards.b])
else:
    table = read_cka_table(sm.input.cka, groups=LAYER_GROUPS)
if sm.rule == "plot_base_strips":
    plot = figs.base_layer_strips(table, sm.params.base)
elif sm.rule == "plot_filter_heatmap":
    plot = figs.filter_heatmap(table, sm.wildcards.a, sm.wildcards.b)
elif sm.rule == "plot_finetuned_vs_base":
    plot = figs.finetuned_vs_base(table, sm.params.finetuned, sm.params.base)
elif sm.rule == "plot_layer_matrices":
    natural = table[table["test_set"] == "natural"]
    plot = figs.layer_matrix(natural, {k: tuple(v) for k, v in sm.params.pairs.items()})
else:
    plot = figs.checkpoints_vs_final(table, sm.params.base)
width, height = plot.theme.getp("figure_size")
save_figure(plot, sm.output.png, sm.output.pdf, width=width, height=height)
