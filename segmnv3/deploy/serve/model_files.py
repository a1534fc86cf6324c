"""The browser's model: the ``head-onnx`` row of ``export.formats`` plus a ``model.json``.

``export_bundle`` writes the file (the same writer and the same parity gate as
``segmnv3 export``: a file that fails parity is refused), then ``model.json`` beside it
tells the page everything it needs from the checkpoint: the graph's input size and layouts,
the normalisation (``data.mean`` / ``data.std``) and the label set (class names and RGB
colours in train-id order). A checkpoint's export is cached in a folder named by its
content and the resolution, so the next ``serve`` of the same file starts at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from segmnv3.core.files import write_text_atomic
from segmnv3.deploy.model import DeployModel

MODEL_JSON = "model.json"
FORMAT = "head-onnx"
"""The ``export.formats`` row the page runs (onnxruntime-web reads it as is): the graph
ends before the final upsample, so the page receives the stride-8 logits (1/64 of the
full logits) and makes the labels at the size it wants with the rule of
``labels_from_logits`` (``pixels.js: labelsFromLogits``, exact), skipping the upsample of
C logit maps in WASM and the argmax over them (the ``labels-onnx`` graph before)."""


@dataclass(frozen=True)
class BrowserModel:
    """The files ``serve`` hands the page: the ONNX graph and its ``model.json``."""

    onnx: Path
    meta: Path
    cached: bool

    def description(self) -> dict:
        """``model.json`` as a dict."""
        return json.loads(self.meta.read_text())


def content_key(path: Path, size: tuple[int, int]) -> str:
    """``<H>x<W>_<first 16 hex of sha256(checkpoint)>``: the cache folder of one export."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{size[0]}x{size[1]}_{digest.hexdigest()[:16]}"


def browser_model(
    model: DeployModel, folder: Path, size: tuple[int, int], *, reuse: bool = True
) -> BrowserModel:
    """Export ``model`` at ``size`` into ``folder`` once (parity-checked) with its ``model.json``.

    Args:
        model: the checkpoint's network, data config and label set.
        folder: where the files go; with ``reuse`` an earlier complete export there is used.
        size: network input (H, W).
        reuse: use a complete earlier export in ``folder`` (its ``model.json`` is written
            last, so its presence means the ONNX file passed parity).

    Raises:
        UserError: the exported file misses the parity thresholds (as in ``export``).
    """
    from segmnv3.deploy.export.bundle import ExportSettings, export_bundle

    found = cached_model(folder) if reuse else None
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    settings = ExportSettings(
        size=size, formats=(FORMAT,), parity_images=2, calib_images=1, val_images=2
    )
    result = export_bundle(model, folder, settings)  # raises UserError on a parity failure
    onnx = result.files[FORMAT]
    parity = result.parity_of(FORMAT).to_dict()
    text = json.dumps(describe(model, onnx, size, parity), indent=2)
    meta = write_text_atomic(folder / MODEL_JSON, text + "\n")
    return BrowserModel(onnx, meta, cached=False)


def cached_model(folder: Path) -> BrowserModel | None:
    """A complete earlier export in ``folder`` (``model.json`` is written last), or None."""
    meta = folder / MODEL_JSON
    if not meta.is_file():
        return None
    try:
        described = json.loads(meta.read_text())
        onnx = folder / described["onnx"]
        if described["output"]["name"] != _output_name(FORMAT):
            return None  # an export for an older page: made again
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return BrowserModel(onnx, meta, cached=True) if onnx.is_file() else None


def describe(model: DeployModel, onnx: Path, size: tuple[int, int], parity: dict) -> dict:
    """What the page reads: graph, sizes, layouts, normalisation, classes, parity."""
    from segmnv3.deploy.export.formats import format_named

    fmt, labels = format_named(FORMAT), model.labels
    return {
        "name": model.name,
        "onnx": onnx.name,
        "bytes": onnx.stat().st_size,
        "size": list(size),  # network input (H, W)
        "input": {"name": "image", "layout": fmt.file.input},
        "output": {
            "name": _output_name(FORMAT),
            "layout": fmt.file.output,
            "align_corners": bool(getattr(model.module, "align_corners", False)),
        },
        "mean": [float(v) for v in model.data.mean],  # RGB on 0..1
        "std": [float(v) for v in model.data.std],
        "classes": [
            {"name": name, "color": [int(c) for c in color]}
            for name, color in zip(labels.names, labels.colors, strict=True)
        ],
        "parity": parity,
    }


def _output_name(name: str) -> str:
    """The graph output's name of format ``name``: ``labels``, ``head_logits`` or ``logits``."""
    from segmnv3.deploy.export.formats import format_named

    fmt = format_named(name)
    return "labels" if fmt.ends_in_labels else "head_logits" if fmt.ends_in_head else "logits"
