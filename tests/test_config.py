"""The config schema: defaults, and rejections that name the offending key."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT, TINY, snakemake
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = str(ROOT / "config" / "schema.yaml")


def _load(path):
    return yaml.safe_load(open(path))


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "tiny.yaml"])
def test_shipped_configs_are_valid(name):
    validate(_load(ROOT / "config" / name), SCHEMA)


def test_defaults_fill_missing_keys():
    config = {}
    validate(config, SCHEMA)
    assert config["images_per_domain"] == 2000 and config["test_images"] == 200
    assert config["natural"]["source"] == "standin"
    assert config["noise"] == {"pepper": 0.05, "salt": 0.05}


@pytest.mark.parametrize(
    "change, key, value",
    [
        ({"images_per_domain": -5}, "images_per_domain", "-5"),
        ({"natural": {"source": "mnist"}}, "source", "mnist"),
        ({"natural": {"source": "svhn", "svhn_path": None}}, "svhn_path", "None"),
        ({"noise": {"pepper": 0.9}}, "pepper", "0.9"),
        ({"imagse_per_domain": 100}, "imagse_per_domain", "imagse_per_domain"),
    ],
)
def test_rejections_name_the_key_and_value(change, key, value):
    config = copy.deepcopy(_load(TINY))
    for k, v in change.items():
        config[k] = {**config[k], **v} if isinstance(v, dict) else v
    with pytest.raises(WorkflowError) as err:
        validate(config, SCHEMA)
    assert key in str(err.value) and value in str(err.value)


@pytest.mark.workflow
def test_snakemake_reports_bad_config_and_missing_svhn_path(workdir):
    out = snakemake(
        workdir, "-n", "--configfile", "config/tiny.yaml", "--config", "images_per_domain=-5"
    )
    assert out.returncode != 0 and "images_per_domain" in out.stdout and "-5" in out.stdout
    missing = workdir / "no" / "train.tar.gz"
    out = snakemake(
        workdir,
        "-n",
        "--configfile",
        "config/tiny.yaml",
        "--config",
        f'natural={{"source": "svhn", "svhn_path": "{missing}"}}',
    )
    assert out.returncode != 0
    assert "natural.svhn_path" in out.stdout and str(missing) in out.stdout
