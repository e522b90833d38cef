# ckaflow's workflow lives in workflow/Snakefile (the Snakemake catalog's layout); this file lets
# `snakemake` run it from the repository root, with the same default target.
include: "workflow/Snakefile"


# An included file's default target does not carry over to the including one: name it here.
localrules:
    default,


rule default:
    default_target: True
    input:
        rules.all.input,
