"""The one table of deploy artifacts: for each file kind, which backend runs it, how it is
written and how it is named.

A ``Format`` is a value: its ``--format`` name, the ``Backend`` it is made for (int8:
the recipe is chosen when the file is made), the container (``FileType``: suffix and
layouts), its name tag, the format it needs written first, and its writer. Export
(``bundle``) writes the formats a user asks for; the benchmark (``bench.files``) runs
each backend on ``format_for(backend)``, the first format in ``FORMATS`` that the
backend runs (the fewest conversions: OpenVINO fp32 reads the ``.onnx`` itself).

File names, for ``<stem> = <model>_<H>x<W>``: ``<stem><tag><suffix>``, e.g.
``row08_512x1024_int8.xml``; with the recipe in the name (the benchmark keeps both
recipes side by side) int8 files are ``<stem>_<recipe>_int8<suffix>``.

This module imports nothing heavy (``export --help`` reads ``FORMAT_NAMES``): writers
import their libraries when they run (``export.writers``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from segmnv3.deploy.export import writers
from segmnv3.deploy.runtimes.backend import (
    EXECUTORCH,
    EXECUTORCH_INT8,
    LITERT,
    LITERT_FP16,
    LITERT_INT8,
    ONNXRUNTIME,
    ONNXRUNTIME_INT8,
    OPENVINO,
    OPENVINO_BF16,
    OPENVINO_INT8,
    OPENVINO_INT8_BF16,
    Backend,
    Recipe,
)


@dataclass(frozen=True)
class FileType:
    """A container: its suffix and what its graph takes and returns."""

    name: str
    suffix: str
    input: str
    output: str

    @property
    def layout(self) -> dict[str, str]:
        """The ``layouts`` entry of the export report."""
        return {"input": self.input, "output": self.output}


_NCHW_IN, _NHWC_OUT = "NCHW (N, 3, H, W) float32", "NHWC (N, H, W, C) float32"
_LABELS_OUT = "NHW (N, H, W) uint8 train ids"
ONNX_FILE = FileType("ONNX", ".onnx", _NCHW_IN, _NHWC_OUT)
OPENVINO_IR = FileType("OpenVINO IR", ".xml", _NCHW_IN, _NHWC_OUT)  # + .bin beside it
# Graphs that end in labels: argmax inside the graph (``export_onnx(output="labels")``).
LABELS_ONNX = FileType("ONNX", ".onnx", _NCHW_IN, _LABELS_OUT)
LABELS_IR = FileType("OpenVINO IR", ".xml", _NCHW_IN, _LABELS_OUT)
# Graphs that end before the final upsample (``export_onnx(output="head_logits")``):
# labels at the frame's size come from ``inference.upsample_labels.labels_from_logits``.
_HEAD_OUT = "NHWC (N, H/8, W/8, C) float32 logits before the final upsample"
HEAD_ONNX = FileType("ONNX", ".onnx", _NCHW_IN, _HEAD_OUT)
HEAD_IR = FileType("OpenVINO IR", ".xml", _NCHW_IN, _HEAD_OUT)
# LiteRT is NHWC throughout, like an Android Bitmap; ExecuTorch keeps PyTorch's NCHW
# (other layouts measured slower: ``export.mobile``).
TFLITE = FileType("LiteRT", ".tflite", "NHWC (1, H, W, 3) float32", "NHWC (1, H, W, C) float32")
PTE = FileType("ExecuTorch", ".pte", "NCHW (1, 3, H, W) float32", "NCHW (1, C, H, W) float32")


@dataclass(frozen=True)
class Format:
    """One kind of deploy file.

    Attributes:
        name: the ``segmnv3 export --format`` value and the export report's key.
        backend: the backend export checks it with (int8: with the tuned recipe).
        file: container (suffix, layouts).
        tag: between the stem and the suffix: ``""``, ``"_fp16"``, ``"_int8"``,
            ``"_labels"`` or ``"_head"``.
        needs: the format written before it: its source, or (int8 ExecuTorch, made
            from the module) the fp32 reference of its agreement figure.
        write: ``writers.Writer`` that makes the file.
        also_runs: other backends that load this file (OpenVINO reads ONNX).
    """

    name: str
    backend: Backend
    file: FileType
    tag: str
    needs: str | None
    write: Callable[..., Path]
    also_runs: tuple[Backend, ...] = ()

    @property
    def ends_in_labels(self) -> bool:
        """The graph returns train ids (argmax inside), not logits."""
        return self.file.output == _LABELS_OUT

    @property
    def ends_in_head(self) -> bool:
        """The graph returns the logits before the final upsample (stride 8)."""
        return self.file.output == _HEAD_OUT

    @property
    def lossy(self) -> bool:
        """fp16 / int8: checked by agreement with ``needs``, not by parity."""
        return self.backend.precision != "fp32"

    def backend_for(self, recipe: Recipe) -> Backend:
        """The backend that runs this format's file made with ``recipe`` (int8 only)."""
        if not self.backend.is_int8:
            return self.backend
        return dataclasses.replace(self.backend, int8_recipe=recipe)

    def runs(self, backend: Backend) -> bool:
        """Whether ``backend`` (any int8 recipe) loads this format's file."""
        if backend.is_int8:
            backend = dataclasses.replace(backend, int8_recipe="tuned")
        return backend == self.backend or backend in self.also_runs

    def path(self, stem: Path, recipe: Recipe, *, recipe_in_name: bool = False) -> Path:
        """``<stem><tag><suffix>``; int8 with ``recipe_in_name``: ``<stem>_<recipe><tag>...``."""
        recipe_part = f"_{recipe}" if recipe_in_name and self.backend.is_int8 else ""
        return Path(f"{stem}{recipe_part}{self.tag}{self.file.suffix}")


FORMATS = (
    Format("onnx", ONNXRUNTIME, ONNX_FILE, "", None, writers.onnx, (OPENVINO, OPENVINO_BF16)),
    Format("openvino", OPENVINO, OPENVINO_IR, "", "onnx", writers.openvino, (OPENVINO_BF16,)),
    Format("int8-onnxruntime", ONNXRUNTIME_INT8, ONNX_FILE, "_int8", "onnx", writers.onnx_int8),
    Format(
        "int8-openvino",
        OPENVINO_INT8,
        OPENVINO_IR,
        "_int8",
        "onnx",
        writers.openvino_int8,
        (OPENVINO_INT8_BF16,),
    ),
    Format("litert", LITERT, TFLITE, "", None, writers.litert),
    Format("fp16-litert", LITERT_FP16, TFLITE, "_fp16", "litert", writers.litert_fp16),
    Format("int8-litert", LITERT_INT8, TFLITE, "_int8", "litert", writers.litert_int8),
    Format("executorch", EXECUTORCH, PTE, "", None, writers.executorch),
    Format("int8-executorch", EXECUTORCH_INT8, PTE, "_int8", "executorch", writers.executorch_int8),
    # Last, so that ``format_for`` gives every backend its logits file.
    Format(
        "labels-onnx", ONNXRUNTIME, LABELS_ONNX, "_labels", None, writers.onnx_labels, (OPENVINO,)
    ),
    Format("labels-openvino", OPENVINO, LABELS_IR, "_labels", "labels-onnx", writers.openvino),
    Format("head-onnx", ONNXRUNTIME, HEAD_ONNX, "_head", None, writers.onnx_head, (OPENVINO,)),
    Format("head-openvino", OPENVINO, HEAD_IR, "_head", "head-onnx", writers.openvino),
)
"""Every deploy file, each after the one it needs (LiteRT / ExecuTorch: the ``mobile`` extra).
The ``labels-`` files end in train ids (the argmax in the runtime, at the network's size);
the ``head-`` files end in the logits before the final upsample (stride 8, parity-checked
against ``Segmenter.head_logits``): ``infer``, ``segment()`` and the page make labels at
the frame's size from them (``labels_from_logits``); ``bench`` times them against both."""

FORMAT_NAMES = tuple(f.name for f in FORMATS)
"""The ``segmnv3 export --format`` choices."""


def format_named(name: str) -> Format:
    """The format called ``name``.

    Raises:
        ValueError: an unknown name; the message lists the valid ones.
    """
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise ValueError(f"export format {name!r}: choose from {list(FORMAT_NAMES)}")


def format_for(backend: Backend) -> Format:
    """The first format ``backend`` runs: the file the benchmark gives it.

    Raises:
        ValueError: the eager backend (it runs the module, not a file).
    """
    for fmt in FORMATS:
        if fmt.runs(backend):
            return fmt
    raise ValueError(f"the {backend.name} backend runs the module, not a file")
