"""The demo pipeline behind `segmnv3 demo` / `make demo`.

Each step calls the same subcommand a user would type, with sizes from a ``DemoPlan``
(the default plan for people, a tiny one for CI: one code path, two sizes).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.core.errors import UserError


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of every demo step; all outputs go under ``out``."""

    out: Path
    num_train: int
    num_val: int
    image_size: tuple[int, int]  # (H, W) of the synthetic images
    clip_frames: int
    iterations: int
    batch_size: int
    bench_quick: bool

    @classmethod
    def default(cls, out: Path) -> DemoPlan:
        return cls(out, 60, 10, (256, 512), 48, 300, 8, False)

    @classmethod
    def tiny(cls, out: Path) -> DemoPlan:
        return cls(out, 8, 4, (128, 256), 8, 6, 2, True)

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def run_dir(self) -> Path:
        return self.out / "run"


@dataclass
class DemoSummary:
    """What the demo produced: headline figures, a latency table and where each output lies."""

    figures: dict[str, str] = field(default_factory=dict)
    latency: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)

    def render(self, seconds: float) -> str:
        lines = ["", "=" * 72, f"segmnv3 demo finished in {seconds / 60:.1f} min", ""]
        lines += [f"  {name:<28} {value}" for name, value in self.figures.items()]
        lines += ["", *self.latency, "", "outputs:"]
        lines += [f"  {name:<28} {path}" for name, path in self.outputs.items()]
        return "\n".join(lines + ["=" * 72])


def _step(number: int, total: int, title: str, argv: list[str], done: Path | None = None) -> None:
    """Run one `segmnv3` subcommand in-process (skipped when its output ``done`` exists);
    a failure stops the demo with its message."""
    from segmnv3.cli import main

    if done is not None and done.exists():
        print(f"\n[{number}/{total}] {title}: already done ({done}; --fresh redoes it)")
        return
    print(f"\n[{number}/{total}] {title}\n    $ segmnv3 {shlex.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise UserError(f"demo step '{title}' failed (exit code {code}); see the messages above")


def run_demo(plan: DemoPlan, device: str = "auto") -> DemoSummary:
    """Run every step of ``plan`` and collect a summary."""
    plan.out.mkdir(parents=True, exist_ok=True)
    summary = DemoSummary()
    data, run_dir = plan.data, plan.run_dir
    height, width = plan.image_size
    total = 6
    if not (data / "leftImg8bit").is_dir():
        _step(1, total, "generate synthetic Cityscapes data", [
            "synth", str(data), "--num-train", str(plan.num_train), "--num-val", str(plan.num_val),
            "--num-test", "2", "--size", f"{height}x{width}", "--video-frames", str(plan.clip_frames),
            "--video-size", f"{height}x{width}",
        ])  # fmt: skip
    else:
        print(f"\n[1/{total}] synthetic data already in {data} (use --fresh to regenerate)")
    summary.outputs["synthetic dataset"] = data

    _step(2, total, "train V3-Small LR-ASPP on it (resumes if interrupted)", [
        "train", "--config", "configs/demo_synthetic.yaml", "--dataset", "synthetic",
        "--data-root", str(data), "--out-dir", str(run_dir), "--device", device,
        "--iterations", str(plan.iterations), "--batch-size", str(plan.batch_size),
    ])  # fmt: skip
    checkpoint = run_dir / "best.pt" if (run_dir / "best.pt").exists() else run_dir / "last.pt"
    summary.outputs["checkpoint"] = checkpoint
    summary.outputs["training curves"] = run_dir / "curves.png"

    eval_json = plan.out / "eval" / "val.json"
    _step(3, total, "evaluate on the val split (Cityscapes mIoU rules)", [
        "eval", str(checkpoint), "--data-root", str(data), "--json", str(eval_json),
        "--save-predictions", str(plan.out / "eval" / "predictions"),
    ], done=eval_json)  # fmt: skip
    report = json.loads(eval_json.read_text())
    summary.figures["val mIoU"] = f"{100 * report['miou']:.1f}%"
    summary.outputs["per-class IoU"] = eval_json.with_suffix(".png")
    summary.outputs["prediction overlays"] = plan.out / "eval" / "predictions"

    _step(4, total, "segment the synthetic clip", [
        "infer", str(data / "clip.mp4"), "--weights", str(checkpoint), "--output", str(plan.out / "infer"),
    ], done=plan.out / "infer" / "clip_overlay.mp4")  # fmt: skip
    summary.outputs["overlay video"] = plan.out / "infer" / "clip_overlay.mp4"

    export_dir = plan.out / "export"
    _step(5, total, "export to ONNX with a parity check", [
        "export", "--weights", str(checkpoint), "--output", str(export_dir), "--data-root", str(data),
        "--resolution", f"{height}x{width}",
    ], done=export_dir / f"{checkpoint.stem}_{height}x{width}_export.json")  # fmt: skip
    summary.outputs["ONNX model + parity report"] = export_dir

    bench_dir = plan.out / "bench"
    bench_argv = ["bench", "--config", "configs/demo_synthetic.yaml", "--weights", str(checkpoint),
                  "--output", str(bench_dir), "--data-root", str(data)]  # fmt: skip
    bench_argv += ["--quick"] if plan.bench_quick else []
    _step(6, total, "benchmark latency (1 CPU thread)", bench_argv, done=bench_dir / "bench.json")
    summary.outputs["benchmark report"] = bench_dir / "bench.md"
    summary.outputs["benchmark charts"] = bench_dir
    bench = json.loads((bench_dir / "bench.json").read_text())
    summary.latency = latency_table(bench, model="demo_synthetic")
    video = bench["video"]
    if video:
        size = "x".join(map(str, video["size"]))
        summary.figures[f"video FPS ({video['backend']}, {size})"] = (
            f"model-only {video['model_fps']:.1f}, end-to-end {video['end_to_end_fps']:.1f}"
        )
    return summary


def latency_table(bench: dict, model: str) -> list[str]:
    """Median latency per backend at half and full resolution, from ``bench.json``."""
    rows: dict[str, dict[str, float]] = {}
    for entry in bench["latency"]:
        if entry["model"] == model:
            rows.setdefault(entry["backend"], {})[entry["resolution"]] = entry["median_ms"]
    sizes = {name: "x".join(map(str, size)) for name, size in bench["sizes"].items()}
    lines = [
        f"  latency, 1 thread (median ms)   half {sizes['half']:>10}   full {sizes['full']:>10}"
    ]
    for backend, times in rows.items():
        half, full = times.get("half", float("nan")), times.get("full", float("nan"))
        lines.append(f"    {backend:<28} {half:>15.1f} {full:>16.1f}")
    return lines
