"""Peak resident memory of a fresh process that segments one image.

Run as ``python -m segmnv3.deploy.bench.memory BACKEND MODEL HxW``: BACKEND is a backend
name, MODEL a checkpoint (``eager``) or the exported file the backend runs. The process
loads the model, segments one random image of size HxW, and prints JSON with its peak
RSS (``VmHWM`` of /proc/self/status: interpreter, libraries, weights and activations),
so each backend is measured alone. (``getrusage().ru_maxrss`` would not do: Linux
carries it across ``execve``, so a child started by a big benchmark process reports the
parent's peak.)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.deploy.runtimes import Backend, Predictor, build_predictor


@dataclass(frozen=True)
class Probe:
    """What one probe process reports."""

    peak_rss_mb: float
    seconds: float


def load_predictor(backend: Backend, model_path: str | Path, threads: int = 1) -> Predictor:
    """A predictor for ``backend`` from a checkpoint (eager) or an exported file."""
    source = model_path
    if backend.runtime == "eager":
        from segmnv3.models.loading import load_model

        source = load_model(model_path)[0]
    return build_predictor(backend, source, threads=threads)


def measure_peak_rss(backend: Backend, model_path: str | Path, size: tuple[int, int]) -> Probe:
    """Run the probe in a subprocess and read its report."""
    module = "segmnv3.deploy.bench.memory"
    command = [sys.executable, "-m", module, backend.name, str(model_path), f"{size[0]}x{size[1]}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {backend.name} failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Probe(report["peak_rss_mb"], report["seconds"])


def peak_rss_kb() -> float:
    """This process's peak resident set size in KiB (VmHWM; ru_maxrss where /proc is absent)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(argv: list[str]) -> None:
    name, model_path, size = argv
    backend = Backend.from_name(name)
    height, width = (int(v) for v in size.split("x"))
    predictor = load_predictor(backend, model_path)
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width), dtype=np.float32)
    start = time.perf_counter()
    predictor.predict(batch)  # (1, H, W) labels, as a user's segmentation call
    seconds = time.perf_counter() - start
    print(json.dumps({"backend": name, "peak_rss_mb": peak_rss_kb() / 1024, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
