"""Per-layer roofline: op classes, MACs counted on the model graph, per-node bounds, the
floor; hand-made nodes and one tiny model profiled by ONNX Runtime."""

from __future__ import annotations

import pytest
import torch

import segmnv3
from segmnv3.deploy.bench.roofline import (
    NodeCost,
    class_rows,
    node_floor_ms,
    op_class,
    profile_onnxruntime,
    roofline,
)
from segmnv3.deploy.bench.roofs import CpuIdentity, Roofs
from segmnv3.deploy.export.graphs import export_onnx
from segmnv3.models.profile import profile

ROOFS = Roofs(
    cpu=CpuIdentity("test", 6, 1, "test cpu", ("avx2",), "AVX2"),
    fp32_gmacs=100.0,
    bf16_gmacs=None,
    int8_gmacs=None,
    cache_gbps=10.0,
    dram_gbps=5.0,
    gemm_size=32,
    cache_bytes=1 << 12,
    dram_bytes=1 << 16,
    method="test",
)


def _event(name, op, inputs=(), output=(1, 8, 4, 4)):
    shapes = [{"float": list(s)} for s in inputs]
    args = {"op_name": op, "input_type_shape": shapes, "output_type_shape": [{"float": output}]}
    return {"name": name, "args": args}


def test_op_classes_from_weights_and_module_path():
    assert op_class(_event("/m/stem/stem.0/Conv", "Conv", [(1, 3, 8, 8), (8, 3, 3, 3)])) == "stem"
    assert op_class(_event("/m/b1/dw/Relu", "Conv", [(1, 8, 8, 8), (8, 1, 3, 3)])) == (
        "depthwise convs"
    )
    assert op_class(_event("/m/b1/pw/Conv", "Conv", [(1, 8, 8, 8), (16, 8, 1, 1)])) == "1x1 convs"
    assert op_class(_event("/m/b1/se/Mul", "Mul")) == "SE (convs, pooling, gate multiply)"
    assert op_class(_event("ReorderOutput_token_3", "ReorderOutput")) == "layout reorders"
    assert op_class(_event("/m/Resize", "Resize")) == "resizes"


def test_node_bound_is_the_larger_of_compute_and_memory():
    heavy = NodeCost("conv", "Conv", "1x1 convs", 12.0, 10**9, 10**6)  # 10 ms / 0.1 ms
    assert node_floor_ms(heavy, ROOFS, ROOFS.cache_gbps) == (pytest.approx(10.0), "compute")
    light = NodeCost("add", "Add", "elementwise", 1.0, 0, 2 * 10**7)  # 20 MB at 10 GB/s
    assert node_floor_ms(light, ROOFS, ROOFS.cache_gbps) == (pytest.approx(2.0), "memory")
    assert node_floor_ms(light, ROOFS, ROOFS.dram_gbps)[0] == pytest.approx(4.0)
    reorder = NodeCost("r", "ReorderInput", "layout reorders", 3.0, 0, 10**8)
    assert node_floor_ms(reorder, ROOFS, ROOFS.cache_gbps) == (0.0, "none")
    rows = {r.op_class: r for r in class_rows([heavy, light, reorder], ROOFS)}
    assert rows["1x1 convs"].floor_cache_ms == pytest.approx(10.0)
    assert rows["elementwise"].floor_dram_ms == pytest.approx(4.0)
    assert rows["layout reorders"].floor_cache_ms == 0 and rows["layout reorders"].ms == 3.0


def test_tiny_model_profile_counts_the_model_macs(tmp_path):
    torch.manual_seed(0)
    model = segmnv3.build_model(backbone="mobilenet_v3_small").eval()
    size = (64, 128)
    path = export_onnx(model, tmp_path / "tiny.onnx", size)
    trace = profile_onnxruntime(path, size, 1, tmp_path)
    madds = profile(model, size).madds
    result = roofline("tiny", "half", path, trace, ROOFS, size=size, model_macs=madds, runs=1)
    # NCHWc pads 19 classes to 32 channels: counted on ORT's shapes this was ~10% over
    assert result.counted_macs == pytest.approx(madds, rel=0.005)
    assert result.floor_cache_ms == pytest.approx(sum(r.floor_cache_ms for r in result.rows))
    assert result.floor_dram_ms >= result.floor_cache_ms > 0
    assert {"stem", "1x1 convs", "depthwise convs", "resizes"} <= {r.op_class for r in result.rows}
    assert result.profiled_ms == pytest.approx(sum(r.ms for r in result.rows))
