"""The model a study trains, described once: its layer table, the layers recorded, and the hash
of the builder's source (``results/model_spec/d{depth}.json``, written by the ``model_spec``
job, read by every training, extraction and figure). Reading one needs no TensorFlow."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..io import atomic_path, reading, save_json

SPEC_COLUMNS = ("name", "type", "kind", "output_shape", "params", "recorded")


@dataclass(frozen=True)
class ModelSpec:
    depth: int
    input_shape: tuple[int, int, int]
    num_classes: int | None
    task: str
    output: str  # "image" (an autoencoder), "logits" or "probabilities" (a classifier)
    layers: tuple[dict, ...]  # every layer: name, type, kind, output_shape, params, kernel
    recorded: tuple[str, ...]  # the layers whose outputs are recorded, in network order
    architecture: str | None = None
    width: float | None = None  # all_cnn_c's filter multiplier
    builder: str | None = None
    builder_file: str | None = None
    builder_sha256: str | None = None
    pretrained: str | None = None  # the saved model whose architecture this is
    provenance: dict = field(default_factory=dict)

    def row(self, name: str) -> dict:
        for r in self.layers:
            if r["name"] == name:
                return r
        raise KeyError(f"no layer {name!r} in the model; it has {[r['name'] for r in self.layers]}")

    def recorded_of(self, *kinds: str) -> list[str]:
        """The recorded layers of these kinds, in network order."""
        return [n for n in self.recorded if self.row(n)["kind"] in kinds]

    @property
    def conv_layers(self) -> list[str]:
        """The recorded convolutions (not transposed ones), in network order."""
        return self.recorded_of("conv")

    def spatial(self, name: str) -> bool:
        """Whether a layer's outputs have positions (h, w, c): then it has filter groups."""
        return len(self.row(name)["output_shape"]) >= 3

    def recorded_shapes(self) -> dict[str, list[int]]:
        """{recorded layer: its output shape per image, channels last}, in network order."""
        return {n: list(self.row(n)["output_shape"]) for n in self.recorded}

    def kernels(self) -> dict[str, str]:
        """{recorded layer: the checkpoint key of its own kernel}, for those that have one."""
        return {n: self.row(n)["kernel"] for n in self.recorded if self.row(n).get("kernel")}

    def record(self) -> dict:
        """What rebuilds the model (:func:`ckaflow.model.build.model_record`) and its output."""
        return {
            "architecture": self.architecture,
            "width": self.width,
            "builder": self.builder,
            "pretrained": self.pretrained,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "output": self.output,
        }

    def table(self) -> list[dict]:
        """The layer table as printed: name, type, kind, output shape, params, recorded."""
        return [
            {**{k: r[k] for k in SPEC_COLUMNS[:-1]}, "recorded": r["name"] in self.recorded}
            for r in self.layers
        ]


def write_spec(path: str | Path, spec: ModelSpec) -> None:
    save_json(path, asdict(spec))


def write_table(path: str | Path, spec: ModelSpec) -> None:
    """The layer table as CSV, for people (the JSON is what jobs read)."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SPEC_COLUMNS)
        writer.writeheader()
        for r in spec.table():
            writer.writerow({**r, "output_shape": "x".join(map(str, r["output_shape"]))})


def read_spec(path: str | Path) -> ModelSpec:
    with reading(path, "model spec"):
        d = json.loads(Path(path).read_text())
    d["input_shape"] = tuple(d["input_shape"])
    d["layers"], d["recorded"] = tuple(d["layers"]), tuple(d["recorded"])
    return ModelSpec(**d)


def format_table(spec: ModelSpec) -> str:
    """The layer table as aligned text (``python -m ckaflow layers``)."""
    rows = [("layer", "type", "kind", "output shape", "params", "recorded")]
    for r in spec.table():
        shape = " x ".join(map(str, r["output_shape"]))
        rows.append(
            (
                r["name"],
                r["type"],
                r["kind"],
                shape,
                f"{r['params']:,}",
                "yes" if r["recorded"] else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
