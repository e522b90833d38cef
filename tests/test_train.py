"""Training: the schedule, the noise, determinism, fine-tuning's starting point."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ckaflow.model.checkpoints import read_checkpoint
from ckaflow.names import parse
from ckaflow.training import TrainConfig, TrainingData
from ckaflow.training.schedule import PHASES, PatienceSchedule, StepSchedule, phase_rate
from ckaflow.training.tasks import per_image_loss

HISTORY_COLUMNS = ("step", "phase", "learning_rate", "train_loss", "val_loss_natural",
                   "val_loss_synth")  # fmt: skip

tf = pytest.importorskip("tensorflow")


def test_schedule_drives_the_rate_through_the_three_phases():
    s = PatienceSchedule(patience=30)
    rates, events = [s.rate], []
    # Validation every 10 batches: improves, stalls 30 batches, improves, stalls, ...
    script = [1.0, 0.9, 0.8, 0.85, 0.81, 0.82, 0.7, 0.75, 0.75, 0.75, 0.6, 0.61, 0.62, 0.63]
    for i, loss in enumerate(script):
        events.append(s.observe(10 * (i + 1), loss))
        if events[-1] in ("phase_end", "done"):
            rates.append(s.rate)
        if s.done:
            break
    assert events == [
        "improved",
        "improved",
        "improved",
        "wait",
        "wait",
        "phase_end",  # 30 batches after 0.8
        "improved",
        "wait",
        "wait",
        "phase_end",
        "improved",
        "wait",
        "wait",
        "done",
    ]
    assert rates[:3] == [1e-2, 1e-2 * math.sqrt(0.1), 1e-3]
    assert rates[1] == pytest.approx(0.01 * math.sqrt(0.1), rel=1e-15)
    assert [e[0] for e in s.ended] == [0, 1, 2] and s.ended[0][2] == 0.8
    with pytest.raises(RuntimeError):
        s.observe(999, 0.1)


def test_phase_rates_and_fine_tuning_mode_starts_in_the_last_phase():
    assert [phase_rate(1e-2, p) for p in range(PHASES)] == [1e-2, 1e-2 * 10**-0.5, 1e-3]
    assert PatienceSchedule(patience=5, phase=2).rate == 1e-3


@pytest.mark.parametrize(
    "bad",
    [
        dict(batch_size=0),
        dict(patience=0),
        dict(start_phase=3),
        dict(learning_rate=0),
        dict(early_checkpoints=(75,)),
        dict(early_checkpoints=(50, 10_000)),
    ],  # fmt: skip
)
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def noise_is_right(a, b, c) -> bool:
    """Three draws of 5% pepper and 5% salt on a grey batch, the first two with one seed."""
    fractions = abs((a == 0).mean() - 0.05) < 0.005 and abs((a == 1).mean() - 0.05) < 0.005
    return fractions and np.array_equal(a, b) and not np.array_equal(a, c)


def test_training_noise_fractions_and_seeding():
    """Same seed same noise, a new step new noise (JAX and PyTorch: test_backends.py)."""
    from ckaflow.data.noise import salt_and_pepper_tensor

    x = tf.fill((16, 64, 80, 1), 0.5)
    a, b, c = (salt_and_pepper_tensor(x, tf.constant(seed), 0.05, 0.05).numpy()
               for seed in ([1, 2], [1, 2], [1, 3]))  # fmt: skip
    assert noise_is_right(a, b, c)


def test_evaluation_has_no_noise():
    from ckaflow.model.tied_autoencoder import TiedAutoencoder

    m = TiedAutoencoder(seed=1)
    x = np.random.default_rng(0).random((6, 64, 80, 1), dtype=np.float32)
    first, second = per_image_loss(m, x), per_image_loss(m, x)
    assert np.array_equal(first, second) and first.shape == (6,)
    y = np.asarray(m(x, training=False), dtype=np.float64)
    assert np.allclose(first, ((y - x) ** 2).mean(axis=(1, 2, 3)))


def test_instance_names():
    ft = parse("synth-from-natural-3")
    assert (ft.domain, ft.source, ft.seed, ft.base, ft.scratch) == (
        "synth",
        "natural",
        3,
        "natural-3",
        "synth-3",
    )
    assert parse("natural-2").base == "natural-2"
    for bad in ("synth-from-synth-1", "Mnist-1", "synth"):
        with pytest.raises(ValueError, match="bad instance name"):
            parse(bad)


def test_the_step_schedule_lowers_the_rate_after_its_decay_epochs():
    s = StepSchedule(0.1, epochs=6, steps_per_epoch=10, decay_epochs=(2, 4), factor=0.1)
    assert s.total_steps == 60
    rates = [s.rate(step) for step in (0, 19, 20, 39, 40, 59)]
    assert rates == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert [s.phase(step) for step in (0, 20, 59)] == [0, 1, 2]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from ckaflow.data import build_domain, write_dataset

    root = tmp_path_factory.mktemp("data")
    dirs = {}
    for d in ("natural", "synth"):
        entry = {"source": "standin" if d == "natural" else "synth"}
        write_dataset(root / d, build_domain(d, entry, images=60, seed=0, test_images=4))
        dirs[d] = str(root / d)
    return dirs


CFG = TrainConfig(batch_size=8, patience=4, eval_every=2, max_steps=10)


def _train(tmp, name, dirs, **kw):
    from ckaflow.training.job import train_instance

    out = tmp / name
    train_instance(name, data_dirs=dirs, out_dir=out, cfg=kw.pop("cfg", CFG), **kw)
    return out


def test_same_seed_same_weights_and_outputs(tmp_path, tiny_data):
    a = _train(tmp_path / "a", "synth-1", tiny_data)
    b = _train(tmp_path / "b", "synth-1", tiny_data)
    wa, wb = (
        read_checkpoint(a / "checkpoints/final.npz"),
        read_checkpoint(b / "checkpoints/final.npz"),
    )
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    init = read_checkpoint(a / "checkpoints/init.npz")
    assert not all(np.array_equal(wa[k], init[k]) for k in wa), "training changed nothing"
    h = pd.read_parquet(a / "history.parquet")
    assert list(h.columns) == list(HISTORY_COLUMNS)
    assert {"train_loss", "val_loss_natural", "val_loss_synth"} <= set(HISTORY_COLUMNS)
    assert h["val_loss_natural"].notna().all() and h["val_loss_synth"].notna().all()
    assert h["step"].is_monotonic_increasing and h["step"].max() <= CFG.max_steps
    for name in ("init", "final"):
        assert (a / "checkpoints" / f"{name}.json").exists()
    assert list((a / "tensorboard").glob("events.out.tfevents.*"))


def test_fine_tuned_instance_starts_from_its_base(tmp_path, tiny_data):
    base = _train(tmp_path, "natural-2", tiny_data)
    ft = _train(
        tmp_path,
        "synth-from-natural-2",
        tiny_data,
        init_from=base / "checkpoints/final.npz",
        train_images=16,
        cfg=TrainConfig(
            batch_size=8, patience=4, eval_every=2, max_steps=6, start_phase=2, learning_rate=1e-2
        ),
        checkpoints=("init", "final"),
    )
    start, base_final = (
        read_checkpoint(ft / "checkpoints/init.npz"),
        read_checkpoint(base / "checkpoints/final.npz"),
    )
    assert all(np.array_equal(start[k], base_final[k]) for k in start)
    assert not (ft / "checkpoints/phase1.npz").exists()
    h = pd.read_parquet(ft / "history.parquet")
    assert (h["learning_rate"] == 1e-3).all()  # fine-tuning mode: only the final low-rate phase
    import json

    prov = json.loads((ft / "provenance.json").read_text())
    assert prov["parent"]["instance"] == "natural-2" and prov["train_images"] == 16


def test_a_job_uses_the_threads_it_is_granted_and_grows_gpu_memory():
    """What every TensorFlow job of the workflow does first (a fresh process: TensorFlow's
    threading is fixed once an op has run)."""
    code = (
        "import os\n"
        "from ckaflow.backend import configure\n"
        "configure(3)\n"
        "import tensorflow as tf\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads(),"
        " os.environ['TF_FORCE_GPU_ALLOW_GROWTH'],"
        " tf.config.experimental.tensor_float_32_execution_enabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_FORCE_GPU_ALLOW_GROWTH"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["3", "2", "true", "False"]


@pytest.mark.parametrize(
    "bias, instance, message, saved",
    [
        # every reconstruction, and so every loss, is NaN: stopped at the first validation
        (np.nan, "synth-1", r"the train loss is nan at step 2 ", ["init"]),
        # every pixel 5 off (a loss near 25) and a rate too small to recover: the run ends worse
        # than any output in [0, 1], and fails without a final checkpoint
        (
            5.0,
            "natural-2",
            r"the best natural validation loss is 2\d\.\d* \(above 1.* at step 10 ",
            ["init", "phase1", "phase2"],
        ),
    ],
)
def test_a_diverged_run_fails_naming_instance_step_and_loss(
    tiny_data, bias, instance, message, saved
):
    from ckaflow.data import load_split
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.names import parse
    from ckaflow.training import TrainingDiverged, train

    model = TiedAutoencoder(seed=1)
    model.biases["output"].assign([bias])
    domain, written = parse(instance).domain, []
    with pytest.raises(TrainingDiverged, match=rf"{instance}: {message}.*learning_rate"):
        train(
            model,
            TrainingData(
                load_split(tiny_data[domain], "train"),
                {d: load_split(p, "val") for d, p in tiny_data.items()},
            ),  # fmt: skip
            domain=domain,
            instance=instance,
            cfg=TrainConfig(
                batch_size=8, patience=4, eval_every=2, max_steps=10, learning_rate=1e-6
            ),
            save_checkpoint=lambda name, info: written.append(name),
        )
    assert written == saved, "no final checkpoint from a diverged run"


def test_a_passing_spike_above_one_is_not_divergence(tiny_data):
    """A fine-tuning's first steps can pass a loss above 1 and recover (seen at a rate of 1e-2):
    only where the run ends is judged."""
    from ckaflow.data import load_split
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.training.train import train

    model = TiedAutoencoder(seed=1)
    model.biases["output"].assign([1.8])  # a first loss near 1.5; Adam at 5e-2 pulls it back
    written = []
    result = train(
        model,
        TrainingData(
            load_split(tiny_data["synth"], "train"),
            {d: load_split(p, "val") for d, p in tiny_data.items()},
        ),  # fmt: skip
        domain="synth",
        instance="synth-1",
        cfg=TrainConfig(batch_size=8, patience=40, eval_every=2, max_steps=40, learning_rate=5e-2),
        save_checkpoint=lambda name, info: written.append((name, info)),
    )
    history = result.history
    assert history["train_loss"].iloc[0] > 1.0 and result.best_loss < 1.0
    assert written[-1][0] == "final"


def test_early_checkpoints_hold_the_weights_after_their_steps(tiny_data):
    """step<N> is saved right after batch N with the weights of that moment (not the phase's
    best); one the run never reaches holds the final weights, marked not reached; saving them
    changes nothing in the training."""
    from ckaflow.data import load_split
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.training.train import train

    def run(early, max_steps=10, **kw):
        model, written = TiedAutoencoder(seed=1), {}

        def save(name, info):
            written[name] = (model.get_weights_dict(), info)

        cfg = TrainConfig(batch_size=8, eval_every=2, max_steps=max_steps,
                          early_checkpoints=early, **{"patience": 4, **kw})  # fmt: skip
        data = TrainingData(load_split(tiny_data["synth"], "train"),
                            {d: load_split(p, "val") for d, p in tiny_data.items()})  # fmt: skip
        train(model, data, domain="synth", instance="synth-1", cfg=cfg, save_checkpoint=save)
        return written

    with_early, without = run((2, 6)), run(())
    assert {"step2", "step6"} <= set(with_early) and not {"step2", "step6"} & set(without)
    assert with_early["step2"][1]["step"] == 2 and with_early["step6"][1]["step"] == 6
    for name, (weights, _) in without.items():  # the same training, step for step
        for k, w in weights.items():
            np.testing.assert_array_equal(with_early[name][0][k], w)
    # the weights after 2 batches are neither the initial nor the final ones
    w2, w0, wf = (with_early[c][0]["conv1_kernel"] for c in ("step2", "init", "final"))
    assert not np.array_equal(w2, w0) and not np.array_equal(w2, wf)
    # a rate too small to move a weight: every validation after the first is no improvement,
    # so the three phases end at steps 4, 6 and 8, before step 10
    stuck = run((10,), max_steps=100, patience=2, learning_rate=1e-30)
    weights, info = stuck["step10"]
    assert info["reached"] is False and info["step"] == 8
    for k, w in stuck["final"][0].items():
        np.testing.assert_array_equal(weights[k], w)


def test_weight_change_is_the_relative_frobenius_distance_per_layer(tmp_path):
    from ckaflow.model.checkpoints import write_checkpoint
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.stages.evaluate import weight_change

    kernels = {1: {c: f"{c}_kernel" for c in ("conv1", "conv2", "conv3", "output")}}

    init = TiedAutoencoder(seed=3).get_weights_dict()
    final = {k: v.copy() for k, v in init.items()}
    final["conv1_kernel"] = 1.5 * init["conv1_kernel"]  # moved by half its norm
    final["conv3_kernel"] = -init["conv3_kernel"]  # moved by twice its norm
    for name, w in (("init", init), ("final", final)):
        write_checkpoint(tmp_path / f"{name}.npz", w, {})
    t = weight_change({"synth-from-natural-3": (tmp_path / "init.npz", tmp_path / "final.npz")},
                      kernels)  # fmt: skip
    assert list(t["layer"]) == list(kernels[1])
    change = dict(zip(t["layer"], t["relative_change"], strict=True))
    assert change == pytest.approx({"conv1": 0.5, "conv2": 0.0, "conv3": 2.0, "output": 0.0})
    assert set(t["family"]) == {"synth-from-natural"} and set(t["seed"]) == {3}
    norm = np.linalg.norm(init["conv1_kernel"].astype(np.float64))
    assert t.loc[t["layer"] == "conv1", "init_norm"].item() == pytest.approx(norm, rel=1e-12)
