# What the default run builds: the whole study, and every intermediate it keeps, so that a file
# deleted by hand is made again by the next plain run, with everything made from it.


def kept_intermediates():
    """Every output that a later stage reads and the run keeps: each instance's checkpoints
    (with their records), history and provenance, each depth's model spec, each model's Grams,
    each interval part, the measure tables, the tables' provenance; the activations too when they are kept. As
    targets of the default run, one deleted by hand (or by an interrupted forced rerun) is
    rebuilt by the next plain run, and what was made from it after it."""
    kept = [
        *(
            paths.checkpoint(i, c, ext)
            for i in INSTANCES
            for c in PLAN.checkpoints(i)
            for ext in ("npz", "json")
        ),
        *(paths.model_file(i, f) for i in INSTANCES for f in MODEL_FILES),
        *(paths.model_spec(d) for d in PLAN.depths),
        paths.COST_CHECK,
        *grams(MODELS),
        *interval_parts(),
        *measure_tables(),
        *(paths.table(t, "provenance.json") for t in PROVENANCE_TABLES),
        paths.table("invariances"),
    ]
    if config["similarity"]["keep_activations"]:
        kept += [paths.activations(i) for i in INSTANCES]
    return kept


# A model's files besides its checkpoints, and the tables with a provenance sidecar.
MODEL_FILES = ("history.parquet", "provenance.json")
PROVENANCE_TABLES = (
    "test_accuracy",
    "weight_change",
    "invariances",
    "table_finetuning",
    "null_baselines",
    "claim_effects",
    "block_structure",
    "layer_identification",
)


def get_final_output():
    """Everything `snakemake` builds by default: the whole study, and every intermediate it
    keeps (:func:`kept_intermediates`)."""
    return [
        *kept_intermediates(),
        *(paths.split(d, s) for d in DOMAINS for s in SPLITS),
        *DATASET_JSONS,
        *specs(),
        *(paths.model_spec(d, "csv") for d in PLAN.depths),
        paths.table("test_loss", "parquet"),
        paths.table("test_accuracy"),
        paths.table("weight_change"),
        paths.CKA,
        paths.CKA_INTERVALS,
        # The shards too: a shard deleted by hand is then rebuilt on the next run.
        *hsic_shards(),
        *(paths.figure(f, ext) for f in layout.figures(PLAN) for ext in ("png", "pdf")),
        paths.FINDINGS,
        paths.FINDINGS_HTML,
        paths.table("table_finetuning", "md"),
        paths.table("table_finetuning"),
        paths.table("null_baselines"),
        paths.table("claim_effects"),
        paths.table("block_structure"),
        paths.table("layer_identification"),
    ]
