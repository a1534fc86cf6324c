"""Which runtime runs a network, at which precision: the ``Backend`` value.

A backend is three choices, not a string to decode: the runtime (eager PyTorch, ONNX
Runtime, OpenVINO, and the phone runtimes LiteRT and ExecuTorch, both on XNNPACK), the
precision of its arithmetic, and for int8 the quantization
recipe (``segmnv3.deploy.export.quantize``: ``ONNXRUNTIME_RECIPES``, ...) plus the precision of the parts left
in float. ``Backend.name`` gives the short label of reports and ``--backend`` flags
(``openvino-int8-bf16``); ``Backend.from_name`` reads one back at the CLI / JSON boundary.

This module imports nothing heavy: commands read the names for ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Runtime = Literal["eager", "onnxruntime", "openvino", "litert", "executorch"]
Precision = Literal["fp32", "bf16", "fp16", "int8"]
RUNTIMES = ("eager", "onnxruntime", "openvino", "litert", "executorch")
MOBILE_RUNTIMES = ("litert", "executorch")
"""The phone runtimes (XNNPACK CPU kernels); they need the ``mobile`` extra."""

PRECISIONS = {
    "eager": ("fp32",),
    "onnxruntime": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "int8"),
    "litert": ("fp32", "fp16", "int8"),  # fp16: fp16 weights in the file, fp32 arithmetic
    "executorch": ("fp32", "int8"),
}
Recipe = Literal["tuned", "naive"]


@dataclass(frozen=True)
class Backend:
    """A runtime and the precision it computes in.

    Attributes:
        runtime: ``eager`` (PyTorch), ``onnxruntime``, ``openvino``, ``litert`` (.tflite)
            or ``executorch`` (.pte).
        precision: ``fp32``, ``bf16`` (OpenVINO's AMX path), ``fp16`` (LiteRT: fp16
            weights) or ``int8`` (a quantized graph).
        int8_recipe: for int8: ``tuned`` (our choices) or ``naive`` (library defaults).
        float_precision: for int8 on OpenVINO: precision of the ops left in float
            (``bf16`` runs them on AMX).
    """

    runtime: Runtime
    precision: Precision = "fp32"
    int8_recipe: Recipe | None = None
    float_precision: Literal["fp32", "bf16"] = "fp32"

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime {self.runtime!r}: use one of {', '.join(RUNTIMES)}")
        if (self.precision == "int8") != (self.int8_recipe is not None):
            raise ValueError("an int8 backend needs an int8_recipe, and only an int8 backend")
        if self.float_precision == "bf16" and self.precision != "int8":
            raise ValueError("float_precision applies to int8 backends; use precision='bf16'")
        if self.precision not in PRECISIONS[self.runtime]:
            raise ValueError(f"{self.runtime} does not run {self.precision}")
        if self.runtime != "openvino" and self.float_precision != "fp32":
            raise ValueError(f"{self.runtime} runs int8 graphs with fp32 float parts only")

    @property
    def name(self) -> str:
        """The report label: ``eager``, ``openvino-bf16``, ``onnxruntime-int8-naive``, ..."""
        parts = [self.runtime]
        if self.precision != "fp32":
            parts.append(self.precision)
        if self.float_precision != "fp32":
            parts.append(self.float_precision)
        if self.int8_recipe == "naive":
            parts.append("naive")
        return "-".join(parts)

    @property
    def is_int8(self) -> bool:
        return self.precision == "int8"

    @property
    def is_mobile(self) -> bool:
        """LiteRT or ExecuTorch: a phone runtime (the ``mobile`` extra)."""
        return self.runtime in MOBILE_RUNTIMES

    @classmethod
    def from_name(cls, name: str) -> Backend:
        """The backend a report label names.

        Raises:
            ValueError: an unknown name; the message lists the valid ones.
        """
        known = {backend.name: backend for backend in ALL_BACKENDS}
        if name not in known:
            raise ValueError(f"unknown backend {name!r}; valid names: {', '.join(known)}")
        return known[name]

    def to_plain(self) -> str:
        """The JSON form (``core.schema.to_plain``): the name."""
        return self.name

    @classmethod
    def from_plain(cls, value: str) -> Backend:
        """The backend of a JSON name (``core.schema.from_dict``)."""
        if not isinstance(value, str):
            raise TypeError(f"a backend is named by a string, got {value!r}")
        return cls.from_name(value)

    def __str__(self) -> str:
        return self.name


EAGER = Backend("eager")
ONNXRUNTIME = Backend("onnxruntime")
OPENVINO = Backend("openvino")
OPENVINO_BF16 = Backend("openvino", "bf16")
ONNXRUNTIME_INT8 = Backend("onnxruntime", "int8", "tuned")
OPENVINO_INT8 = Backend("openvino", "int8", "tuned")
OPENVINO_INT8_BF16 = Backend("openvino", "int8", "tuned", float_precision="bf16")
ONNXRUNTIME_INT8_NAIVE = Backend("onnxruntime", "int8", "naive")
OPENVINO_INT8_NAIVE = Backend("openvino", "int8", "naive")
LITERT = Backend("litert")
LITERT_FP16 = Backend("litert", "fp16")
LITERT_INT8 = Backend("litert", "int8", "tuned")
EXECUTORCH = Backend("executorch")
EXECUTORCH_INT8 = Backend("executorch", "int8", "tuned")

MOBILE_FP32 = (LITERT, EXECUTORCH)
"""The phone runtimes at fp32: ``infer --backend`` offers them beside ``FP32_BACKENDS``."""

MOBILE_BACKENDS = (LITERT, LITERT_FP16, EXECUTORCH, LITERT_INT8, EXECUTORCH_INT8)
"""Every LiteRT / ExecuTorch backend the benchmark times (when the ``mobile`` extra is in)."""

FP32_BACKENDS = (EAGER, ONNXRUNTIME, OPENVINO)
"""What ``segmnv3 infer --backend`` offers, and the fp32 candidates of the benchmark."""

INT8_TUNED = (ONNXRUNTIME_INT8, OPENVINO_INT8, OPENVINO_INT8_BF16)

ALL_BACKENDS = (
    *FP32_BACKENDS,
    OPENVINO_BF16,
    *INT8_TUNED,
    ONNXRUNTIME_INT8_NAIVE,
    OPENVINO_INT8_NAIVE,
    *MOBILE_BACKENDS,
)
"""Every backend, in the benchmark's order (naive int8: the library-default baseline)."""
