"""The model a study trains, described once: its layer table, the layers recorded, and the hash
of the builder's source (``results/model_spec/d{depth}.json``, written by the ``model_spec``
job, read by every training, extraction and figure). Reading one needs no TensorFlow."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    width: float | None = None  # all_cnn_c's and kornblith_cnn's filter multiplier
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

    @property
    def first_conv(self) -> str:
        """The first recorded convolution (whose kernels the filter figures draw)."""
        convs = self.conv_layers
        if not convs:
            raise ValueError(f"the model records no convolution (recorded: {list(self.recorded)})")
        return convs[0]

    def filter_layers(self, choice: str | Sequence[str]) -> list[str]:
        """The recorded layers whose filters are compared (``similarity.filters.layers``), in
        network order: ``"all"`` (every recorded layer with positions), ``"first"`` (the first
        recorded convolution; none when the model records none) or the names given, each a
        recorded layer with positions (else a ValueError naming it)."""
        spatial = [n for n in self.recorded if self.spatial(n)]
        if choice == "all":
            return spatial
        if choice == "first":
            return [self.first_conv] if self.conv_layers else []
        if isinstance(choice, str):
            raise ValueError(f"similarity.filters.layers: {choice!r} is not all, first or a list")
        for name in choice:
            if name not in spatial:
                raise ValueError(
                    f"similarity.filters.layers: {name!r} is not a recorded layer with filters "
                    f"(channels at positions); the model's are {spatial}"
                )
        return [n for n in spatial if n in set(choice)]

    def filter_figure_layer(self, choice: str | Sequence[str]) -> str:
        """The layer whose filter CKA the filter figures draw: the first convolution among the
        compared filter layers (:meth:`filter_layers`), else the first compared layer."""
        compared = self.filter_layers(choice)
        if not compared:
            raise ValueError(
                f"similarity.filters.layers: {choice!r} compares no filters of this model "
                f"(recorded: {list(self.recorded)}), so there is no filter figure to draw"
            )
        convs = [n for n in compared if n in self.conv_layers]
        return (convs or compared)[0]

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
