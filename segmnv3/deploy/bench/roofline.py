"""Roofline per layer: ONNX Runtime's per-node profile against the measured roofs.

Each node ONNX Runtime ran (one thread, its full graph optimisation, as the benchmark
times it) gets a measured time, its MACs, the bytes it moved, and a bound: the larger of
MACs / fp32 GEMM rate (compute) and bytes / copy bandwidth (memory), once with the
cache-resident and once with the DRAM bandwidth. Nodes are grouped in op classes; the
sum of the nodes' bounds is the model's floor on this machine, and the fastest runtime's
latency over that floor says how far from the limit it runs.

* MACs are counted on the exported model's graph, not on ONNX Runtime's nodes, whose
  blocked (NCHWc) layout pads channels (19 classes -> 32): ``model_graph_macs`` gives
  each ``Conv`` its weight size per output pixel and each bilinear ``Resize`` 4 per
  output value (as ``models.profile``), passed through the activations / adds ONNX
  Runtime fuses into the conv (a fused node is named after its output tensor); the
  pixels come from the node's output shape, whose spatial dims are not padded.
  ``counted_macs`` beside ``model_macs`` (the PyTorch profile) checks the mapping.
* Bytes are ONNX Runtime's own count for the node: inputs + weights + output.
* Layout reorders (``ReorderInput`` / ``ReorderOutput``) exist only because of the
  blocked layout: their floor is 0.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from segmnv3.deploy.bench.roofs import Roofs

OP_CLASSES = (
    "stem",
    "1x1 convs",
    "depthwise convs",
    "SE (convs, pooling, gate multiply)",
    "pooling",
    "resizes",
    "elementwise",
    "layout reorders",
    "other",
)
REORDERS = ("ReorderInput", "ReorderOutput")
Bound = Literal["compute", "memory", "none"]


@dataclass(frozen=True)
class NodeCost:
    """One node of ONNX Runtime's optimised graph: median time over the profiled runs."""

    name: str
    op: str
    op_class: str
    ms: float
    macs: int
    bytes_moved: int


@dataclass(frozen=True)
class OpClassRow:
    """The nodes of one op class: what they cost and their floor."""

    op_class: str
    nodes: int
    ms: float
    macs: int
    bytes_moved: int
    floor_cache_ms: float  # sum of the nodes' bounds, cache-resident bandwidth
    floor_dram_ms: float  # the same with DRAM bandwidth
    bound: Bound  # what bounds most of the floor (cache bandwidth): compute or memory


@dataclass(frozen=True)
class RooflineResult:
    """One (model, resolution): per op class, and the model's floor against the fastest."""

    model: str
    resolution: str
    size: tuple[int, int]
    runs: int
    rows: list[OpClassRow]
    profiled_ms: float  # sum of the nodes' median times
    counted_macs: int
    model_macs: int
    floor_cache_ms: float
    floor_dram_ms: float
    fastest_backend: str = ""
    fastest_ms: float | None = None

    @property
    def fastest_vs_floor(self) -> tuple[float, float] | None:
        """Fastest latency / floor, with the cache-resident and the DRAM bandwidth."""
        if self.fastest_ms is None:
            return None
        return self.fastest_ms / self.floor_cache_ms, self.fastest_ms / self.floor_dram_ms


def op_class(event: dict) -> str:
    """The op class of one profiled node (its op type, weights and module path)."""
    name, op = event["name"], event["args"].get("op_name", "")
    if op in REORDERS or op == "Transpose":
        return "layout reorders"
    if "/se/" in name:
        return "SE (convs, pooling, gate multiply)"
    if op in ("Conv", "FusedConv", "QLinearConv"):
        weight = _shapes(event, "input_type_shape")[1]
        if "stem" in name:
            return "stem"
        if weight[1] == 1 and weight[0] > 1:
            return "depthwise convs"
        return "1x1 convs" if weight[2:] == [1, 1] else "other"
    if op in ("GlobalAveragePool", "AveragePool", "ReduceMean", "MaxPool"):
        return "pooling"
    if op in ("Resize", "Upsample"):
        return "resizes"
    if op in ("Mul", "Add", "HardSwish", "HardSigmoid", "Relu", "Sigmoid", "Concat", "Sum"):
        return "elementwise"
    return "other"


FUSED_AFTER_CONV = ("Relu", "HardSwish", "HardSigmoid", "Sigmoid", "Clip", "Add")
"""Ops ONNX Runtime fuses into the conv before them: their output tensor names the node."""


def model_graph_macs(onnx_path: Path) -> dict[str, int]:
    """MACs per output pixel (N x H x W) of each Conv / Resize of an exported ONNX file:
    a conv's weight size, 4 x channels for a bilinear resize. Keyed by the node's name and
    its output tensor's name (and that of the activations / adds fused after it)."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(onnx.load(str(onnx_path))).graph
    channels = {
        v.name: v.type.tensor_type.shape.dim[1].dim_value
        for v in (*graph.value_info, *graph.output, *graph.input)
        if len(v.type.tensor_type.shape.dim) > 1
    }
    weights = {w.name: list(w.dims) for w in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    per_pixel: dict[str, int] = {}
    for node in graph.node:  # topological order
        if node.op_type == "Conv":
            value = _product(weights[node.input[1]])
        elif node.op_type == "Resize" and not _bilinear(node):
            value = 0  # nearest (a broadcast of the pooled gate): no arithmetic
        elif node.op_type == "Resize" and channels.get(node.input[0]):
            value = 4 * channels[node.input[0]]
        elif node.op_type in FUSED_AFTER_CONV:
            convs = [i for i in node.input if i in per_pixel]
            direct = [i for i in convs if producer[i].op_type == "Conv"]
            source = direct or (convs if len(convs) == 1 else [])
            if len(source) == 1:  # the same MACs, under the fused node's name
                per_pixel[node.output[0]] = per_pixel[source[0]]
            continue
        else:
            continue
        per_pixel[node.name] = per_pixel[node.output[0]] = value
    return per_pixel


def node_macs(event: dict, per_pixel: dict[str, int]) -> int:
    """MACs of an ONNX Runtime node: output pixels (its spatial shape is not padded) x the
    model's MACs per pixel, found by the node's (NCHWc) output tensor or its name."""
    name = event["name"].removesuffix("_kernel_time")
    op = event["args"].get("op_name", "")
    output = _shapes(event, "output_type_shape")[0]
    value = per_pixel.get(name.removesuffix("_nchwc"))
    if value is None and op in ("Resize", "Upsample"):  # bilinear, channels unknown to the graph
        value = 4 * output[1]
    # ONNX Runtime's NHWC rewrite of the last resize (``graph_rewrite``): channels last
    nhwc = op in ("Resize", "Upsample") and output[-1] * 4 == value != output[1] * 4
    pixels = _product(output[:3] if nhwc else output[:1] + output[2:])
    return pixels * (value or 0)


def _bilinear(node) -> bool:
    return any(a.name == "mode" and a.s == b"linear" for a in node.attribute)


def _shapes(event: dict, key: str) -> list[list[int]]:
    return [next(iter(item.values())) for item in event["args"].get(key, [])]


def _product(values) -> int:
    result = 1
    for value in values:
        result *= int(value)
    return result


def read_profile(trace: Path, graph_macs: dict[str, int], *, skip_runs: int = 1) -> list[NodeCost]:
    """Per-node median time over the runs of an ONNX Runtime trace (the first
    ``skip_runs`` runs are warm-up), with each node's MACs from ``model_graph_macs``."""
    events = json.loads(Path(trace).read_text())
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    durations: dict[str, list[float]] = defaultdict(list)
    first: dict[str, dict] = {}
    for event in kernels:
        durations[event["name"]].append(event["dur"] / 1000.0)  # us -> ms
        first.setdefault(event["name"], event)
    nodes = []
    for name, times in durations.items():
        event = first[name]
        args = event["args"]
        moved = sum(
            int(args.get(k, 0)) for k in ("activation_size", "parameter_size", "output_size")
        )
        nodes.append(
            NodeCost(
                name.removesuffix("_kernel_time"),
                args.get("op_name", ""),
                op_class(event),
                statistics.median(times[skip_runs:] or times),
                node_macs(event, graph_macs),
                moved,
            )
        )
    return nodes


def node_floor_ms(node: NodeCost, roofs: Roofs, bandwidth_gbps: float) -> tuple[float, Bound]:
    """The node's bound: max(MACs / fp32 GEMM rate, bytes / bandwidth); reorders: 0."""
    if node.op in REORDERS:
        return 0.0, "none"
    compute = node.macs / (roofs.fp32_gmacs * 1e6)  # ms
    memory = node.bytes_moved / (bandwidth_gbps * 1e6)
    return (compute, "compute") if compute >= memory else (memory, "memory")


def class_rows(nodes: list[NodeCost], roofs: Roofs) -> list[OpClassRow]:
    """The nodes grouped in ``OP_CLASSES`` (classes without nodes left out)."""
    rows = []
    for name in OP_CLASSES:
        group = [n for n in nodes if n.op_class == name]
        if not group:
            continue
        cache = [node_floor_ms(n, roofs, roofs.cache_gbps) for n in group]
        dram = [node_floor_ms(n, roofs, roofs.dram_gbps)[0] for n in group]
        by_bound = defaultdict(float)
        for floor, bound in cache:
            by_bound[bound] += floor
        rows.append(
            OpClassRow(
                op_class=name,
                nodes=len(group),
                ms=sum(n.ms for n in group),
                macs=sum(n.macs for n in group),
                bytes_moved=sum(n.bytes_moved for n in group),
                floor_cache_ms=sum(f for f, _ in cache),
                floor_dram_ms=sum(dram),
                bound=max(by_bound, key=by_bound.get) if any(by_bound.values()) else "none",
            )
        )
    return rows


def profile_onnxruntime(path: Path, size: tuple[int, int], runs: int, workdir: Path) -> Path:
    """Run ``path`` ``runs`` + 1 times on one thread with ONNX Runtime's profiler on."""
    import numpy as np

    from segmnv3.deploy.runtimes.predictors import OnnxRuntimePredictor

    predictor = OnnxRuntimePredictor(path, threads=1, profile=workdir / f"{path.stem}_profile")
    batch = np.random.default_rng(0).standard_normal((1, 3, *size), dtype=np.float32)
    for _ in range(runs + 1):
        predictor.logits(batch)
    return predictor.end_profiling()


def roofline(
    model: str,
    resolution: str,
    onnx_path: Path,
    trace: Path,
    roofs: Roofs,
    *,
    size: tuple[int, int],
    model_macs: int,
    runs: int,
) -> RooflineResult:
    """The roofline of one (model, resolution) from its ONNX file and its profile."""
    nodes = read_profile(trace, model_graph_macs(onnx_path))
    rows = class_rows(nodes, roofs)
    return RooflineResult(
        model=model,
        resolution=resolution,
        size=size,
        runs=runs,
        rows=rows,
        profiled_ms=sum(n.ms for n in nodes),
        counted_macs=sum(n.macs for n in nodes),
        model_macs=model_macs,
        floor_cache_ms=sum(r.floor_cache_ms for r in rows),
        floor_dram_ms=sum(r.floor_dram_ms for r in rows),
    )
