"""Build one domain's dataset (snakemake rule build_dataset)."""

from pathlib import Path

from ckaflow.data import build_domain, write_dataset
from ckaflow.logs import log_to

log = log_to(snakemake.log[0])  # noqa: F821
params = dict(snakemake.params.dataset)  # noqa: F821
domain = snakemake.params.domain  # noqa: F821
if params["font_size"] is None:
    params.pop("font_size")
dataset = build_domain(domain, **params)
write_dataset(Path(snakemake.output.provenance).parent, dataset)  # noqa: F821
log.info("%s: %s, id %s", domain, dataset.provenance["counts"], dataset.provenance["dataset_id"])
