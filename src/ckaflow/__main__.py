"""Command line: ``python -m ckaflow layers --configfile my.yaml`` lists the configured model's
layers (name, type, kind, output shape, parameters, and which are recorded) before anything is
trained; ``python -m ckaflow plan --configfile my.yaml`` prints what each stage will cost (jobs,
the largest job's memory, CKA rows, disk, time) and exits 3 when a job would not fit the memory
budget (similarity.memory_budget); ``python -m ckaflow compare-reference results`` says how a
finished run of the default config compares with the committed reference run
(docs/reference-run/)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ckaflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    layers = sub.add_parser("layers", help="list the configured model's layers")
    cost = sub.add_parser("plan", help="what each stage of the study will cost, before it runs")
    for p in (layers, cost):
        p.add_argument("--configfile", nargs="+", default=["config/config.yaml"],
                       help="config files, later ones updating earlier ones")  # fmt: skip
    compare = sub.add_parser("compare-reference", help="compare a run with the reference run")
    compare.add_argument("results", nargs="?", default="results", help="the run's results folder")
    compare.add_argument("--reference", default="docs/reference-run", help="the reference run")
    compare.add_argument("--default-config", default="config/config.yaml",
                         help="the default config (keys added since the reference are held to "
                              "its values)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "compare-reference":
        return compare_reference(args.results, args.reference, args.default_config)
    import yaml
    from snakemake.exceptions import WorkflowError

    try:
        if args.command == "plan":
            text, fits = cost_table(args.configfile)
            print(text)
            return 0 if fits else 3
        print(layer_tables(args.configfile))
    except (ValueError, OSError, yaml.YAMLError, WorkflowError) as err:  # it says what is wrong
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def compare_reference(results: str, reference: str, default_config: str) -> int:
    """Print how ``results`` compares with the reference run; 2 if either cannot be read."""
    from pathlib import Path

    from .study.load import load_config
    from .study.reference import compare

    if not Path(reference, "provenance.json").exists():
        print(f"no reference run in {reference}: nothing to compare this run with")
        return 0
    try:
        default = load_config([default_config]) if Path(default_config).exists() else None
        lines = compare(results, reference, default)
    except (OSError, KeyError, ValueError) as err:
        print(f"error: cannot compare {results} with {reference}: {err}", file=sys.stderr)
        return 2
    print(f"This run ({results}) against the reference run ({reference}):")
    print("\n".join(f"  {line}" for line in lines))
    return 0


# Sources whose number of classes is known without reading them (a plan of a study whose
# archive is not here yet).
_KNOWN_CLASSES = {"cifar10": 10, "digits": 10}


def study_specs(configfiles: list[str], inputs_needed: bool = True):
    """(config, plan, {depth: the recorded model spec}) of the configured study: its sources
    checked and its model built at every depth, before anything is trained. Without
    ``inputs_needed``, a source that cannot be read is noted, not an error, when its number
    of classes is known anyway (CIFAR-10, digits): the plan does not read images."""
    from .backend import configure
    from .data.images import ImageSpec
    from .data.preflight import check_sources
    from .model.build import make_spec, with_recorded
    from .study import params
    from .study.load import load_config
    from .study.plan import Plan

    config = load_config(configfiles)
    plan = Plan(config)
    try:
        classes = check_sources(
            config["domains"],
            ImageSpec(**config["image"]),
            config["images_per_domain"],
            plan.task == "classify",
        ).classes
    except ValueError as err:
        known = {_KNOWN_CLASSES.get(d["source"]) for d in config["domains"].values()}
        if inputs_needed or len(known) != 1 or None in known:
            raise
        classes = [str(c) for c in range(known.pop())]
        print(f"note: {err}; planned without reading the inputs ({len(classes)} classes, as the "
              "source defines them)\n", file=sys.stderr)  # fmt: skip
    try:
        configure(1, params.backend(plan))
    except RuntimeError:  # Keras or TensorFlow already started in this process (the caller's)
        pass  # the specs do not depend on its threads or backend
    specs = {}
    for depth in plan.depths:
        spec = make_spec(params.model(plan), depth=depth, input_shape=params.input_shape(plan),
                         num_classes=len(classes) if classes else None, task=plan.task)  # fmt: skip
        specs[depth] = with_recorded(spec, config["model"]["layers"])
    return config, plan, specs


def layer_tables(configfiles: list[str]) -> str:
    """The layer table of the configured model at every depth, as text."""
    from .model.spec import format_table

    config, _, specs = study_specs(configfiles)
    out = []
    for depth, spec in specs.items():
        what = spec.builder or spec.architecture
        out += [f"{what}, depth {depth}: input {' x '.join(map(str, spec.input_shape))}, output "
                f"{spec.output}; {len(spec.recorded)} of {len(spec.layers)} layers recorded",
                format_table(spec), ""]  # fmt: skip
    if config["model"]["builder"]:
        out.append(_builder_backends(config["model"]["builder"]))
    return "\n".join(out)


def _builder_backends(builder: str) -> str:
    """Which Keras backends the user's builder can run on, as the listing says it."""
    from .model.builder import backends_imported

    found = backends_imported(builder)
    if not found:
        return f"{builder} uses Keras alone: it runs on every backend (tensorflow, jax, torch)."
    named = "; ".join(f"{b} in {', '.join(files)}" for b, files in found.items())
    return (f"{builder} imports {named}: it runs on the {' or '.join(found)} backend only "
            "(config backend).")  # fmt: skip


def cost_table(configfiles: list[str]) -> tuple[str, bool]:
    """What the configured study will cost (:mod:`ckaflow.study.cost`), as text, and whether
    its largest job fits the memory budget."""
    from .study.budget import assess, format_costs
    from .study.comparisons import filter_scope
    from .study.cost import gemm_rate

    _, plan, specs = study_specs(configfiles, inputs_needed=False)
    found = assess(plan, filter_scope(plan), specs, rate=gemm_rate())
    return f"{format_costs(found.costs)}\n\n{found.text}", found.fits


if __name__ == "__main__":
    sys.exit(main())
