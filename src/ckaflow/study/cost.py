"""What a study will cost before it runs: per stage, its jobs, the largest job's memory, the rows
of the CKA table, the disk it writes and a time estimate (``python -m ckaflow plan``).

Everything follows from the plan (:mod:`.plan`), what is compared (:mod:`.comparisons`) and the
model's recorded layers (:class:`~ckaflow.model.spec.ModelSpec`): the groups of each model (its
layers, the model, the filters compared), ``n`` test images per test set, the estimators. The
memory of a job is what its arrays need, from the formulas below, plus the interpreter and
libraries it imports (measured once on this project's machine); benchmarks/bench_scale.py
measures the jobs themselves beside these predictions. Times come from the rate of a matrix
product measured on the machine that plans (:func:`gemm_rate`), so they are estimates of the
right order, not promises; training is not estimated (its length is the schedule's).

With minibatches of b images (b = n: all at once), one (b, b) float64 Gram is ``G = 8 b^2`` bytes
and a packed one ``P = 4 b (b+1)``; a job holds one minibatch at a time, so its memory depends on b,
not n, and its time grows as n b.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..names import depth_of, parse_model
from ..similarity.minibatch import batch_bounds
from .comparisons import Comparisons, FilterScope

# What a job holds before its arrays: Python, NumPy, Snakemake's script preamble and the
# libraries the job imports (benchmarks/bench_scale.py at n = 250: Gram jobs 219 MB with their
# arrays, HSIC jobs 253 MB; extraction 830 MB with TensorFlow in the tiny config's run).
BASE_NUMPY = 130e6
BASE_PANDAS = 250e6
BASE_TENSORFLOW = 700e6
# A CKA table row: in memory (categorical labels, 6 floats and n) and in Parquet (measured:
# 475 MB for 28.8 M rows).
ROW_BYTES_MEMORY = 90
ROW_BYTES_DISK = 17
EXTRACTION_BATCH = 50  # images per forward pass (stages.activations.extract)
RESAMPLE_BATCH = 128  # resamples weighed at once (similarity.bootstrap.bootstrap_cka)
# The measures' small SVDs, eigenproblems and tall QRs run at about 1/30 of the Gram product's
# rate (measured at n = 200 on two cores: 40 ms a pair of wide layers, 2 s a 16,384-unit layer).
SMALL_LAPACK = 30.0


@dataclass(frozen=True)
class StageCost:
    """One stage: ``jobs``, the largest job's ``memory`` (bytes), the ``disk`` all its jobs
    write (bytes), the CKA-table ``rows`` it makes (or None), ``seconds`` of computing in all
    (an estimate, None where not estimated)."""

    stage: str
    jobs: int
    memory: float
    disk: float
    rows: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class ModelGroups:
    """The groups one model's Gram file holds: ``layers`` (its recorded layers and the model
    group), ``filters`` (its compared filters), ``units`` (all its recorded units per image)."""

    layers: int
    filters: int
    units: int
    largest_filter_layer: int  # channels of the largest layer whose filters are kept


def model_groups(spec, filter_choice) -> ModelGroups:
    """The groups of a model of ``spec`` whose compared filter layers are ``filter_choice``
    (:meth:`FilterScope.layers_of`)."""
    kept = spec.filter_layers(filter_choice) if filter_choice else []
    channels = [spec.row(name)["output_shape"][-1] for name in kept]
    units = sum(math.prod(spec.row(name)["output_shape"]) for name in spec.recorded)
    return ModelGroups(len(spec.recorded) + 1, sum(channels), units, max(channels, default=0))


@dataclass(frozen=True)
class _Study:
    """What every stage's cost is made of: the plan, its compared filters, ``n`` images per
    test set in minibatches of ``batch``, the groups of every model and the flop ``rate``
    (None: not timed)."""

    plan: object
    scope: FilterScope
    specs: Mapping[int, object]
    n: int
    batch: int
    groups: Mapping[str, ModelGroups]
    rate: float | None

    @property
    def sets(self) -> int:
        return len(self.plan.domains)

    @property
    def estimators(self) -> int:
        return len(self.plan.config["similarity"]["estimators"])

    @property
    def batches(self) -> int:
        return len(batch_bounds(self.n, self.batch)) - 1

    @property
    def gram(self) -> float:  # bytes of one (b, b) float64 Gram of a minibatch
        return 8.0 * self.batch * self.batch

    @property
    def packed(self) -> float:  # bytes of one packed Gram of a minibatch, b (b + 1) / 2 float64
        return 4.0 * self.batch * (self.batch + 1)

    @property
    def pairs_flops(self) -> float:  # flops of one inner product of packed Grams, all batches
        return 1.0 * self.batches * self.batch * self.batch

    def timed(self, flops: float) -> float | None:
        return None if self.rate is None else flops / self.rate


def study_costs(
    plan,
    scope: FilterScope,
    specs: Mapping[int, object],
    *,
    rate: float | None = None,
    n: int | None = None,
    batch: int | None = None,
) -> list[StageCost]:
    """The cost of each similarity stage of ``plan`` (extraction, Grams, HSIC, the CKA table,
    intervals, and the measures beside CKA when similarity.measures asks), with ``specs`` the
    recorded model spec of each depth, ``rate`` the matrix product's flop rate (None: not
    timed), ``n`` test images per test set (None: the config's ``test_images``) in minibatches
    of ``batch`` (None: all n at once)."""
    recorded = [m for i in plan.instances for m in plan.models_of(i)]  # extraction's models
    groups = {
        m: model_groups(specs[depth_of(parse_model(m)[0])], scope.layers_of(m))
        for m in dict.fromkeys([*plan.models, *recorded])
    }
    n = int(plan.config["test_images"] if n is None else n)
    study = _Study(plan, scope, specs, n, min(batch or n, n), groups, rate)
    return [_extraction(study), _grams(study), *_hsic(study), _intervals(study), *_measures(study)]


def _extraction(s: _Study) -> StageCost:
    """One job per instance: its models' activations on every test set, a batch at a time."""
    per_instance = [
        sum(s.groups[m].units for m in s.plan.models_of(i)) * s.sets * s.n * 4.0
        for i in s.plan.instances
    ]
    largest_units = max(g.units for g in s.groups.values())
    return StageCost("extract_activations", len(s.plan.instances),
                     BASE_TENSORFLOW + 3 * EXTRACTION_BATCH * largest_units * 4.0,
                     sum(per_instance))  # fmt: skip


def _grams(s: _Study) -> StageCost:
    """One job per model, one test set at a time: every kept filter's Gram, each layer's (twice
    while they are gathered) and the model's, the packed Grams of every estimator, and the
    minibatch of activations it reads (memory-mapped: resident while the minibatch is worked
    on, clean pages the kernel may take back under pressure, counted as the job's) and the
    engine's temporaries: each layer is summed a block of channels at a time into one Gram
    (the running sum, the block's Gram and their sum: three at a time)."""

    def job(g: ModelGroups) -> float:
        work = (g.largest_filter_layer + 1) * s.gram  # centring one part's Grams
        kept = (g.filters + g.layers) * s.estimators * s.packed
        mapped = 4.0 * s.batch * g.units
        temporaries = 3 * s.gram
        return BASE_NUMPY + (g.filters + 2 * g.layers) * s.gram + kept + work + mapped + temporaries

    compared = [s.groups[m] for m in s.plan.models]  # each model with a Gram file
    per_group = s.sets * s.estimators * s.batches * s.packed
    disk = sum((g.filters + g.layers) * per_group for g in compared)
    flops = sum(2.0 * s.pairs_flops * g.units for g in compared) * s.sets
    return StageCost("compute_grams", len(s.plan.models), max(map(job, compared)), disk,
                     seconds=s.timed(flops))  # fmt: skip


def _hsic(s: _Study) -> list[StageCost]:
    """The HSIC jobs (the layer block of every model, then the filter blocks, dealt out among
    ``similarity.shards``; a shard reads its blocks' packed Grams at once, then makes one
    block's products at a time) and the table they reduce to."""
    compared = [s.groups[m] for m in s.plan.models]
    blocks = [sum(g.layers for g in compared)]
    filter_models = [m for m in s.scope.instances if m in s.groups]
    if s.scope.across:
        blocks += _across_blocks(filter_models, s.specs, s.scope)
    else:
        blocks += [
            c for m in filter_models for c in _layer_channels(s.specs, m, s.scope.layers_of(m))
        ]
    shards = int(s.plan.config["similarity"]["shards"])
    per_set = sum(b * b for b in blocks)  # rows per test set and estimator
    shard = [
        sum(blocks[k::shards]) * s.packed
        + max(blocks[k::shards], default=0) ** 2 * 8 * 6
        + sum(b * b for b in blocks[k::shards]) * ROW_BYTES_MEMORY
        for k in range(shards)
    ]
    rows = s.sets * s.estimators * per_set
    hsic = StageCost("compute_hsic", shards * s.sets * s.estimators, BASE_PANDAS + max(shard),
                     rows * ROW_BYTES_DISK, rows=rows,
                     seconds=s.timed(rows * s.pairs_flops))  # fmt: skip
    table = StageCost("reduce_cka", 1, BASE_PANDAS + 2.5 * rows * ROW_BYTES_MEMORY,
                      rows * ROW_BYTES_DISK, rows=rows)  # fmt: skip
    return [hsic, table]


def _intervals(s: _Study) -> StageCost:
    """One job per test set and estimator: the layer groups of the interval pairs' models (one
    copy of each group's packed Gram: ``groups`` rows), the elementwise products of the pairs
    and of each group with itself (``pairs + groups`` rows), the null's copies of the groups
    (at most ``groups`` rows more), the full Grams, a batch of resamples' weights at a time;
    the null one product per permutation. Measured at ten seeds: 1.00 to 1.06 times this
    (docs/benchmarks.md)."""
    compared, sim = Comparisons(s.plan), s.plan.config["similarity"]
    groups = sum(s.groups[m].layers for m in compared.interval_models)
    pairs = sum(min(s.groups[a].layers, s.groups[b].layers) for a, b in compared.interval_pairs)
    pairs += len(compared.interval_rows)
    memory = (
        BASE_PANDAS
        + (3 * groups + pairs) * s.packed
        + groups * s.gram
        + 4 * RESAMPLE_BATCH * s.packed  # a batch's pair weights w_i w_j and their temporaries
    )
    flops = (pairs + groups) * s.pairs_flops * (sim["resamples"] + 1)
    flops += groups**2 * s.pairs_flops * sim["null_permutations"]
    jobs = s.sets * s.estimators
    return StageCost("compute_intervals", jobs, memory,
                     jobs * pairs * (sim["resamples"] + 40) * 8.0,
                     seconds=s.timed(flops * jobs))  # fmt: skip


def _measures(s: _Study) -> list[StageCost]:
    """similarity.measures: one job per test set holding the reduced forms of every model it
    compares (per layer, float64: the capped basis, PWCCA's units and SVCCA's basis, at most
    (n, k) each with k = (n - 1) // 2; Procrustes' (n, min(n, p)) factor; RSA's n (n - 1) / 2
    ranks) and, while reducing, one layer whole (n x p float32 mapped, and about four float64
    copies of it). Whole test set at once: no minibatches. Time: each layer's SVD and each
    pair of layers' products and SVDs."""
    compared, sim = Comparisons(s.plan), s.plan.config["similarity"]
    if not compared.measure_models:
        return []
    n = s.n
    k = max(1, (n - 1) // 2)
    units = {m: _layer_units(s.specs, m) for m in compared.measure_models}
    layers = [p for m in units for p in units[m]]
    held = sum(8.0 * (3 * n * min(k, p) + n * min(n, p) + n * (n - 1) / 2) for p in layers)
    pairs = sum(len(units[a]) * len(units[b]) for a, b in compared.measure_pairs)
    flops = sum(4.0 * p * n * n for p in layers) + pairs * (8.0 * n * k * k + 30.0 * k**3)
    rows = pairs * sum(2 if m in ("pwcca", "linreg") else 1 for m in sim["measures"])
    return [StageCost("compute_measures", s.sets, BASE_PANDAS + held + 36.0 * n * max(layers),
                      s.sets * rows * ROW_BYTES_DISK,
                      seconds=s.timed(SMALL_LAPACK * flops * s.sets))]  # fmt: skip


def _layer_units(specs, model: str) -> list[int]:
    """The units per image of each recorded layer of ``model``."""
    spec = specs[depth_of(parse_model(model)[0])]
    return [math.prod(spec.row(name)["output_shape"]) for name in spec.recorded]


def _layer_channels(specs, model: str, choice) -> list[int]:
    spec = specs[depth_of(parse_model(model)[0])]
    return [spec.row(n)["output_shape"][-1] for n in spec.filter_layers(choice)] if choice else []


def _across_blocks(models: Sequence[str], specs, scope: FilterScope) -> list[int]:
    """One block per layer name: the channels of that layer of every compared model."""
    per_layer: dict[str, int] = {}
    for m in models:
        spec = specs[depth_of(parse_model(m)[0])]
        choice = scope.layers_of(m)
        for name in spec.filter_layers(choice) if choice else []:
            per_layer[name] = per_layer.get(name, 0) + spec.row(name)["output_shape"][-1]
    return list(per_layer.values())


def gemm_rate(seconds: float = 0.2) -> float:
    """Flops per second of a float32 Gram product (X X^T, as the Gram jobs compute) on this
    machine, measured for about ``seconds``."""
    import numpy as np

    x = np.random.default_rng(0).random((512, 4096), dtype=np.float32)
    flops, start, done = 2.0 * 512 * 512 * 4096, time.perf_counter(), 0
    while True:
        _ = x @ x.T
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done * flops / elapsed


def largest_job(costs: Sequence[StageCost]) -> StageCost:
    return max(costs, key=lambda c: c.memory)
