"""Deployment: runtimes (eager PyTorch, ONNX Runtime, OpenVINO), export, int8, benchmark, video.

Everything here maps a BGR uint8 image or an NCHW float32 batch to per-pixel logits or
train-id labels; the pieces are imported lazily by the CLI commands (``infer``, ``export``,
``bench``) so that ``--help`` stays instant.
"""

# Files `segmnv3 export --format` writes (here, not in bundle.py, so that --help needs no torch).
FORMATS = ("onnx", "openvino", "int8-onnxruntime", "int8-openvino")
