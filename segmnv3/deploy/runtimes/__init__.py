"""Runtimes: the ``Backend`` value, one ``Predictor`` interface and its one factory.

- ``backend``: ``Backend`` (runtime, precision, int8 recipe) and the named backends.
- ``predictors``: eager PyTorch, ONNX Runtime and OpenVINO predictors.
- ``mobile``: LiteRT and ExecuTorch predictors (XNNPACK; the ``mobile`` extra).
- ``factory``: ``build_predictor(backend, model_or_file)``, ``check_device``.
- ``graph_rewrite``: ONNX Runtime's in-memory NHWC resize rewrite.
"""

from segmnv3.deploy.runtimes.backend import Backend
from segmnv3.deploy.runtimes.factory import build_predictor, check_device
from segmnv3.deploy.runtimes.predictors import (
    EagerPredictor,
    OnnxRuntimePredictor,
    OpenVinoPredictor,
    Predictor,
)

__all__ = [
    "Backend",
    "EagerPredictor",
    "OnnxRuntimePredictor",
    "OpenVinoPredictor",
    "Predictor",
    "build_predictor",
    "check_device",
]
