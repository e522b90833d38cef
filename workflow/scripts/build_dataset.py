"""Build one domain's dataset (snakemake rule build_dataset)."""

from pathlib import Path

from ckaflow.data import ImageSpec, build_domain, write_dataset
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
p = dict(sm.params.dataset)
dataset = build_domain(sm.params.domain, p.pop("entry"), image=ImageSpec(**p.pop("image")), **p)
write_dataset(Path(sm.output.provenance).parent, dataset)
log.info(
    "%s: %s, id %s",
    sm.params.domain,
    dataset.provenance["counts"],
    dataset.provenance["dataset_id"],
)
