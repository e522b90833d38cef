# Stage 2: the model, built once per depth and described (its layer table, its output, the
# SHA-256 of the builder's source): every training reads it, so editing a user's model makes
# exactly its trainings (and what depends on them) stale. Which layers are recorded is a job of
# its own, read by extraction, figures and findings only: choosing other layers retrains nothing.


rule model_spec:
    input:
        unpack(model_spec_inputs),
    output:
        paths.model_spec("{depth}"),
    log:
        "logs/model_spec/d{depth}.log",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        code=code_of("../scripts/model_spec.py"),
        backend=BACKEND,
        model=job_params.model(PLAN),
        depth=lambda w: int(w.depth),
        input_shape=job_params.input_shape(PLAN),
        task=PLAN.task,
        builder_sha256=builder_sha256,
    script:
        "../scripts/model_spec.py"


rule record_layers:
    input:
        spec=paths.model_spec("{depth}"),
    output:
        spec=paths.model_spec("{depth}", "recorded.json"),
        table=paths.model_spec("{depth}", "csv"),
    log:
        "logs/record_layers/d{depth}.log",
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/record_layers.py"),
        layers=config["model"]["layers"],
    script:
        "../scripts/record_layers.py"


# What the similarity stages will cost, checked against similarity.memory_budget as soon as the
# model's layers are known: on a first run it is among the first jobs (priority), long before
# any extraction, and a study that would not fit stops there (later runs check at load). Its
# params are the keys the cost depends on, so that other changes leave it alone.
rule check_cost:
    input:
        specs=specs(),
    output:
        paths.COST_CHECK,
    log:
        "logs/check_cost/cost.log",
    priority: 100
    conda:
        "../../envs/figures.yaml"
    params:
        code=code_of("../scripts/check_cost.py"),
        cost_keys=cost_keys(config),
    script:
        "../scripts/check_cost.py"
