"""Browser against native: ms per frame of the served page in headless Chromium (WASM,
1 thread and all threads) beside native ONNX Runtime (1 thread), in the same run, on the
same ONNX file; and screenshots of the page on a photo, a video and a fake camera.

Speed does not depend on the weights: each config runs random-init (seeded). Both sides
time one input to its label map on the same fixed input after the same warm-up: the page
``session.run`` of its graph (``model_files.FORMAT``: stride-8 logits) and its JavaScript
labels at the network's size (``segmnv3.bench``), native the project's ONNX Runtime
predictor and ``labels_from_logits``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from segmnv3.deploy.serve.model_files import BrowserModel

WARMUP = 3


@dataclass
class BenchRow:
    """One config's figures (ms per frame: median of the timed runs)."""

    config: str
    size: tuple[int, int]
    native_1t: float
    web: dict[int, float] = field(default_factory=dict)  # threads -> ms
    native: dict[int, float] = field(default_factory=dict)  # threads -> ms (the control)

    def ratios(self) -> dict[int, float]:
        """Browser ms / native 1-thread ms for each thread count."""
        return {threads: ms / self.native_1t for threads, ms in self.web.items()}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """CPU, logical cores and load average: what the figures were measured on."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{cpu_name()}, {os.cpu_count()} logical cores, load average {load}"


def native_ms(
    onnx: Path, size: tuple[int, int], iterations: int, threads: int = 1, align_corners=False
) -> float:
    """Median ms of native ONNX Runtime (and labels) on the page's fixed input."""
    from segmnv3.deploy.inference.upsample_labels import labels_from_logits
    from segmnv3.deploy.runtimes import build_predictor
    from segmnv3.deploy.runtimes.backend import ONNXRUNTIME

    predictor = build_predictor(ONNXRUNTIME, onnx, threads=threads)
    count = 3 * size[0] * size[1]
    batch = (np.sin(np.arange(count, dtype=np.float64)) * 2).astype(np.float32)
    batch = batch.reshape(1, 3, *size)  # the page's bench input (app.js)
    times = []
    for index in range(WARMUP + iterations):
        start = time.perf_counter()
        if predictor.output == "head_logits":  # the page's graph and its labels
            labels_from_logits(predictor.logits(batch)[0], size, align_corners=align_corners)
        else:
            predictor.predict(batch)
        if index >= WARMUP:
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def web_ms(browser, url: str, threads: int, iterations: int) -> dict:
    """The page's own benchmark (``segmnv3.bench``) at ``threads`` WASM threads."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{url}?threads={threads}")
        if page.evaluate("window.segmnv3.ready") is not True:
            messages = page.evaluate("segmnv3.state.messages")
            raise RuntimeError(f"the page did not load its model: {messages}")
        return page.evaluate(f"segmnv3.bench({iterations}, {WARMUP})")
    finally:
        context.close()


def bench_config(
    browser, url: str, routes: dict, name: str, model: BrowserModel, iterations: int
) -> BenchRow:
    """Serve ``model`` at ``url`` and time it native and in the page at 1 and all threads."""
    routes["/model.onnx"], routes["/model.json"] = model.onnx, model.meta
    described = model.description()
    size = tuple(described["size"])
    align_corners = bool(described["output"].get("align_corners", False))
    row = BenchRow(name, size, native_ms(model.onnx, size, iterations, align_corners=align_corners))
    for threads in sorted({1, os.cpu_count() or 1}):
        figures = web_ms(browser, url, threads, iterations)
        if figures["threads"] != threads:
            raise RuntimeError(f"the page ran {figures['threads']} threads, asked {threads}")
        row.web[threads] = figures["median"]
        row.native[threads] = native_ms(model.onnx, size, iterations, threads, align_corners)
    return row


def screenshots(browser, url: str, media: dict[str, Path], folder: Path) -> list[Path]:
    """The page on a photo, a video file and the fake camera, as PNG files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    made = []
    try:
        page = context.new_page()
        page.goto(url)
        page.evaluate("window.segmnv3.ready")
        page.set_input_files("#file", str(media["photo"]))
        page.wait_for_function("segmnv3.state.photo !== null", timeout=60000)
        made.append(_shot(page, folder / "photo.png"))
        page.set_input_files("#file", str(media["video"]))
        page.wait_for_function("segmnv3.state.frames >= 3 && segmnv3.state.running", timeout=60000)
        page.wait_for_timeout(1500)
        made.append(_shot(page, folder / "video.png"))
        page.click("#stop")
        page.click("#camera")
        page.wait_for_function("segmnv3.state.running && segmnv3.state.frames >= 3", timeout=60000)
        frames = page.evaluate("segmnv3.state.frames")
        page.wait_for_function(f"segmnv3.state.frames >= {frames + 3}", timeout=60000)
        made.append(_shot(page, folder / "camera.png"))
        page.click("#stop")
    finally:
        context.close()
    return made


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    return path


def report(rows: list[BenchRow], machine: str, versions: dict) -> str:
    """The printed table: ms per frame and browser / native ratios."""
    lines = [
        f"browser vs native ms/frame (median), {machine}",
        f"onnxruntime-web {versions['web']} in Chromium {versions['chromium']}, WASM SIMD; "
        f"native: onnxruntime {versions['native']}, 1 thread",
    ]
    for row in rows:
        size = f"{row.size[0]}x{row.size[1]}"
        web = ", ".join(
            f"web {t} thread{'s' if t > 1 else ''} {ms:.1f} ms (x{row.ratios()[t]:.2f})"
            for t, ms in sorted(row.web.items())
        )
        native = ", ".join(f"{t}: {ms:.1f} ms" for t, ms in sorted(row.native.items()))
        lines.append(f"{row.config} {size}: native 1 thread {row.native_1t:.1f} ms; {web}")
        lines.append(f"    (native by threads, the machine's own scaling: {native})")
    return "\n".join(lines)


def to_dict(rows: list[BenchRow], machine: str, versions: dict) -> dict:
    """``serve_bench.json``: figures, ratios, machine and versions."""
    return {
        "machine": machine,
        "versions": versions,
        "rows": [{**asdict(row), "ratios": row.ratios(), "size": list(row.size)} for row in rows],
    }
