"""The config schema: defaults, and rejections that name the offending key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TINY, snakemake
from PIL import Image
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ckaflow.study.load import load_config

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def _load(path):
    return yaml.safe_load(open(path))


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "config").glob("*.yaml")))
def test_shipped_configs_are_valid(name):
    load_config([ROOT / "config" / name])  # its short forms read, no key given twice


def test_a_key_given_twice_in_a_file_is_refused_naming_the_file_and_lines(tmp_path):
    """YAML keeps the second of two equal keys silently: the first value would be lost."""
    (tmp_path / "twice.yaml").write_text("seed: 1\nsimilarity:\n  shards: 1\n  shards: 2\n")
    message = _refusal([TINY, tmp_path / "twice.yaml"])
    assert f"{tmp_path / 'twice.yaml'}: key 'shards' is given twice (lines 3 and 4)" in message


def test_defaults_fill_missing_keys():
    config = {}
    validate(config, SCHEMA)
    assert config["images_per_domain"] == 2000 and config["test_images"] == 200
    assert config["domains"]["natural"]["source"] == "standin"
    assert config["image"] == {"height": 64, "width": 80, "channels": 1, "fit": "crop"}
    assert config["task"] == "denoise" and config["model"]["layers"] == "auto"
    assert config["noise"] == {"pepper": 0.05, "salt": 0.05}


@pytest.mark.parametrize(
    "change, key, value",
    [
        ({"images_per_domain": -5}, "images_per_domain", "-5"),
        ({"domains": {"natural": {"source": "mnist"}}}, "source", "mnist"),
        ({"domains": {"Natural": {"source": "standin"}}}, "Natural", "does not match"),
        ({"image": {"fit": "stretch"}}, "fit", "stretch"),
        ({"task": "segment"}, "task", "segment"),
        ({"similarity": {"device": "cuda"}}, "device", "cuda"),
        ({"domains": {"natural": {"source": "svhn", "path": None}}}, "path", "None"),
        ({"noise": {"pepper": 0.9}}, "pepper", "0.9"),
        ({"imagse_per_domain": 100}, "imagse_per_domain", "imagse_per_domain"),
        ({"similarity": {"resamples": 99}}, "resamples", "99"),
        ({"similarity": {"resamples": 100_001}}, "resamples", "100001"),
        ({"similarity": {"confidence": 0.5}}, "confidence", "0.5"),
        ({"similarity": {"confidence": 1}}, "confidence", "1"),
    ],
)
def test_rejections_name_the_key_and_value(change, key, value):
    config = copy.deepcopy(_load(TINY))
    for k, v in change.items():
        config[k] = {**config[k], **v} if isinstance(v, dict) else v
    with pytest.raises(WorkflowError) as err:
        validate(config, SCHEMA)
    assert key in str(err.value) and value in str(err.value)


def _svhn_folder(tmp: Path, kind: str) -> Path:
    folder = tmp / f"svhn-{kind}"
    folder.mkdir()
    if kind == "corrupt":
        for i in range(1, 4):
            (folder / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return folder


def _photos_folder(tmp: Path) -> Path:
    folder = tmp / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (40, 30)).save(folder / "small.png")  # readable but too small to crop
    return folder


# (override of the tiny config, what the message must name). "{tmp}" is a fresh folder.
BAD_CONFIGS = {
    "wrong type": (
        {"images_per_domain": "many"},
        ["images_per_domain", "'many' is a string", "expected integer or null"],
    ),
    "wrong type, nested": ({"train": {"batch_size": 2.5}}, ["batch_size", "2.5", "integer"]),
    "list expected": ({"seeds": 3}, ["seeds", "3", "array"]),
    "out of range": (
        {"val_fraction": 1.5},
        ["val_fraction: 1.5 is greater than or equal to the maximum of 1"],
    ),
    "too few images": (
        {"images_per_domain": 4},
        ["images_per_domain: 4 is less than the minimum of 10", "a test set, a validation split"],
    ),
    "out of range, nested": ({"noise": {"pepper": 0.9}}, ["pepper", "0.9", "maximum"]),
    "unknown key": (
        {"imagse_per_domain": 100},
        ["imagse_per_domain: unknown key; did you mean 'images_per_domain'?"],
    ),
    "unknown nested key": (
        {"train": {"learning_rte": 0.1}},
        ["train.learning_rte: unknown key; did you mean 'learning_rate'?"],
    ),
    "a string that is no number": (
        {"train": {"learning_rate": "fast"}},
        ["train.learning_rate: 'fast' is a string; expected number"],
    ),
    "unknown instance in figures": (
        {"figures": {"filter_instances": ["synth-9"]}},
        ["figures.filter_instances", "synth-9", "[1, 2]"],
    ),
    "unknown estimator in figures": (
        {"figures": {"estimator": "linear-cosine"}},
        ["figures.estimator", "linear-cosine", "linear-debiased"],
    ),
    # Cross-key checks (ckaflow.study, unit-tested in test_study.py) run before any job too:
    # this one used to fail only after every base training had finished.
    "fine-tuning more images than the training split": (
        {"finetune": {"images": 1000}},
        ["finetune.images = 1000", "training split (48 images"],
    ),
    "zero shards": ({"similarity": {"shards": 0}}, ["shards", "0", "minimum"]),
    "too many shards": ({"similarity": {"shards": 65}}, ["shards", "65", "maximum"]),
    "SVHN path that does not exist": (
        {"domains": {"natural": {"source": "svhn", "path": "{tmp}/no/train.tar.gz"}}},
        ["domains.natural.path", "{tmp}/no/train.tar.gz", "does not exist"],
    ),
    "SVHN without a path": (
        {"domains": {"natural": {"source": "svhn"}}},
        ["domains.natural", "source 'svhn' needs ['path']"],
    ),
    "empty SVHN folder": (
        {"domains": {"natural": {"source": "svhn", "path": "{svhn-empty}"}}},
        ["domains.natural.path", "{svhn-empty}", "no readable PNG", "0 PNG files"],
    ),
    "all-corrupt SVHN folder": (
        {"domains": {"natural": {"source": "svhn", "path": "{svhn-corrupt}"}}},
        ["domains.natural.path", "{svhn-corrupt}", "3 PNG files, 3 unreadable"],
    ),
    "fonts folder missing": (
        {"domains": {"synth": {"fonts": "{tmp}/fonts"}}},
        ["domains.synth.fonts", "{tmp}/fonts", "is not a folder"],
    ),
    "fonts folder without fonts": (
        {"domains": {"synth": {"fonts": "{tmp}"}}},
        ["domains.synth.fonts", "no .ttf or .otf font"],
    ),
    "photos folder missing": (
        {"domains": {"natural": {"photos": "{tmp}/photos-gone"}}},
        ["domains.natural.photos", "{tmp}/photos-gone", "is not a folder"],
    ),
    "photos all unusable": (
        {"domains": {"natural": {"photos": "{photos}"}}},
        ["domains.natural.photos", "{photos}", "no readable photograph", "160x128"],
    ),
    "a key of another source": (
        {"domains": {"natural": {"fonts": "{tmp}"}}},
        ["domains.natural", "['fonts'] do not apply to source 'standin'"],
    ),
    "an image folder without images": (
        {"domains": {"natural": {"source": "folder", "path": "{tmp}"}}},
        ["domains.natural.path", "{tmp}", "no image files"],
    ),
    "a builder that does not resolve": (
        {"model": {"builder": "models/nowhere.py:build"}},
        ["model.builder", "models/nowhere.py:build", "is not a file"],
    ),
    "an image the tied autoencoder cannot take": (
        {"image": {"height": 30}},
        ["tied autoencoder", "multiples of 8", "30 x 80 x 1"],
    ),
}


def _bad_config(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    """The override file of ``case`` (its places filled in) and the words its message names."""
    override, expected = BAD_CONFIGS[case]
    empty = tmp_path / "empty"
    empty.mkdir()
    places = {
        "{tmp}": str(empty),
        "{svhn-empty}": str(_svhn_folder(tmp_path, "empty")),
        "{svhn-corrupt}": str(_svhn_folder(tmp_path, "corrupt")),
        "{photos}": str(_photos_folder(tmp_path)),
    }

    def fill(text: str) -> str:
        for k, v in places.items():
            text = text.replace(k, v)
        return text

    (tmp_path / "bad.yaml").write_text(fill(yaml.safe_dump(override)))
    return tmp_path / "bad.yaml", [fill(w) for w in expected]


def _refusal(paths: list[Path]) -> str:
    """What the workflow checks when it loads (the config, the plan, the domains' inputs), run
    in this process: the message of the first refusal, or "" when there is none."""
    from ckaflow.schema import load_schema
    from ckaflow.study.load import check_inputs
    from ckaflow.study.plan import Plan

    try:
        config = load_config(paths)
        plan = Plan.from_config(config, load_schema())
        check_inputs(config, plan.task == "classify")
    except (ValueError, WorkflowError) as err:
        return " ".join(f"{err} {err.__cause__ or ''}".split())  # messages may be wrapped
    return ""


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_refused_naming_key_and_allowed(tmp_path, case):
    """Every case through the checks the workflow runs when it loads, in this process (the
    same functions common.smk calls); the CLI test below runs a few through snakemake."""
    bad, expected = _bad_config(tmp_path, case)
    message = _refusal([TINY, bad])
    assert message, f"{case}: accepted"
    for word in expected:
        assert word in message, (word, message[-2000:])


@pytest.mark.workflow
@pytest.mark.parametrize(
    "case", ["wrong type, nested", "fine-tuning more images than the training split",
             "all-corrupt SVHN folder", "a builder that does not resolve"],
)  # fmt: skip
def test_bad_config_fails_before_any_work_naming_key_and_allowed(workdir, tmp_path, case):
    """One case of each kind (schema, cross-key, a domain's files, the model) through snakemake:
    it stops before any job, the message naming the key and what is allowed."""
    bad, expected = _bad_config(tmp_path, case)
    out = snakemake(workdir, "--configfile", "config/tiny.yaml", str(bad))
    assert out.returncode != 0, out.stdout[-2000:]
    message = " ".join(out.stdout.split())  # messages may be wrapped
    for word in expected:
        assert word in message, (word, out.stdout[-2000:])
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_numbers_given_as_strings_are_read_as_numbers_where_the_schema_asks_for_one(tmp_path):
    """Snakemake's --config hands values inside a dict over as strings, and YAML 1.1 reads 1e-3
    as a string: where the schema asks for a number, integer, list or boolean they are read as
    one; the error of a config with one bad key is a line or two, not the schema."""
    from ckaflow.study.load import load_config

    (tmp_path / "strings.yaml").write_text(
        'train: {patience: "300", learning_rate: 1e-3}\n'
        'similarity: {shards: "4", keep_activations: "true"}\nseeds: "[1, 2]"\n'
    )
    config = load_config([TINY, tmp_path / "strings.yaml"])
    assert config["train"]["patience"] == 300 and config["train"]["learning_rate"] == 0.001
    assert config["similarity"]["shards"] == 4 and config["similarity"]["keep_activations"]
    assert config["seeds"] == [1, 2]
    (tmp_path / "typo.yaml").write_text("train: {patienc: 300}\n")
    message = _refusal([TINY, tmp_path / "typo.yaml"])
    assert message.startswith("config: train.patienc: unknown key; did you mean 'patience'?")
    assert len(message) < 400


@pytest.mark.workflow
def test_the_readme_config_overrides_run_from_the_command_line(workdir):
    out = snakemake(workdir, "-n", "--configfile", "config/tiny.yaml", "--config",
                    'similarity={"shards": 4}', 'train={"patience": 300}')  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:]
    assert "compute_hsic" in out.stdout
