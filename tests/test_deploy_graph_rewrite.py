"""The final upsample runs on NHWC logits in fixed-size exports, with identical values."""

import numpy as np
import onnx
import onnxruntime as ort
import torch

from segmnv3 import build_model
from segmnv3.deploy.export import export_onnx


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]


def test_fixed_size_export_resizes_channels_last(tmp_path):
    torch.manual_seed(0)
    model = build_model(backbone="mobilenet_v3_small").eval()
    path = export_onnx(model, tmp_path / "m.onnx", (96, 160))
    nodes = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert nodes[-2:] == ["Transpose", "Resize"]  # was Resize (NCHW) -> Transpose
    x = np.random.default_rng(0).standard_normal((1, 3, 96, 160)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).permute(0, 2, 3, 1).numpy()  # (1, H, W, C)
    np.testing.assert_allclose(_run(path, x), expected, rtol=0, atol=1e-4)


def test_dynamic_export_is_left_as_exported(tmp_path):
    model = build_model(backbone="mobilenet_v3_small", pooling="global").eval()
    path = export_onnx(model, tmp_path / "m.onnx", (96, 160), dynamic=True)
    nodes = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert nodes[-2:] == ["Resize", "Transpose"]
    x = np.zeros((1, 3, 64, 96), dtype=np.float32)
    assert _run(path, x).shape == (1, 64, 96, 19)
