"""Figures at many seeds read at a glance: beyond a few seeds per family each comparison is
drawn as its mean (or median) with a band from the lowest to the highest seed, one panel per
domain rather than per seed; at a few seeds every instance is drawn as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ckaflow.figures.cka import base_layer_strips, checkpoints_vs_final, finetuned_vs_base
from ckaflow.figures.seeds import MAX_SEEDS_DRAWN, curve_spread, seeds_per_family, spread
from ckaflow.figures.training import loss_curves
from ckaflow.names import Instance, model_name
from ckaflow.provenance import write_parquet
from ckaflow.similarity import MODEL_GROUP, Estimator
from ckaflow.stages.cka_table import PAIR_CKA, read_cka_table

DOMAINS = ["natural", "synth"]
LAYERS = ["conv1", "conv2", "conv3"]
CHECKPOINTS = ["init", "step50", "phase1"]
ESTIMATORS = [Estimator.from_name("linear-biased"), Estimator.from_name("linear-debiased")]


def instances(seeds: int) -> tuple[list[str], list[str]]:
    """The base and fine-tuned instances of a two-domain study of ``seeds`` seeds."""
    base = [Instance(d, s).name for d in DOMAINS for s in range(1, seeds + 1)]
    ft = [Instance(t, s, f).name for t in DOMAINS for f in DOMAINS if f != t
          for s in range(1, seeds + 1)]  # fmt: skip
    return base, ft


def synthetic_cka(seeds: int, rng=None) -> pd.DataFrame:
    """A CKA table of layer and model rows, the way results/cka.parquet holds them: every base
    pair, every fine-tuned instance against every base, each checkpoint against its final
    weights; CKA falls with depth, across domains and towards the initial weights."""
    rng = rng or np.random.default_rng(0)
    base, ft = instances(seeds)
    groups = [*LAYERS, MODEL_GROUP]
    pairs = [(a, b, 0.95 if a.split("-")[0] == b.split("-")[0] else 0.8)
             for a in base for b in base if a != b]  # fmt: skip
    pairs += [(f, b, 0.9 if b.split("-")[-1] == f.split("-")[-1] else 0.75)
              for f in ft for b in base]  # fmt: skip
    pairs += [(model_name(b, c), b, 0.3 + 0.2 * i) for b in base
              for i, c in enumerate(CHECKPOINTS)]  # fmt: skip
    rows = [
        {"test_set": ts, **e.columns(), "a_model": a, "a_group": g, "b_model": b, "b_group": g,
         "cka": float(np.clip(level - 0.08 * depth + rng.normal(0, 0.03), 0, 1))}
        for ts in DOMAINS for e in ESTIMATORS for a, b, level in pairs
        for depth, g in enumerate(groups)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def synthetic_histories(seeds: int, rng=None) -> dict[str, pd.DataFrame]:
    """Every base instance's validation history, every 50 steps; seeds stop at different steps."""
    rng = rng or np.random.default_rng(0)
    out = {}
    for name in instances(seeds)[0]:
        steps = np.arange(0, 50 * int(rng.integers(20, 40)) + 1, 50)
        decay = np.exp(-steps / 600)
        out[name] = pd.DataFrame(
            {"step": steps, "phase": 1, "learning_rate": 1e-2, "train_loss": 0.1 * decay}
            | {f"val_loss_{d}": (0.02 + 0.1 * decay) * rng.uniform(0.9, 1.1) for d in DOMAINS}
        )
    return out


def panels(plot) -> int:
    """How many panels ``plot`` draws."""
    plot.draw()
    return len(plot.layout.layout)


def geoms(plot) -> list[str]:
    return [type(layer.geom).__name__ for layer in plot.layers]


MANY = 10  # Kornblith et al.'s seeds per network


def test_base_layer_strips_summarise_many_seeds_by_kind_of_pair():
    base, _ = instances(MANY)
    plot = base_layer_strips(synthetic_cka(MANY), base, LAYERS)
    data = plot.data
    # a row per estimator, test set, kind of pair and layer: not per pair of seeds
    assert len(data) == len(ESTIMATORS) * len(DOMAINS) * 3 * len(LAYERS)
    assert "geom_linerange" in geoms(plot)
    assert (data["low"] <= data["cka"]).all() and (data["cka"] <= data["high"]).all()
    same = data[data["pair"] == "natural vs natural"]
    assert set(same["n"]) == {MANY * (MANY - 1) // 2}
    assert f"{MANY} seeds per family summarised" in plot.labels.subtitle
    assert panels(plot) == len(ESTIMATORS) * len(DOMAINS)


def test_finetuned_vs_base_summarises_each_relation_per_family():
    base, ft = instances(MANY)
    plot = finetuned_vs_base(synthetic_cka(MANY), ft, base, LAYERS)
    data = plot.data
    assert "bar: lowest to highest" in plot.labels.subtitle
    assert set(data[data["relation"] == "its base"]["n"]) == {MANY}
    assert set(data[data["relation"] == "other seed, target domain"]["n"]) == {MANY * (MANY - 1)}
    assert len(data) == len(ESTIMATORS) * len(DOMAINS) * 2 * 4 * len(LAYERS)
    assert "geom_linerange" in geoms(plot)
    assert panels(plot) == len(ESTIMATORS) * len(DOMAINS)


def test_checkpoints_vs_final_draws_a_band_per_checkpoint_and_domain():
    base, _ = instances(MANY)
    plot = checkpoints_vs_final(synthetic_cka(MANY), base, CHECKPOINTS, [*LAYERS, MODEL_GROUP])
    data = plot.data
    assert "geom_ribbon" in geoms(plot)
    assert set(data["n"]) == {MANY}
    assert "mean over the instances, band: lowest to highest" in plot.labels.subtitle
    lines = data.groupby(["estimator_label", "test set"], observed=True)["line"]
    assert set(lines.nunique()) == {len(CHECKPOINTS)}  # one line per checkpoint per panel
    # a column per domain's instances, on their own test set: never a panel per seed
    assert set(data["test set"]) == {f"{d} instances, own test set" for d in DOMAINS}
    assert panels(plot) == len(ESTIMATORS) * len(DOMAINS)


def test_loss_curves_draw_the_median_seed_in_a_band():
    plot = loss_curves(synthetic_histories(MANY))
    data = plot.data
    assert "geom_ribbon" in geoms(plot)
    assert (data["low"] <= data["loss"]).all() and (data["loss"] <= data["high"]).all()
    assert data["n"].max() == MANY and data["n"].min() >= 1  # seeds stop at different steps
    assert "median over the seeds still training" in plot.labels.subtitle
    assert panels(plot) == len(DOMAINS)


@pytest.mark.parametrize("seeds", [2, MAX_SEEDS_DRAWN])
def test_a_few_seeds_keep_every_instance_drawn(seeds):
    base, ft = instances(seeds)
    table = synthetic_cka(seeds)
    strips = base_layer_strips(table, base, LAYERS)
    assert geoms(strips) == ["geom_point"] and "each point one pair" in strips.labels.title
    assert strips.labels.subtitle is None
    n_pairs = len(base) * (len(base) - 1) // 2
    assert len(strips.data) == len(ESTIMATORS) * len(DOMAINS) * n_pairs * len(LAYERS)
    assert geoms(finetuned_vs_base(table, ft, base, LAYERS)) == ["geom_point", "geom_point"]
    lines = checkpoints_vs_final(table, base, CHECKPOINTS, [*LAYERS, MODEL_GROUP])
    assert lines.data["line"].nunique() == len(base) * len(CHECKPOINTS)
    assert panels(lines) == len(ESTIMATORS) * len(DOMAINS)
    curves = loss_curves(synthetic_histories(seeds))
    assert geoms(curves) == ["geom_line"] and "seeds overlaid" in curves.labels.title


def test_seeds_are_counted_per_family_and_spread_leaves_undefined_values_out():
    base, ft = instances(4)
    assert seeds_per_family(base) == seeds_per_family(ft) == 4
    assert seeds_per_family([*base, "natural-9"]) == 5
    t = pd.DataFrame({"g": ["a", "a", "a", "b"], "cka": [0.2, np.nan, 0.6, 0.5]})
    s = spread(t, ["g"]).set_index("g")
    assert s.loc["a", "cka"] == pytest.approx(0.4)
    assert (s.loc["a", "low"], s.loc["a", "high"], s.loc["a", "n"]) == (0.2, 0.6, 2)


def test_curve_spread_interpolates_each_curve_only_within_its_own_steps():
    long = pd.DataFrame(
        {
            "instance": ["x", "x", "x", "y", "y"],
            "g": "a",
            "step": [0, 10, 20, 0, 5],
            "loss": [1.0, 0.5, 0.25, 2.0, 1.0],
        }
    )
    s = curve_spread(long, ["g"], "step", "loss").set_index("step")
    assert list(s.index) == [0, 5, 10, 20]
    assert (s.loc[5, "low"], s.loc[5, "high"], s.loc[5, "n"]) == (0.75, 1.0, 2)
    assert (s.loc[20, "loss"], s.loc[20, "n"]) == (0.25, 1)  # y stopped at step 5


def test_the_figures_need_only_the_columns_they_read(tmp_path):
    table = synthetic_cka(4)
    assert sorted(table.columns) == sorted(PAIR_CKA)  # every figure above drew from these alone
    path = tmp_path / "cka.parquet"
    write_parquet(table.assign(hsic_xy=1.0, n=200), path, {})
    got = read_cka_table(path, groups=LAYERS, columns=PAIR_CKA)
    assert list(got.columns) == PAIR_CKA and got["a_group"].dtype != "category"
    assert len(got) == (table["a_group"].isin(LAYERS)).sum()
    with pytest.raises(ValueError, match=r"no columns \['hsic'\] in the CKA table"):
        read_cka_table(path, columns=["cka", "hsic"])
