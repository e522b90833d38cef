"""A figure drawn from results/cka.parquet, as ckaflow.figures.layout describes it (rule
plot_cka)."""

from ckaflow.figures import cka as figs
from ckaflow.figures import save_rule_figure
from ckaflow.logs import log_to
from ckaflow.model.spec import read_spec

sm = snakemake  # noqa: F821
log_to(sm.log[0])
specs = {s.depth: s for s in map(read_spec, sm.input.specs)}
plot = figs.draw(sm.input.cka, dict(sm.params.options), specs, sm.input.intervals)
save_rule_figure(plot, sm)
