"""The numbers the similarity path gives from fixed, committed inputs, held on any CPU.

Trained weights depend on the CPU: another instruction set sums in another order and training
amplifies that (docs/reproducibility.md), so a test that holds a trained run's CKA values to one
CPU's rounding fails on another. Here the inputs do not depend on the CPU: the final weights of
three instances of a tiny run (``synth-1``, ``natural-1``, ``natural-from-synth-1`` of
config/tiny.yaml) and both test sets, committed under ``tests/data/fixed_weights/``. From them
the workflow's own stage functions (extraction, Grams, HSIC, the CKA table, the test losses) must
give the committed numbers to float32 rounding (a forward pass on another CPU differs in the last
bits only), and exactly the same undefined (dead-filter) values.

After a change that is meant to change these numbers, write them again and say why in the
commit: ``python tests/test_fixed_weights.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ckaflow.model.tied_layers import LAYER_SHAPES
from ckaflow.similarity import Estimator, UndefinedCKAWarning
from ckaflow.stages import evaluate
from ckaflow.stages.activations import extract
from ckaflow.stages.grams import write_grams
from ckaflow.stages.hsic import hsic_shard, reduce_cka

DATA = Path(__file__).resolve().parent / "data" / "fixed_weights"
MODELS = ["synth-1", "natural-1", "natural-from-synth-1"]
TEST_SETS = ["natural", "synth"]
ESTIMATORS = [Estimator.from_dict(e) for e in (
    {"debiased": False}, {"debiased": True}, {"kernel": "rbf", "debiased": False},
    {"debiased": False, "centering": "global"})]  # fmt: skip
DIGEST = DATA / "cka_digest.csv"
LOSSES = DATA / "test_losses.csv"
KEY = ["test_set", "kernel", "estimator", "centering", "a_model", "a_group"]


def checkpoint(model: str) -> Path:
    return DATA / "models" / model / "final.npz"


def compute(work: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CKA table's digest (per test set, estimator, model and group: rows, undefined, sum
    and sum of squares of the defined values) and each model's mean test loss per test set,
    computed from the committed weights and test sets by the stage functions."""
    from ckaflow.data import load_split

    tests = {d: load_split(DATA / "data" / d, "test") for d in TEST_SETS}
    layers = {name: list(shape) for name, shape in LAYER_SHAPES.items()}
    grams = {}
    for model in MODELS:
        extract(checkpoint(model), tests, work / "act" / model, layers)
        grams[model] = work / f"{model}.npz"
        write_grams(work / "act", model, TEST_SETS, ESTIMATORS, grams[model])
    shards = []
    for test_set in TEST_SETS:
        for e in ESTIMATORS:
            path = work / f"{test_set}-{e.name}.parquet"
            with warnings.catch_warnings():  # dead filters warn, as they should: counted below
                warnings.simplefilter("ignore", UndefinedCKAWarning)
                hsic_shard(grams, test_set=test_set, estimator=e, shard=0, shards=1,
                           filter_models=MODELS).to_parquet(path)  # fmt: skip
            shards.append(path)
    table = reduce_cka(shards)
    t = table[[*KEY, "cka"]].astype({c: str for c in KEY})
    t = t.assign(defined=t["cka"].notna(), sq=t["cka"] ** 2)
    g = t.groupby(KEY, sort=True)
    digest = pd.DataFrame({"rows": g.size(), "undefined": g.size() - g["defined"].sum(),
                           "sum": g["cka"].sum(), "sumsq": g["sq"].sum()})  # fmt: skip
    digest = digest.reset_index()
    losses = evaluate.test_losses({m: checkpoint(m) for m in MODELS},
                         {d: str(DATA / "data" / d) for d in TEST_SETS})  # fmt: skip
    mean = losses.groupby(["instance", "test_set"], sort=True)["loss"].mean().reset_index()
    return digest, mean


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    return compute(tmp_path_factory.mktemp("fixed"))


def test_fixed_weights_give_the_committed_cka_numbers_on_any_cpu(computed):
    got, _ = computed
    want = pd.read_csv(DIGEST)
    assert len(got) == len(want) > 100
    # the structure exactly: every group of every model and its rows
    pd.testing.assert_frame_equal(got[KEY + ["rows"]], want[KEY + ["rows"]], check_dtype=False)
    # The values to float32 rounding of a forward pass, and exactly the same undefined ones,
    # except the debiased CKA of single filters: the unbiased self-HSIC of a filter that fires on
    # a handful of units is 0 up to rounding, so its sign (NaN or a value) follows the CPU's (on
    # emulated AVX2 and SSE4.1 paths the undefined count of 50 and 102 of these 870 groups
    # changed; everything held here moved by under 4e-6). The engine's debiased values are held
    # to a float64 reference on random inputs in test_similarity.py.
    fragile = (got["estimator"] == "debiased") & got["a_group"].str.contains("/")
    assert fragile.sum() < len(got) / 2
    g, w = got[~fragile], want[~fragile.to_numpy()]
    np.testing.assert_array_equal(g["undefined"], w["undefined"])
    np.testing.assert_allclose(g[["sum", "sumsq"]], w[["sum", "sumsq"]], rtol=1e-4, atol=1e-6)


def test_fixed_weights_give_the_committed_test_losses_on_any_cpu(computed):
    _, got = computed
    want = pd.read_csv(LOSSES)
    assert list(got["instance"]) == list(want["instance"])
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)


def save(work: Path) -> None:
    """Write the committed numbers from the committed inputs (after an intended change)."""
    digest, losses = compute(work)
    digest.to_csv(DIGEST, index=False, float_format="%.10g")
    losses.to_csv(LOSSES, index=False, float_format="%.10g")
    print(f"wrote {DIGEST} ({len(digest)} rows) and {LOSSES}")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save(Path(tmp))
