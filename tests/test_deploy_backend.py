"""The Backend value, the one predictor factory, and normalisation from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import segmnv3
from segmnv3.core.checkpoint import save_checkpoint
from segmnv3.core.schema import to_plain
from segmnv3.data.config import DataConfig
from segmnv3.deploy.bench.subjects import BASELINE_BACKENDS, OUR_BACKENDS
from segmnv3.deploy.export.graphs import export_onnx
from segmnv3.deploy.inference.preprocess import to_input
from segmnv3.deploy.model import load_deploy_model
from segmnv3.deploy.runtimes import Backend, build_predictor
from segmnv3.deploy.runtimes.backend import ALL_BACKENDS, EAGER, ONNXRUNTIME
from segmnv3.models.config import ModelConfig

NAMES = [
    "eager",
    "onnxruntime",
    "openvino",
    "openvino-bf16",
    "onnxruntime-int8",
    "openvino-int8",
    "openvino-int8-bf16",
    "onnxruntime-int8-naive",
    "openvino-int8-naive",
    "litert",
    "litert-fp16",
    "executorch",
    "litert-int8",
    "executorch-int8",
]


@pytest.mark.parametrize("name", NAMES)
def test_backend_name_round_trip(name):
    backend = Backend.from_name(name)
    assert backend.name == name
    assert Backend.from_name(backend.name) == backend


def test_backend_fields_spell_the_name():
    assert Backend("openvino", "int8", "tuned", float_precision="bf16").name == "openvino-int8-bf16"
    assert Backend("onnxruntime", "int8", "naive").name == "onnxruntime-int8-naive"
    assert [b.name for b in ALL_BACKENDS] == NAMES


def test_bad_backend_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown backend 'openvino-int4'") as error:
        Backend.from_name("openvino-int4")
    assert all(name in str(error.value) for name in NAMES)


@pytest.mark.parametrize(
    "fields",
    [
        ("eager", "bf16", None),
        ("onnxruntime", "bf16", None),
        ("openvino", "int8", None),
        ("openvino", "fp32", "tuned"),
        ("tensorrt", "fp32", None),
        ("executorch", "fp16", None),
        ("litert", "bf16", None),
    ],
)
def test_impossible_backends_are_refused(fields):
    with pytest.raises(ValueError):
        Backend(*fields)


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory):
    torch.manual_seed(0)
    model = segmnv3.build_model(backbone="mobilenet_v3_small").eval()
    path = export_onnx(model, tmp_path_factory.mktemp("graph") / "m.onnx", (64, 128))
    return model, path


@pytest.mark.parametrize(
    "backend",
    sorted({b for b in (*OUR_BACKENDS, *BASELINE_BACKENDS) if not b.is_mobile}, key=str),
)
def test_build_predictor_is_the_one_factory(tiny_graph, backend):  # phone files: test_deploy_mobile
    model, path = tiny_graph
    predictor = build_predictor(backend, model if backend == EAGER else path)
    assert predictor.backend == backend
    assert predictor.name == backend.name
    batch = np.zeros((1, 3, 64, 128), dtype=np.float32)
    assert predictor.predict(batch).shape == (1, 64, 128)


def test_build_predictor_refuses_mismatched_sources(tiny_graph):
    model, path = tiny_graph
    with pytest.raises(ValueError, match="not a file"):
        build_predictor(EAGER, path)
    with pytest.raises(ValueError, match="export it first"):
        build_predictor(ONNXRUNTIME, model)


def test_normalisation_comes_from_the_checkpoint(tmp_path):
    model_config = ModelConfig(backbone="mobilenet_v3_small")
    model = segmnv3.build_model_from_config(model_config)
    data = DataConfig(mean=(0.5, 0.25, 0.0), std=(0.5, 0.5, 0.25))
    config = {"model": to_plain(model_config), "data": to_plain(data)}
    path = save_checkpoint({"model": model.state_dict(), "config": config}, tmp_path / "m.pt")
    deployed = load_deploy_model(path)
    assert deployed.data.mean == (0.5, 0.25, 0.0) and deployed.data.std == (0.5, 0.5, 0.25)
    frame = np.zeros((32, 32, 3), dtype=np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 255, 128, 0  # BGR: blue 255, green 128
    batch = to_input(frame, None, deployed.data)  # (1, 3, H, W), RGB
    expected = [(0 - 127.5) / 127.5, (128 - 63.75) / 127.5, (255 - 0.0) / 63.75]
    np.testing.assert_allclose(batch[0, :, 0, 0], expected, rtol=1e-6)
    default = to_input(frame)
    assert not np.allclose(batch, default)  # ImageNet statistics give another input
    np.testing.assert_allclose(
        default[0, :, 0, 0],
        [(0 - 123.675) / 58.395, (128 - 116.28) / 57.12, (255 - 103.53) / 57.375],
        rtol=1e-5,
    )
