"""Peak resident memory of a fresh process that segments one image.

Run as ``python -m segmnv3.deploy.memprobe BACKEND MODEL HxW``: MODEL is a checkpoint
(``eager``) or an exported file (other backends). The process loads the model, segments
one random image of size HxW, and prints JSON with its peak RSS (``VmHWM`` of
/proc/self/status: interpreter, libraries, weights and activations), so each backend is
measured alone. (``getrusage().ru_maxrss`` would not do: Linux carries it across
``execve``, so a child started by a big benchmark process reports the parent's peak.)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

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


def peak_rss_kb() -> float:
    """This process's peak resident set size in KiB (VmHWM; ru_maxrss where /proc is absent)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(argv: list[str]) -> None:
    backend, model_path, size = argv
    height, width = (int(v) for v in size.split("x"))
    predictor = create_predictor(backend, model_path)
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width), dtype=np.float32)
    start = time.perf_counter()
    predictor.predict(batch)  # (1, H, W) labels, as a user's segmentation call
    seconds = time.perf_counter() - start
    print(json.dumps({"backend": backend, "peak_rss_mb": peak_rss_kb() / 1024, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
