# ckaflow: where does a network change when it is adapted to a new domain?
# This file is the table of contents; each stage lives in workflow/rules/.
from snakemake.utils import min_version, validate

from ckaflow.study.config import normalize_config

min_version("9.0")


# `snakemake` alone runs the thesis' study; with --configfile, only the files given are read
# (Snakemake would otherwise merge them into this one: its domains with yours).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


normalize_config(config)
validate(config, "src/ckaflow/schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/intervals.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/findings.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        get_final_output(),
