"""Deployment: runtimes (eager PyTorch, ONNX Runtime, OpenVINO, LiteRT, ExecuTorch), export,
int8, benchmark, video.

Everything here maps a BGR uint8 image or an NCHW float32 batch to per-pixel logits or
train-id labels. Subpackages, by what a reader looks for:

- ``runtimes``: the ``Backend`` value, predictors and ``build_predictor``.
- ``export``: the table of deploy files (``formats``), their writers, parity, int8, the
  export bundle.
- ``bench``: the CPU benchmark: subjects, timing, memory, typed results, report.
- ``inference``: preprocessing, sources, sinks and the pipelined stream (``segmnv3 infer``).
- ``model``: ``DeployModel`` (a network plus its checkpoint's data contract).

The pieces are imported lazily by the CLI commands (``infer``, ``export``, ``bench``) so
that ``--help`` stays instant. deploy/ imports nothing from ``segmnv3.engine`` or
``segmnv3.commands``.
"""
