"""ONNX Runtime runs the final upsample on NHWC logits, with identical values."""

import numpy as np
import onnx
import torch

from segmnv3 import build_model
from segmnv3.deploy.export.graphs import export_onnx
from segmnv3.deploy.runtimes.graph_rewrite import resize_in_channels_last
from segmnv3.deploy.runtimes.predictors import OnnxRuntimePredictor


def test_fixed_size_graph_gets_the_channels_last_resize(tmp_path):
    model = build_model(backbone="mobilenet_v3_small").eval()
    graph = onnx.load(str(export_onnx(model, tmp_path / "m.onnx", (96, 160))))
    assert [n.op_type for n in graph.graph.node][-2:] == ["Resize", "Transpose"]  # as exported
    assert resize_in_channels_last(graph)
    assert [n.op_type for n in graph.graph.node][-2:] == ["Transpose", "Resize"]
    onnx.checker.check_model(graph, full_check=True)


def test_onnxruntime_logits_are_unchanged_by_the_rewrite(tmp_path):
    torch.manual_seed(0)
    model = build_model(backbone="mobilenet_v3_small").eval()
    path = export_onnx(model, tmp_path / "m.onnx", (96, 160))
    x = np.random.default_rng(0).standard_normal((1, 3, 96, 160)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()  # (1, C, H, W)
    np.testing.assert_allclose(OnnxRuntimePredictor(path).logits(x), expected, rtol=0, atol=1e-4)


def test_dynamic_graph_is_left_as_exported(tmp_path):
    model = build_model(backbone="mobilenet_v3_small", pooling="global").eval()
    graph = onnx.load(str(export_onnx(model, tmp_path / "m.onnx", (96, 160), dynamic=True)))
    assert not resize_in_channels_last(graph)
    assert [n.op_type for n in graph.graph.node][-2:] == ["Resize", "Transpose"]


def test_labels_graph_resizes_channels_last_and_argmaxes_the_last_axis(tmp_path):
    torch.manual_seed(0)
    model = build_model(backbone="mobilenet_v3_small").eval()
    path = export_onnx(model, tmp_path / "labels.onnx", (96, 160), output="labels")
    graph = onnx.load(str(path))
    assert [n.op_type for n in graph.graph.node][-4:] == ["Resize", "Transpose", "ArgMax", "Cast"]
    assert resize_in_channels_last(graph)
    assert [n.op_type for n in graph.graph.node][-4:] == ["Transpose", "Resize", "ArgMax", "Cast"]
    onnx.checker.check_model(graph, full_check=True)
    x = np.random.default_rng(0).standard_normal((1, 3, 96, 160)).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(x))  # (1, C, H, W)
    expected = logits.argmax(1).numpy().astype(np.uint8)
    labels = OnnxRuntimePredictor(path).predict(x)  # the rewritten graph, in memory
    assert labels.dtype == np.uint8 and labels.shape == (1, 96, 160)
    assert (labels == expected).mean() >= 0.999  # float ties at most
