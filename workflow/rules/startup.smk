# What happens when the workflow loads, before any job: the run lock, the inputs checked once,
# incomplete activation folders removed, and the study's cost against its memory budget.


# One run at a time in this folder (an OS lock that dies with its process; dry-runs only read).
# A dry run beside a live run meets the live run's jobs in progress, marked incomplete: say so
# before Snakemake calls them a cut-off run.
if workflow.is_main_process and not workflow.output_settings.dryrun:
    from ckaflow.runlock import hold_folder

    hold_folder(".snakemake")
elif workflow.is_main_process:
    from ckaflow.runlock import folder_is_busy, holder

    if folder_is_busy(".snakemake"):
        print(
            f"ckaflow: a run is live in this folder ({holder('.snakemake')}): its jobs in "
            "progress are marked incomplete; add --ignore-incomplete to see the plan",
            file=sys.stderr,
        )


# The records the jobs read (datasets', checkpoints', model specs' .json) are read once when a
# run starts: one cut short stops it here, in one line naming it, before Snakemake deletes the
# outputs of the jobs that would fail on it.
if workflow.is_main_process:
    from ckaflow.io import unreadable_records

    BROKEN = unreadable_records(
        [
            paths.dataset_record("*"),
            paths.checkpoint("*", "*", "json"),
            paths.model_spec("*"),
        ]
    )
    if BROKEN:
        raise ValueError("\n".join(BROKEN))


# Fonts, photographs, SVHN files, image folders and arrays are checked once, when the run
# starts, not in every job.
if workflow.is_main_process:
    from ckaflow.study.load import check_inputs

    FOUND = check_inputs(config, PLAN.task == "classify")


# An activation folder (a directory output) left incomplete, by hand or by a crash, is removed
# before the run plans: Snakemake sees only that the folder exists, not what is inside. A dry
# run changes nothing: it says so, and plans the folder made again (its extraction job's param
# incomplete_activations has changed), so that it lists the jobs the run will run.
if workflow.is_main_process:
    from ckaflow.stages.activations import incomplete_folders, remove_incomplete

    ACTIVATION_MODELS = {i: PLAN.models_of(i) for i in INSTANCES}
    if workflow.output_settings.dryrun:
        for folder, problem in incomplete_folders(
            Path(paths.activations("")), ACTIVATION_MODELS, DOMAINS
        ).items():
            print(f"ckaflow: {folder} is incomplete ({problem}): a run removes it and "
                  "makes it again (planned below)", file=sys.stderr)  # fmt: skip
    else:
        remove_incomplete(Path(paths.activations("")), ACTIVATION_MODELS, DOMAINS)


# Once the model specs exist, a study whose largest job exceeds similarity.memory_budget stops
# here (a first run checks in its check_cost job).
if workflow.is_main_process:
    from ckaflow.study.budget import check_at_load

    check_at_load(
        PLAN, FILTERS, {d: paths.model_spec(d, "recorded.json") for d in PLAN.depths}
    )
