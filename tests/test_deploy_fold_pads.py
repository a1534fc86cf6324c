"""tf_same padding exports without Pad nodes: each is folded into its Conv, same values."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from segmnv3.deploy.export.fold_pads import fold_pads_into_convs
from segmnv3.deploy.export.graphs import export_onnx
from segmnv3.models.segmenter import build_model


def test_tf_same_export_has_no_pad_nodes_and_matches_eager(tmp_path):
    torch.manual_seed(0)
    model = build_model(backbone="mobilenet_v3_small", padding="tf_same", dilation="authors")
    path = export_onnx(model.eval(), tmp_path / "tf_same.onnx", (96, 160))
    assert [n.op_type for n in onnx.load(str(path)).graph.node].count("Pad") == 0
    x = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        expected = model(x).permute(0, 2, 3, 1).numpy()  # the export's NHWC logits
    (logits,) = ort.InferenceSession(str(path)).run(None, {"image": x.numpy()})
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def _pad_conv_graph(value: float) -> onnx.ModelProto:
    pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 0, 0, 0, 0, 1, 1])
    fill = helper.make_tensor("fill", TensorProto.FLOAT, [], [value])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 3, 3], [1.0] * 9)
    nodes = [
        helper.make_node("Pad", ["x", "pads", "fill"], ["padded"], mode="constant"),
        helper.make_node("Conv", ["padded", "w"], ["y"], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [pads, fill, weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_only_zero_padding_is_folded_and_values_stay_equal():
    x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
    for value, folds in ((0.0, 1), (5.0, 0)):
        model = _pad_conv_graph(value)
        expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
        assert fold_pads_into_convs(model) == folds
        conv = next(n for n in model.graph.node if n.op_type == "Conv")
        pads = next((list(a.ints) for a in conv.attribute if a.name == "pads"), None)
        assert pads == ([0, 0, 1, 1] if folds else None)
        got = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
        np.testing.assert_array_equal(got, expected)
