"""What a study will cost before it runs (ckaflow.study.cost, ``python -m ckaflow plan``): the
rows it predicts are the rows the workflow writes, bounded filters bound them, and a study over
its memory budget stops naming what would make it fit. benchmarks/bench_scale.py measures the
jobs' memory beside these predictions."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, TINY

from ckaflow.model.build import make_spec, with_recorded
from ckaflow.study import params
from ckaflow.study.budget import assess, batch_size, check_at_load
from ckaflow.study.comparisons import filter_scope
from ckaflow.study.config import ConfigError
from ckaflow.study.cost import largest_job, study_costs
from ckaflow.study.load import load_config
from ckaflow.study.plan import Plan


def parts(config):
    plan = Plan.from_config(config)
    scope = filter_scope(plan)
    specs = {
        d: with_recorded(
            make_spec(
                params.model(plan),
                depth=d,
                input_shape=params.input_shape(plan),
                num_classes=None,
                task=plan.task,
            ),
            "auto",
        )  # fmt: skip
        for d in plan.depths
    }
    return plan, scope, specs


@pytest.fixture(scope="module")
def tiny():
    return parts(load_config([str(TINY)]))


def test_the_predicted_rows_are_the_rows_the_tiny_run_writes(tiny):
    costs = {c.stage: c for c in study_costs(*tiny)}
    written = pd.read_csv(ROOT / "tests" / "data" / "tiny_cka_digest.csv")["rows"].sum()
    assert costs["compute_hsic"].rows == costs["reduce_cka"].rows == written == 3_012_224
    assert costs["compute_grams"].jobs == len(tiny[0].models) == 28
    assert costs["compute_hsic"].jobs == 2 * 4 * tiny[0].config["similarity"]["shards"]


def test_filters_compared_where_asked_bound_the_rows(tiny):
    """The tiny study with the schema's default filters (the first convolution of the figures'
    two instances) instead of the thesis' every filter of every instance."""
    plan, every, specs = tiny
    bounded = filter_scope(plan, {"layers": "first", "instances": None, "across": True})
    rows = {s: study_costs(plan, s, specs)[2].rows for s in (every, bounded)}
    layer_rows = (22 * 11 + 6 * 17) ** 2  # every layer and model group of every model, paired
    assert rows[bounded] == 2 * 4 * (layer_rows + (2 * 16) ** 2)
    assert rows[every] > 2 * rows[bounded]
    within = filter_scope(plan, {"layers": "all", "instances": "all", "across": False})
    assert rows[bounded] < study_costs(plan, within, specs)[2].rows < rows[every]


def test_memory_grows_with_the_test_images_and_the_budget_says_what_fits(tiny):
    plan, scope, specs = tiny
    small, large = (largest_job(study_costs(plan, scope, specs, n=n)).memory for n in (8, 2000))
    assert large > 10 * small
    config = {**plan.config, "test_images": 2000,
              "similarity": {**plan.config["similarity"], "memory_budget": 4.0,
                             "batch_size": 2000}}  # fmt: skip
    big = Plan(config)
    found = assess(big, scope, specs)
    assert not found.fits and "does NOT fit" in found.text and "all 2,000" in found.text
    most = int(found.text.split("test_images: 2000 -> at most ")[1].split()[0])
    assert largest_job(study_costs(big, scope, specs, n=most)).memory <= 4e9
    assert largest_job(study_costs(big, scope, specs, n=most + 1)).memory > 4e9
    assert "similarity.filters: {layers: first" in found.text  # fewer filters help too


def test_minibatches_bound_the_memory_and_are_chosen_when_needed(tiny):
    """Memory follows the minibatch, not n: at a fixed batch it stays flat as n grows, and time
    grows linearly. Automatic: all images at once while that fits, else the largest multiple of
    10 that does; a number given is kept."""
    plan, scope, specs = tiny
    grams = {n: study_costs(plan, scope, specs, n=n, batch=250, rate=1e9)[1]
             for n in (1000, 4000, 10000)}  # fmt: skip
    assert grams[1000].memory == grams[10000].memory
    assert grams[10000].seconds == pytest.approx(10 * grams[1000].seconds, rel=0.01)
    assert batch_size(plan, scope, specs) is None  # the tiny study: all 8 at once

    def with_(**similarity):
        return Plan({**plan.config, "test_images": 10000,
                     "similarity": {**plan.config["similarity"], **similarity}})  # fmt: skip

    auto = with_(memory_budget=6.0, batch_size=None)
    b = batch_size(auto, scope, specs)
    assert b is not None and b % 10 == 0 and 4 <= b < 10000
    found = assess(auto, scope, specs)
    assert found.batch == b and f"of {b:,} test images of 10,000 (automatic)" in found.text
    held = [c.memory for c in found.costs if c.stage in ("compute_grams", "compute_hsic")]
    assert max(held) <= 6e9
    assert batch_size(with_(batch_size=500), scope, specs) == 500
    assert batch_size(with_(batch_size=20000), scope, specs) is None


def test_a_run_stops_at_load_when_a_job_would_not_fit(tiny, tmp_path):
    plan, scope, specs = tiny
    from ckaflow.model.spec import write_spec

    files = {d: tmp_path / f"d{d}.recorded.json" for d in specs}
    lines = []

    class Out:
        def write(self, text):
            lines.append(text)

    check_at_load(plan, scope, files, out=Out())  # no spec yet: says where to look
    assert "python -m ckaflow plan" in "".join(lines)
    for d, spec in specs.items():
        write_spec(files[d], spec)
    check_at_load(plan, scope, files, out=Out())
    assert "compute_hsic" in "".join(lines) and ": fits." in "".join(lines)
    tight = Plan({**plan.config, "similarity": {**plan.config["similarity"],
                                                "memory_budget": 0.2}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"(?s)does NOT fit.*similarity.memory_budget: at least"):
        check_at_load(tight, scope, files, out=Out())


def test_plan_prints_every_stage():
    out = subprocess.run([sys.executable, "-m", "ckaflow", "plan", "--configfile", str(TINY)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    for stage in ("extract_activations", "compute_grams", "compute_hsic", "compute_intervals"):
        assert stage in out.stdout
    assert "3,012,224" in out.stdout and "fits." in out.stdout and "time (est.)" in out.stdout


def test_the_blog_study_at_its_published_size_fits_a_laptop_and_one_gpu():
    """config/allcnn_cifar10.yaml (All-CNN-C at full width, 10,000 test images): planned
    without the archive, every job under its 6 GB budget through minibatches."""
    from ckaflow.__main__ import study_specs
    from ckaflow.study.budget import assess
    from ckaflow.study.comparisons import filter_scope

    _, plan, specs = study_specs([str(ROOT / "config" / "allcnn_cifar10.yaml")], False)
    found = assess(plan, filter_scope(plan), specs)
    assert found.fits and plan.config["similarity"]["memory_budget"] == 6
    assert found.batch is not None and 400 <= found.batch < 10_000
    assert max(c.memory for c in found.costs) <= 6e9
    assert len(specs[1].recorded) == 18 and specs[1].layers[0]["output_shape"][-1] == 96
