"""Peak resident memory of a fresh process that segments one image.

Run as ``python -m segmnv3.deploy.memprobe BACKEND MODEL HxW``: MODEL is a checkpoint
(``eager``) or an exported file (other backends). The process loads the model, segments
one random image of size HxW, and prints JSON with ``ru_maxrss`` (peak RSS, whole process:
interpreter, libraries, weights and activations), so each backend is measured alone.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np


def create_predictor(backend: str, model_path: str, threads: int = 1):
    """A predictor for ``backend`` from a checkpoint (eager) or exported file."""
    from segmnv3.deploy.runtimes import EagerPredictor, OnnxRuntimePredictor, OpenVinoPredictor

    if backend == "eager":
        from segmnv3.engine.checkpoint import load_model

        return EagerPredictor(load_model(model_path)[0], threads=threads)
    if backend.startswith("onnxruntime"):
        return OnnxRuntimePredictor(model_path, threads=threads)
    precision = "bf16" if backend == "openvino-bf16" else "f32"
    return OpenVinoPredictor(model_path, threads=threads, precision=precision)


def measure_peak_rss(backend: str, model_path: str, size: tuple[int, int]) -> dict:
    """Run the probe in a subprocess; returns ``{"peak_rss_mb": ..., "seconds": ...}``."""
    command = [sys.executable, "-m", "segmnv3.deploy.memprobe", backend, str(model_path),
               f"{size[0]}x{size[1]}"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {backend} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    backend, model_path, size = argv
    height, width = (int(v) for v in size.split("x"))
    predictor = create_predictor(backend, model_path)
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width), dtype=np.float32)
    start = time.perf_counter()
    predictor.predict(batch)  # (1, H, W) labels, as a user's segmentation call
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"backend": backend, "peak_rss_mb": peak_kb / 1024, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
