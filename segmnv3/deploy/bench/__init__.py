"""The CPU benchmark (``segmnv3 bench``): paper-style latency of every backend.

- ``subjects``: the networks (ours and the torchvision / smp baselines).
- ``files``: the exported / quantized file each backend runs.
- ``timing``: interleaved timing, the core's peak, argmax agreement.
- ``memory``: peak RSS of a fresh process per backend.
- ``video``: the video pipeline's FPS figure.
- ``run``: ``run_benchmark(subjects, BenchSettings)`` -> ``BenchmarkResult``.
- ``results``: the typed results and their JSON form (one place).
- ``targets``: the issue's targets as data, assessed on a result.
- ``report``: Markdown, charts and the report files.
"""
