# What the default run builds: the whole study, and every intermediate it keeps, so that a file
# deleted by hand is made again by the next plain run, with everything made from it.


def kept_intermediates():
    """Every output that a later stage reads and the run keeps: each instance's checkpoints
    (with their records), history and provenance, each depth's model spec, each model's Grams,
    each interval part, the tables' provenance; the activations too when they are kept. As
    targets of the default run, one deleted by hand (or by an interrupted forced rerun) is
    rebuilt by the next plain run, and what was made from it after it."""
    models = [
        f"results/models/{i}/checkpoints/{c}.{ext}"
        for i in INSTANCES
        for c in PLAN.checkpoints(i)
        for ext in ("npz", "json")
    ]
    models += [f"results/models/{i}/{f}" for i in INSTANCES for f in MODEL_FILES]
    kept = [
        *models,
        *[spec_file(d) for d in PLAN.depths],
        COST_CHECK,
        *expand("results/similarity/grams/{model}.npz", model=MODELS),
        *expand(
            "results/similarity/intervals/{test_set}/{estimator}.parquet",
            test_set=DOMAINS,
            estimator=ESTIMATORS,
        ),
        *[f"results/tables/{t}.provenance.json" for t in PROVENANCE_TABLES],
        "results/tables/invariances.csv",
    ]
    if config["similarity"]["keep_activations"]:
        kept += [f"results/activations/{i}" for i in INSTANCES]
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
)


def get_final_output():
    """Everything `snakemake` builds by default: the whole study, and every intermediate it
    keeps (:func:`kept_intermediates`)."""
    return [
        *kept_intermediates(),
        *[f"results/data/{d}/{s}.npy" for d in DOMAINS for s in SPLITS],
        *DATASET_JSONS,
        *specs(),
        *[f"results/model_spec/d{d}.csv" for d in PLAN.depths],
        "results/tables/test_loss.parquet",
        "results/tables/test_accuracy.csv",
        "results/tables/weight_change.csv",
        "results/cka.parquet",
        "results/cka_intervals.parquet",
        # The shards too: a shard deleted by hand is then rebuilt on the next run.
        *hsic_shards(),
        *expand(
            "results/figures/{fig}.{ext}", fig=layout.figures(PLAN), ext=["png", "pdf"]
        ),
        "results/findings.md",
        "results/findings.html",
        "results/tables/table_finetuning.md",
        "results/tables/table_finetuning.csv",
        "results/tables/null_baselines.csv",
        "results/tables/claim_effects.csv",
        "results/tables/block_structure.csv",
    ]
