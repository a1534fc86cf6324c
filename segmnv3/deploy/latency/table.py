"""Per-layer latency lookup tables: NetAdapt's cheap predictor, and measurements made elsewhere.

A table holds the latency of each conv layer (by its shape) on one runtime at one network
input size, plus ``rest_ms`` for everything that is not a conv (resizes, pooling, adds).
A model's predicted latency is ``rest_ms`` + the sum of its convs' entries; a conv the
table lacks is scaled from the nearest entry of the same kind (kernel, stride, dilation,
depthwise or not, input size) by its MACs. Sums of isolated layers mispredict whole
graphs (fusion, layout changes), so ``segmnv3 adapt`` reports predicted beside measured.

The JSON format (``--latency-table``; ``latency_table.json`` of an adapt run is one)::

    {"runtime": "onnxruntime", "size": [256, 512], "threads": 1,
     "device": "free text: where and how it was measured",
     "rest_ms": 1.9,
     "layers": [{"in_channels": 16, "out_channels": 64, "kernel": 1, "stride": 1,
                 "dilation": 1, "groups": 1, "input": [64, 128], "ms": 0.21}, ...]}

``input`` is the layer's input (H, W) for that network size. To measure on a phone, time
each conv of that shape alone on the device and the whole model once; ``rest_ms`` is
the whole model minus the sum of its convs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from segmnv3.core.errors import ConfigError, UserError
from segmnv3.core.files import write_text_atomic
from segmnv3.core.schema import from_dict, to_plain


@dataclass(frozen=True)
class ConvShape:
    """A conv layer as the table keys it."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    dilation: int
    groups: int
    input: tuple[int, int]

    @property
    def macs(self) -> int:
        height = (self.input[0] + self.stride - 1) // self.stride
        width = (self.input[1] + self.stride - 1) // self.stride
        per_pixel = self.out_channels * (self.in_channels // self.groups) * self.kernel**2
        return per_pixel * height * width

    @property
    def kind(self) -> tuple:
        """What must match for one layer's time to predict another's by MACs."""
        depthwise = self.groups > 1 and self.groups == self.in_channels
        return self.kernel, self.stride, self.dilation, depthwise, self.input


@dataclass(frozen=True)
class LayerEntry(ConvShape):
    """One measured layer: its shape and latency (ms)."""

    ms: float = 0.0


@dataclass
class LatencyTable:
    """Per-layer latencies of one runtime at one network input size."""

    runtime: str
    size: tuple[int, int]
    threads: int
    device: str
    rest_ms: float
    layers: list[LayerEntry]

    def predict(self, model: nn.Module) -> float:
        """Predicted latency (ms) of ``model`` at the table's size.

        Raises:
            UserError: a conv of a kind the table has no entry for.
        """
        exact = {ConvShape(**_shape_fields(e)): e.ms for e in self.layers}
        total = self.rest_ms
        for shape in conv_shapes(model, self.size):
            if shape in exact:
                total += exact[shape]
                continue
            same_kind = [e for e in self.layers if e.kind == shape.kind]
            if not same_kind:
                raise UserError(
                    f"the latency table ({self.runtime}, {self.size[0]}x{self.size[1]}) has no "
                    f"layer like {shape} (kernel, stride, dilation, depthwise and input size "
                    "must match one entry); add a measurement of it"
                )
            nearest = min(same_kind, key=lambda e: abs(e.macs - shape.macs))
            total += nearest.ms * shape.macs / max(nearest.macs, 1)
        return total

    def check_matches(self, runtime: str, size: tuple[int, int], source: str) -> None:
        """UserError when the table was measured on another runtime or input size."""
        if self.runtime != runtime or tuple(self.size) != tuple(size):
            raise UserError(
                f"{source} holds latencies of {self.runtime} at {self.size[0]}x{self.size[1]}, "
                f"but this run targets {runtime} at {size[0]}x{size[1]}; pass --runtime "
                f"{self.runtime} --size {self.size[0]} {self.size[1]} or a table of this target"
            )

    def save(self, path: Path) -> Path:
        write_text_atomic(path, json.dumps(to_plain(self), indent=1) + "\n")
        return path


def load_table(path: str | Path) -> LatencyTable:
    """Read a ``--latency-table`` file; one-line UserError when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"--latency-table {path}: cannot read it as JSON ({error})") from None
    try:
        return from_dict(LatencyTable, data, source=str(path))
    except ConfigError as error:
        raise UserError(
            f"--latency-table {error}; see the format in `segmnv3 adapt --help`"
        ) from None


def conv_shapes(model: nn.Module, size: tuple[int, int]) -> list[ConvShape]:
    """The shape of every conv ``model`` runs on a (1, 3, H, W) input.

    Channel counts never change where a conv sits or the size of its input, so the input
    sizes of one layout (conv names, kernels, strides, dilations, padding) are found by one
    forward pass and reused for every model of that layout: NetAdapt predicts hundreds of
    channel variants of one model per step.
    """
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    layout = tuple((name, m.kernel_size, m.stride, m.dilation, m.padding) for name, m in convs)
    key = (tuple(size), layout)
    if key not in _INPUT_SIZES:
        if len(_INPUT_SIZES) >= 8:
            _INPUT_SIZES.clear()
        _INPUT_SIZES[key] = _conv_input_sizes(model, size)
    sizes = _INPUT_SIZES[key]
    return [
        ConvShape(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size[0],
            conv.stride[0],
            conv.dilation[0],
            conv.groups,
            sizes[name],
        )
        for name, conv in convs
        if name in sizes  # a conv the forward pass never calls costs nothing
    ]


_INPUT_SIZES: dict[tuple, dict[str, tuple[int, int]]] = {}


def _conv_input_sizes(model: nn.Module, size: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Input (H, W) of each conv, by module name, in one forward pass of ``model``."""
    sizes: dict[str, tuple[int, int]] = {}

    def recorder(name: str):
        def record(_module, inputs: tuple[torch.Tensor, ...], _output) -> None:
            height, width = inputs[0].shape[-2:]
            sizes[name] = (int(height), int(width))

        return record

    hooks = [
        m.register_forward_hook(recorder(name))
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *size))
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def measure_table(model: nn.Module, model_ms: float, size: tuple[int, int], device: str):
    """A table for ONNX Runtime (1 thread): each distinct conv of ``model`` timed alone
    (a one-node graph), ``rest_ms`` = ``model_ms`` (measured whole) - the convs' sum."""
    entries, total = {}, 0.0
    for shape in conv_shapes(model, size):
        if shape not in entries:
            entries[shape] = _time_conv_onnxruntime(shape)
        total += entries[shape]
    layers = [LayerEntry(**_shape_fields(shape), ms=ms) for shape, ms in entries.items()]
    return LatencyTable("onnxruntime", tuple(size), 1, device, model_ms - total, layers)


def _shape_fields(shape: ConvShape) -> dict:
    names = ("in_channels", "out_channels", "kernel", "stride", "dilation", "groups", "input")
    return {name: getattr(shape, name) for name in names}


def _time_conv_onnxruntime(shape: ConvShape, repeats: int = 15) -> float:
    """Median ms of one Conv node of ``shape`` in ONNX Runtime, one thread."""
    import time

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(0).standard_normal(
        (shape.out_channels, shape.in_channels // shape.groups, shape.kernel, shape.kernel),
        dtype=np.float32,
    )
    pad = (shape.kernel - 1) // 2 * shape.dilation
    node = helper.make_node(
        "Conv",
        ["x", "w"],
        ["y"],
        strides=[shape.stride] * 2,
        dilations=[shape.dilation] * 2,
        group=shape.groups,
        pads=[pad] * 4,
    )
    graph = helper.make_graph(
        [node],
        "conv",
        [
            helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, [1, shape.in_channels, *shape.input]
            )
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.log_severity_level = 3
    session = ort.InferenceSession(
        onnx.ModelProto.SerializeToString(model), options, providers=["CPUExecutionProvider"]
    )
    x = np.zeros((1, shape.in_channels, *shape.input), dtype=np.float32)
    session.run(None, {"x": x})
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"x": x})
        samples.append(time.perf_counter() - start)
    return float(np.median(samples) * 1000.0)
