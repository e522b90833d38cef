"""What the similarity stages will cost, against similarity.memory_budget (rule check_cost)."""

from ckaflow.logs import log_to
from ckaflow.model.spec import read_spec
from ckaflow.study.budget import write_cost_check

sm = snakemake  # noqa: F821
log_to(sm.log[0])
specs = {s.depth: s for s in map(read_spec, sm.input.specs)}
write_cost_check(sm.config, specs, sm.output[0])
