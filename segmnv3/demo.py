"""The demo pipeline behind `segmnv3 demo` / `make demo`.

Each step calls the same subcommand a user would type, with sizes from a ``DemoPlan``
(the default plan for people, a tiny one for CI: one code path, two sizes).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from segmnv3.errors import UserError


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
    crop: tuple[int, int]
    bench_quick: bool

    @classmethod
    def default(cls, out: Path) -> DemoPlan:
        return cls(out, 120, 20, (256, 512), 60, 600, 8, (256, 256), False)

    @classmethod
    def tiny(cls, out: Path) -> DemoPlan:
        return cls(out, 8, 4, (128, 256), 8, 6, 2, (128, 128), True)

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def run_dir(self) -> Path:
        return self.out / "run"


@dataclass
class DemoSummary:
    """What the demo produced: headline figures and where each output lies."""

    figures: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)

    def render(self, seconds: float) -> str:
        lines = ["", "=" * 72, f"segmnv3 demo finished in {seconds / 60:.1f} min", ""]
        lines += [f"  {name:<28} {value}" for name, value in self.figures.items()]
        lines += ["", "outputs:"]
        lines += [f"  {name:<28} {path}" for name, path in self.outputs.items()]
        return "\n".join(lines + ["=" * 72])


def _step(number: int, total: int, title: str, argv: list[str]) -> None:
    """Run one `segmnv3` subcommand in-process; a failure stops the demo with its message."""
    from segmnv3.cli import main

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
        "--set", f"data.crop_size=[{plan.crop[0]},{plan.crop[1]}]",
    ])  # fmt: skip
    checkpoint = run_dir / "best.pt" if (run_dir / "best.pt").exists() else run_dir / "last.pt"
    summary.outputs["checkpoint"] = checkpoint
    summary.outputs["training curves"] = run_dir / "curves.png"

    eval_json = plan.out / "eval" / "val.json"
    _step(3, total, "evaluate on the val split (Cityscapes mIoU rules)", [
        "eval", str(checkpoint), "--data-root", str(data), "--json", str(eval_json),
        "--save-predictions", str(plan.out / "eval" / "predictions"),
    ])  # fmt: skip
    report = json.loads(eval_json.read_text())
    summary.figures["val mIoU"] = f"{100 * report['miou']:.1f}%"
    summary.outputs["per-class IoU"] = eval_json.with_suffix(".png")
    summary.outputs["prediction overlays"] = plan.out / "eval" / "predictions"

    _step(4, total, "segment the synthetic clip", [
        "infer", str(data / "clip.mp4"), "--weights", str(checkpoint), "--output", str(plan.out / "infer"),
    ])  # fmt: skip
    summary.outputs["overlay video"] = plan.out / "infer"

    onnx_path = plan.out / "export" / "model.onnx"
    _step(5, total, "export to ONNX with a parity check", [
        "export", "--weights", str(checkpoint), "--output", str(onnx_path), "--data-root", str(data),
    ])  # fmt: skip
    summary.outputs["ONNX model"] = onnx_path

    bench_dir = plan.out / "bench"
    bench_argv = ["bench", "--config", "configs/demo_synthetic.yaml", "--weights", str(checkpoint),
                  "--output", str(bench_dir), "--data-root", str(data)]  # fmt: skip
    _step(
        6,
        total,
        "benchmark latency (1 CPU thread)",
        bench_argv + (["--quick"] if plan.bench_quick else []),
    )
    summary.outputs["benchmark report"] = bench_dir / "bench.md"
    summary.outputs["benchmark charts"] = bench_dir
    return summary
