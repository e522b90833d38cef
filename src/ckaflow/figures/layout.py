"""Every figure of a study: the one list of their names (in reading order) and what each draws.

The workflow's rules, the drawing code and the report read these names from here. A figure is a
file stem under ``results/figures/``; :func:`cka_options` gives a CKA figure's *kind* (the
drawing function of :mod:`.cka`) and its panels. Everything is derived from a
:class:`~ckaflow.study.plan.Plan` (passed in: the figures import nothing from the study).
"""

from __future__ import annotations

from ..names import FINAL, Instance, model_name, parse
from ..similarity import Estimator

TRAINING_FIGURES = ("samples", "loss_curves", "test_loss")
CKA_FIGURES = (
    "base_layer_strips",
    "finetuned_vs_base",
    "layer_matrices",
    "checkpoints_vs_final",
    "checkpoint_matrices",
)
DEPTH_FIGURES = ("depth_matrices", "depth_comparison")  # only with deeper models
FINDINGS_FIGURES = ("null_baselines", "claim_effects", "layer_identification")
RECONSTRUCTION_ROLES = ("in_domain", "cross_domain", "finetuned")


def figures(plan) -> list[str]:
    """The file stem of every figure of the study, in reading order."""
    training = [f for f in TRAINING_FIGURES if f != "loss_curves" or plan.trained]
    # the claims are about fine-tuning (and, with preset thesis, the thesis' own): none, no chart
    claims = plan.finetunes or plan.config.get("preset") == "thesis"
    drawn = {"claim_effects": claims, "layer_identification": len(plan.seeds) > 1}
    findings = [f for f in FINDINGS_FIGURES if drawn.get(f, True)]
    return [
        *training,
        *(f"reconstructions_{d}" for d in reconstruction_domains(plan)),
        *(f"conv1_filters_{i}" for i in plan.filter_instances),
        *cka_figures(plan),
        *(f"filter_groups_{i}" for i in plan.filter_instances),
        *findings,
    ]


def cka_figures(plan) -> list[str]:
    """The figures drawn from the CKA table by the one plot rule (``plot_cka``)."""
    kept = [f for f in CKA_FIGURES if f != "finetuned_vs_base" or plan.finetunes]
    return [
        *kept,
        *(DEPTH_FIGURES if plan.deep_depths else ()),
        *(filter_figure(a, b) for a, b in filter_pairs(plan)),
    ]


def filter_figure(a: str, b: str) -> str:
    return f"filters_{a}_vs_{b}"


def filter_pairs(plan) -> list[tuple[str, str]]:
    """Filter heatmaps: each of figures.filter_instances with itself, and the first two when
    similarity.filters compares filters across instances."""
    chosen = plan.filter_instances
    pairs = [(x, x) for x in chosen]
    across = plan.config["similarity"]["filters"]["across"]
    return pairs + ([(chosen[0], chosen[1])] if across and len(chosen) > 1 else [])


def reconstruction_domains(plan) -> list[str]:
    """The test sets with a reconstruction grid: every domain, when the model reconstructs."""
    return list(plan.domains) if plan.task != "classify" else []


def reconstruction_models(plan, domain: str) -> dict[str, str]:
    """For a test set: its in-domain base (the scratch counterpart), the next domain's base, and
    the instance fine-tuned from that domain to this one (first seed; with fine-tuning)."""
    s, domains = plan.seeds[0], plan.domains
    models = {"in_domain": Instance(domain, s).name}
    if len(domains) > 1:
        o = domains[(domains.index(domain) + 1) % len(domains)]
        models["cross_domain"] = Instance(o, s).name
        if plan.finetunes:
            models["finetuned"] = Instance(domain, s, o).name
    return models


def cka_options(plan, figure: str) -> dict:
    """What ``plot_cka`` gives the CKA figure ``figure``: its drawing ``kind`` and panels."""
    heatmaps = {filter_figure(a, b): (a, b) for a, b in filter_pairs(plan)}
    if figure in heatmaps:
        a, b = heatmaps[figure]
        layers = plan.config["similarity"]["filters"]["layers"]
        return {"kind": "filter_heatmap", "a": a, "b": b, "layers": layers}
    builders = {
        "base_layer_strips": lambda: {"base": plan.base},
        "finetuned_vs_base": lambda: {"base": plan.base, "finetuned": plan.finetuned},
        "layer_matrices": lambda: {"pairs": layer_matrix_pairs(plan), "test_set": plan.domains[0]},
        "checkpoints_vs_final": lambda: {"base": plan.base, "checkpoints": _shared_early(plan)},
        "checkpoint_matrices": lambda: checkpoint_matrix_options(plan),
        "depth_matrices": lambda: depth_options(plan, figure),
        "depth_comparison": lambda: depth_options(plan, figure),
    }
    if figure not in builders:
        raise ValueError(f"unknown CKA figure {figure!r}; expected one of {cka_figures(plan)}")
    kind = figure if figure in CKA_FIGURES else "depth_matrix"
    return {"kind": kind, **builders[figure]()}


def layer_matrix_pairs(plan) -> dict[str, list[str]]:
    """Layer x layer panels: the first filter instance with itself and with its domain's next
    seed, and (fine-tuning) the next domain's base against its fine-tuned version."""
    a = plan.filter_instances[0]
    inst = parse(a)
    seeds = [s for s in plan.seeds if s != inst.seed]
    pairs = {f"{a} with itself": [a, a]}
    if seeds:
        b = Instance(inst.domain, seeds[0]).name
        pairs[f"{a} vs {b}"] = [a, b]
    others = [d for d in plan.domains if d != inst.domain]
    if plan.finetunes and others:
        src, ft = (
            Instance(others[0], inst.seed).name,
            Instance(inst.domain, inst.seed, others[0]).name,
        )
        pairs[f"{src} vs {ft}"] = [src, ft]
    return pairs


def checkpoint_matrix_options(plan) -> dict:
    """Layer x layer panels of each saved checkpoint of :attr:`Plan.matrix_instance` against
    its final weights, on its own domain's test set, under the headline estimator."""
    name = plan.matrix_instance
    return {
        "pairs": {f"{name}@{c} vs final": [model_name(name, c), name] for c in _early(plan, name)},
        "test_set": parse(name).domain,
        "estimator": _headline(plan),
    }


def _headline(plan) -> str:
    """The name of ``figures.estimator``, the headline estimator."""
    return Estimator.from_name(plan.config["figures"]["estimator"]).name


def _early(plan, instance: str) -> list[str]:
    return [c for c in plan.recorded_checkpoints(instance) if c != FINAL]


def _shared_early(plan) -> list[str]:
    """The checkpoints before final that every base instance records (init, phase ends)."""
    kept = [set(_early(plan, b)) for b in plan.base]
    return [c for c in _early(plan, plan.base[0]) if all(c in k for k in kept)]


def depth_options(plan, figure: str) -> dict:
    """Layer x layer panels across depths, each on its first model's domain's test set:
    ``depth_matrices``, the base instances of the first deep seed at every depth with
    themselves; ``depth_comparison``, depth 1 against each deeper depth, base and fine-tuned.
    {title: [a_model, b_model, test_set]}, a grid of ``ncol`` columns."""
    seed, panels = plan.deep_seeds[0], {}
    for name in plan.base_at([seed]) + plan.finetuned_at([seed]):
        shallow = parse(name)
        if figure == "depth_matrices" and not shallow.finetuned:
            for d in plan.depths:
                x = shallow.at_depth(d).name
                panels[f"{x} with itself"] = [x, x, shallow.domain]
        elif figure == "depth_comparison":
            for d in plan.deep_depths:
                x = shallow.at_depth(d).name
                panels[f"{shallow.name} vs {x}"] = [shallow.name, x, shallow.domain]
    ncol = len(plan.depths) if figure == "depth_matrices" else max(2, len(plan.deep_depths))
    title = {
        "depth_matrices": "Layer x layer CKA of each depth with itself",
        "depth_comparison": "Layer x layer CKA of depth 1 against the deeper models",
    }[figure]
    return {
        "panels": panels,
        "estimator": _headline(plan),
        "ncol": ncol,
        "title": title,
    }
