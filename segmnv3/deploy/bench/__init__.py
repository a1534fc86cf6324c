"""The CPU benchmark (``segmnv3 bench``): paper-style latency of every backend.

- ``subjects``: the networks (ours and the torchvision / smp baselines).
- ``files``: the exported / quantized file each backend runs (``export.formats``).
- ``roofs``: measured one-thread roofs (GEMM rates, copy bandwidth) and the CPU's identity.
- ``roofline``: ONNX Runtime's per-node profile against the roofs: per op class, the floor.
- ``app``: frame -> label map latency per stage, logits-out vs labels-out graphs.
- ``timing``: interleaved timing, the assumed FMA peak, argmax agreement.
- ``memory``: peak RSS of a fresh process per backend.
- ``video``: the video pipeline's FPS figure.
- ``run``: ``run_benchmark(subjects, BenchSettings)`` -> ``BenchmarkResult``.
- ``results``: the typed results and their JSON form (one place).
- ``targets``: the issue's targets as data, assessed on a result.
- ``report`` / ``charts``: Markdown, PNG charts and the report files.
"""
