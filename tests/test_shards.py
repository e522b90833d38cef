"""The similarity stage's pieces on fake activations: Gram files, HSIC shards, the CKA table."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from ckaflow.model.tied_layers import LAYER_GROUPS, LAYER_SHAPES, LAYERS
from ckaflow.similarity import Estimator, UndefinedCKAWarning, cka, group_cka
from ckaflow.stages.activations import save_activations
from ckaflow.stages.cka_table import PAIR_KEY
from ckaflow.stages.grams import write_grams
from ckaflow.stages.hsic import LAYERS_BLOCK, blocks_of, hsic_shard, reduce_cka, shard_blocks
from ckaflow.stages.intervals import compute_intervals

BLOCKS = (LAYERS_BLOCK, *LAYERS)  # every layer of the thesis' model has filters
N = 12
MODELS = ["synth-1", "natural-1", "synth-1@init"]
ESTIMATORS = [
    Estimator.from_dict(e)
    for e in ({"debiased": False}, {"debiased": True}, {"debiased": False, "centering": "global"})
]


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """Fake activations (small spatial sizes) of three models, their Grams and every shard."""
    root = tmp_path_factory.mktemp("stage")
    rng = np.random.default_rng(0)
    acts = {}
    for model in MODELS:
        for ts in ("natural", "synth"):
            layers = {}
            for layer in LAYERS:
                h, w, c = LAYER_SHAPES[layer]
                a = np.maximum(rng.normal(size=(N, c, 2, 3)) + 0.3, 0).astype(np.float32)
                if model == "natural-1" and layer == "conv2":
                    a[:, 5] = 0.0  # a dead filter
                layers[layer] = acts[model, ts, layer] = a
            save_activations(root / "act" / model / ts, layers)
    grams = {}
    for model in MODELS:
        grams[model] = root / "grams" / f"{model}.npz"
        write_grams(root / "act", model, ["natural", "synth"], ESTIMATORS, grams[model])
    shards = []
    for ts in ("natural", "synth"):
        for e in ESTIMATORS:
            for shard in range(3):
                blocks = shard_blocks(shard, 3, BLOCKS)
                # the dead filter's block warns, naming it
                ctx = (
                    pytest.warns(UndefinedCKAWarning, match="natural-1:conv2/f05")
                    if "conv2" in blocks
                    else contextlib.nullcontext()
                )
                with ctx:
                    t = hsic_shard(
                        grams,
                        test_set=ts,
                        estimator=e,
                        shard=shard,
                        shards=3,
                        filter_models=["synth-1", "natural-1"],
                    )
                path = root / f"{ts}-{e.name}-{shard}.parquet"
                t.to_parquet(path)
                shards.append(path)
    return acts, reduce_cka(shards), grams


def test_shards_deal_out_every_block_once():
    for shards in (1, 2, 5, 11):
        dealt = [b for s in range(shards) for b in shard_blocks(s, shards, BLOCKS)]
        assert sorted(dealt) == sorted(BLOCKS)
    with pytest.raises(ValueError, match="shard 3"):
        shard_blocks(3, 3, BLOCKS)


def test_table_rows_are_complete_and_unique(stage):
    _, table, _ = stage
    assert not table.duplicated(subset=PAIR_KEY).any()
    per_combo = len(table) / (2 * len(ESTIMATORS))
    layer_pairs = (3 * 11) ** 2  # layers + model of all three models
    filter_pairs = 9 * (2 * 16) ** 2 + (2 * 1) ** 2  # within each layer, final models only
    assert per_combo == layer_pairs + filter_pairs
    assert not (table["a_model"].str.contains("@") & table["a_group"].str.contains("/")).any()


def test_values_agree_with_cka_on_the_activations(stage):
    acts, table, _ = stage
    rows = table[table["cka"].notna()].sample(40, random_state=2)
    for r in rows.itertuples():
        e = Estimator.from_dict({"debiased": r.estimator == "debiased", "centering": r.centering})

        def units(model, group, ts=r.test_set):
            if group == "model":
                return np.concatenate(
                    [acts[model, ts, layer].reshape(N, -1) for layer in LAYERS], axis=1
                )
            layer, _, f = group.partition("/f")
            return acts[model, ts, layer][:, int(f)] if f else acts[model, ts, layer]

        want = cka(units(r.a_model, r.a_group), units(r.b_model, r.b_group), **e.options())
        assert abs(r.cka - want) <= 1e-6, r


def test_dead_filter_is_nan_and_self_cka_is_one(stage):
    _, table, _ = stage
    dead = table[(table["a_model"] == "natural-1") & (table["a_group"] == "conv2/f05")]
    assert len(dead) and dead["cka"].isna().all()
    selfs = table[(table["a_model"] == table["b_model"]) & (table["a_group"] == table["b_group"])]
    ok = selfs["cka"].notna()
    assert np.allclose(selfs.loc[ok, "cka"], 1.0, atol=1e-9) and (~ok).sum() == 2 * len(ESTIMATORS)


def test_reduce_refuses_biased_values_outside_the_unit_interval(tmp_path, stage):
    _, table, _ = stage
    bad = table.copy()
    for col in bad.select_dtypes("category"):
        bad[col] = bad[col].astype(str)
    bad.loc[bad.index[(bad["estimator"] == "biased").to_numpy().nonzero()[0][3]], "cka"] = 1.01
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="outside"):
        reduce_cka([tmp_path / "bad.parquet"])
    pd.concat([bad.iloc[:5], bad.iloc[:5]]).to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(ValueError, match="duplicate"):
        reduce_cka([tmp_path / "dup.parquet"])


def test_shards_and_group_cka_are_one_pipeline(stage):
    """The workflow's Gram files + HSIC blocks give group_cka's numbers, bit for bit."""
    acts, table, _ = stage
    finals = ["synth-1", "natural-1"]
    instances = {m: {layer: acts[m, "synth", layer] for layer in LAYERS} for m in finals}
    with pytest.warns(UndefinedCKAWarning, match="natural-1:conv2/f05"):
        names, res = group_cka(instances, [ESTIMATORS[1]], channel_axis=1)
    got = table[(table["test_set"] == "synth") & (table["estimator"] == "debiased")]
    got = got.set_index(["a_model", "a_group", "b_model", "b_group"])["cka"]
    index = {name: i for i, name in enumerate(names)}
    for a, b in [
        ("synth-1:conv1/f03", "natural-1:conv1/f07"),
        ("synth-1:pool2", "natural-1:model"),
    ]:
        want = res["linear-debiased"].cka[index[a], index[b]]
        assert got[(*a.split(":"), *b.split(":"))] == want


def test_intervals_come_from_the_same_gram_files(stage):
    """compute_intervals' estimates are the table's values, for pairs of one group and of two
    groups of a model; a Gram file without a layer group is refused naming the file."""
    _, table, grams = stage
    pairs = [("synth-1", "natural-1"), ("synth-1@init", "synth-1")]
    rows = [(a, g, b, g) for a, b in pairs for g in LAYER_GROUPS]
    rows += [
        ("synth-1", "conv1", "synth-1", "conv2"),
        ("natural-1", "deconv2", "natural-1", "pool1"),
    ]
    est = ESTIMATORS[1]
    got = compute_intervals(
        grams, test_set="synth", estimator=est, rows=rows, resamples=100,
        confidence=0.9, seed=0,
    )  # fmt: skip
    assert len(got) == 2 * len(LAYER_GROUPS) + 2 and (got["low"] <= got["high"]).all()
    want = table[(table["test_set"] == "synth") & (table["estimator"] == "debiased")]
    merged = got.merge(want, on=["a_model", "a_group", "b_model", "b_group"])
    assert len(merged) == len(got)
    assert np.allclose(merged["cka_x"], merged["cka_y"], atol=1e-12)
    again = compute_intervals(
        grams, test_set="synth", estimator=est, rows=rows, resamples=100,
        confidence=0.9, seed=0,
    )  # fmt: skip
    assert np.array_equal(np.stack(got["replicates"]), np.stack(again["replicates"]))
    with pytest.raises(ValueError, match="no Gram file for"):
        compute_intervals(
            grams, test_set="synth", estimator=est, resamples=100, confidence=0.9, seed=0,
            rows=[("synth-2", "model", "synth-1", "model")],
        )  # fmt: skip


def test_each_interval_row_gets_its_permutation_null_from_the_gram_files(stage):
    """With null_permutations, every row carries the 95th percentile of its null and a p-value,
    the same as shuffling the second side's images of the stored Grams one row at a time; the
    rows' CKA and intervals are the same as without the null."""
    from ckaflow.similarity.null import permutation_null
    from ckaflow.stages.grams import gram_key, read_grams

    _, _, grams = stage
    rows = [("synth-1", g, "natural-1", g) for g in LAYER_GROUPS]
    est = ESTIMATORS[1]
    kwargs = dict(test_set="synth", estimator=est, rows=rows, resamples=100, confidence=0.9,
                  seed=[0, 1])  # fmt: skip
    plain = compute_intervals(grams, **kwargs)
    got = compute_intervals(grams, null_permutations=39, **kwargs)
    assert plain["null_q95"].isna().all() and got["p_value"].notna().any()
    assert np.array_equal(plain["cka"], got["cka"], equal_nan=True)
    ga, _, pa = read_grams(grams["synth-1"], gram_key("synth", est))
    gb, n, pb = read_grams(grams["natural-1"], gram_key("synth", est))
    for row, g in enumerate(LAYER_GROUPS):
        packed = np.stack([pa[ga.index(g)], pb[gb.index(g)]])
        obs, null = permutation_null(packed, np.array([[0, 1]]), n=n, permutations=39,
                                     rng=np.random.default_rng([0, 1, 7]))  # fmt: skip
        if np.isnan(obs[0]):
            assert np.isnan(got["null_q95"].iloc[row])
            continue
        assert got["null_q95"].iloc[row] == pytest.approx(np.quantile(null[:, 0], 0.95))
        assert got["p_value"].iloc[row] == (1 + np.sum(null[:, 0] >= obs[0])) / 40


def test_filters_only_where_asked_and_within_each_instance(tmp_path, stage):
    """similarity.filters: a Gram file keeps the filters of the layers asked for only; with
    across false each instance's filters meet only each other, and the rows that are computed
    are the very rows of the full table."""
    acts, full, _ = stage
    grams = {}
    for model in MODELS:
        save_activations(tmp_path / model / "natural",
                         {layer: acts[model, "natural", layer] for layer in LAYERS})  # fmt: skip
        grams[model] = tmp_path / f"{model}.npz"
        layers = ["conv1", "conv3"] if model == "synth-1" else []
        write_grams(tmp_path, model, ["natural"], ESTIMATORS[:1], grams[model],
                    filter_layers=layers)  # fmt: skip
    with np.load(grams["synth-1"]) as f:
        kept = {g.split("/")[0] for g in f["groups"] if "/" in g}
    assert kept == {"conv1", "conv3"}
    with np.load(grams["natural-1"]) as f:
        assert not any("/" in g for g in f["groups"])
    t = hsic_shard(grams, test_set="natural", estimator=ESTIMATORS[0], shard=0, shards=1,
                   filter_models=["synth-1", "natural-1"], across=False)  # fmt: skip
    filters = t[t["a_group"].str.contains("/")]
    assert len(filters) == 2 * 16**2  # two layers of one instance, within it
    assert (filters["a_model"] == filters["b_model"]).all()
    key = [*PAIR_KEY]
    both = filters.astype({c: str for c in key}).merge(
        full.astype({c: str for c in key}), on=key, suffixes=("", "_full"))  # fmt: skip
    assert len(both) == len(filters) and np.allclose(both["cka"], both["cka_full"], equal_nan=True)
    # a layer whose filters are not kept is summed as it is read: the same layer numbers, bit
    # for bit
    layers = t[~t["a_group"].str.contains("/")].astype({c: str for c in key})
    both = layers.merge(full.astype({c: str for c in key}), on=key, suffixes=("", "_full"))
    assert len(both) == len(layers) == (3 * 11) ** 2
    assert both["cka"].equals(both["cka_full"]) and both["hsic_xx"].equals(both["hsic_xx_full"])
    assert blocks_of({"a-1": ["conv1/f00", "conv1"], "b-1": ["conv1/f00"]}, ["a-1", "b-1"],
                     across=False) == [LAYERS_BLOCK, "a-1:conv1", "b-1:conv1"]  # fmt: skip


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """Activations of two models on 48 images, their Grams on minibatches of 16 (and whole)."""
    root = tmp_path_factory.mktemp("batched")
    rng = np.random.default_rng(5)
    acts = {}
    for model in ("a-1", "b-1"):
        base = rng.normal(size=(48, 3, 2, 3))
        acts[model] = {
            "conv1": np.maximum(base + 0.3, 0).astype(np.float32),
            "conv2": np.maximum(base[:, [0, 1, 2, 0]] * rng.normal(size=(1, 4, 1, 1))
                                + 0.5 * rng.normal(size=(48, 4, 2, 3)), 0).astype(np.float32),
        }  # fmt: skip
        save_activations(root / model / "t", acts[model])
    grams = {}
    for size in (None, 16):
        for model in acts:
            grams[size, model] = root / f"{model}-{size}.npz"
            write_grams(root, model, ["t"], ESTIMATORS, grams[size, model], batch_size=size)
    return acts, grams


@pytest.mark.parametrize("e", range(len(ESTIMATORS)))
def test_minibatch_cka_is_the_mean_hsic_over_batches_normalised_once(batched, e):
    """HSIC of each pair on each batch of 16 consecutive images, averaged, then normalised
    (Nguyen et al. 2021), against the float64 reference on the activations themselves."""
    import reference as ref

    acts, grams = batched
    est = ESTIMATORS[e]
    files = {m: grams[16, m] for m in acts}
    t = hsic_shard(files, test_set="t", estimator=est, shard=0, shards=1, filter_models=list(acts))
    assert (t["n"] == 48).all() and len(t) == (2 * 3) ** 2 + (2 * 3) ** 2 + (2 * 4) ** 2

    def units(model, group):
        if group == "model":
            return np.concatenate([a.reshape(48, -1) for a in acts[model].values()], axis=1)
        layer, _, f = group.partition("/f")
        return acts[model][layer][:, int(f)] if f else acts[model][layer]

    opts = dict(debiased=est.debiased, centering=est.centering)
    for r in t.sample(25, random_state=1).itertuples():
        x, y = units(r.a_model, r.a_group).reshape(48, -1), units(r.b_model, r.b_group)
        y = y.reshape(48, -1)
        h = [[ref.hsic(ref.gram(p[s:s + 16], centering=est.centering),
                       ref.gram(q[s:s + 16], centering=est.centering), **opts)
              for s in (0, 16, 32)] for p, q in ((x, y), (x, x), (y, y))]  # fmt: skip
        xy, xx, yy = (np.mean(v) for v in h)
        want = xy / np.sqrt(xx * yy) if xx > 0 and yy > 0 else np.nan
        assert r.hsic_xy == pytest.approx(xy, rel=1e-6, abs=1e-12)
        assert r.cka == pytest.approx(want, rel=1e-6, abs=1e-9, nan_ok=True)
    whole = hsic_shard({m: grams[None, m] for m in acts}, test_set="t", estimator=est, shard=0,
                       shards=1, filter_models=list(acts))  # fmt: skip
    assert not np.allclose(whole["cka"], t["cka"], equal_nan=True)  # batches are not the whole


def test_minibatch_intervals_and_null_from_the_batched_grams(batched):
    """Intervals over images resample within each batch; the estimate is the HSIC stage's
    minibatch CKA; the null shuffles images within batches: unrelated groups stay inside it,
    related ones clear it; Gram files on other minibatches are refused."""
    acts, grams = batched
    est = ESTIMATORS[1]
    files = {m: grams[16, m] for m in acts}
    rows = [("a-1", g, "b-1", g) for g in ("conv1", "conv2", "model")]
    rows += [("a-1", "conv1", "a-1", "conv2")]
    got = compute_intervals(files, test_set="t", estimator=est, rows=rows, resamples=200,
                            confidence=0.9, seed=[0, 1], null_permutations=59)  # fmt: skip
    t = hsic_shard(files, test_set="t", estimator=est, shard=0, shards=1, filter_models=[])
    want = t.set_index(["a_model", "a_group", "b_model", "b_group"])["cka"]
    for r in got.itertuples():
        assert r.cka == pytest.approx(want[r.a_model, r.a_group, r.b_model, r.b_group], abs=1e-12)
        assert r.low <= r.cka <= r.high and len(r.replicates) == 200
    # a-1 and b-1 are unrelated (drawn apart): inside their null; conv2 is made from conv1
    unrelated, related = got.iloc[:3], got.iloc[3]
    assert (unrelated["cka"] < unrelated["null_q95"]).all() and (unrelated["p_value"] > 0.05).all()
    assert related.cka > related.null_q95 and related.p_value == 1 / 60
    again = compute_intervals(files, test_set="t", estimator=est, rows=rows, resamples=200,
                              confidence=0.9, seed=[0, 1], null_permutations=59)  # fmt: skip
    assert np.array_equal(np.stack(got["replicates"]), np.stack(again["replicates"]))
    mixed = {"a-1": grams[16, "a-1"], "b-1": grams[None, "b-1"]}
    with pytest.raises(ValueError, match="other minibatches"):
        compute_intervals(mixed, test_set="t", estimator=est, rows=rows, resamples=100,
                          confidence=0.9, seed=0)  # fmt: skip
    with pytest.raises(ValueError, match="minibatch"):
        hsic_shard(mixed, test_set="t", estimator=est, shard=0, shards=1, filter_models=[])
