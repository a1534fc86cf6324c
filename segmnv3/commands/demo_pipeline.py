"""The demo pipeline behind `segmnv3 demo` / `make demo`.

Each step calls the same function the matching subcommand calls (data generation,
training, evaluation, inference, export, benchmark), with sizes from a ``DemoPlan``
(the default plan for people, a tiny one for CI: one code path, two sizes). The training
config is the shipped ``demo_synthetic``, so the demo runs from any directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segmnv3.deploy.bench.results import BenchmarkResult

TOTAL_STEPS = 6


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
        return "\n".join(lines + ["", *self.next_steps(), "=" * 72])

    def next_steps(self) -> list[str]:
        """The commands from here to the user's own photo, with this run's checkpoint."""
        weights = self.outputs.get("checkpoint", "runs/mine/best.pt")
        return [
            "next: your own photo (a model of real streets: segmnv3 convert-deeplab, README)",
            f"  segmnv3 infer photo.jpg --weights {weights} --output outputs/mine",
            f"  segmnv3 serve --weights {weights}        # the same in a browser page",
        ]


def _step(number: int, title: str, run: Callable[[], object], done: Path | None = None) -> None:
    """Run one step (skipped when its output ``done`` exists)."""
    if done is not None and done.exists():
        print(f"\n[{number}/{TOTAL_STEPS}] {title}: already done ({done}; --fresh redoes it)")
        return
    print(f"\n[{number}/{TOTAL_STEPS}] {title}", flush=True)
    run()


def run_demo(plan: DemoPlan, device: str = "auto") -> DemoSummary:
    """Run every step of ``plan`` and collect a summary."""
    plan.out.mkdir(parents=True, exist_ok=True)
    summary = DemoSummary()
    data = plan.data
    if not (data / "leftImg8bit").is_dir():
        _step(1, "generate synthetic Cityscapes data", lambda: _synth(plan))
    else:
        print(f"\n[1/{TOTAL_STEPS}] synthetic data already in {data} (use --fresh to regenerate)")
    summary.outputs["synthetic dataset"] = data

    title = "train V3-Small LR-ASPP on it (resumes if interrupted)"
    _step(2, title, lambda: _train(plan, device))
    run_dir = plan.run_dir
    checkpoint = run_dir / "best.pt" if (run_dir / "best.pt").exists() else run_dir / "last.pt"
    summary.outputs["checkpoint"] = checkpoint
    summary.outputs["training curves"] = run_dir / "curves.png"

    eval_json = plan.out / "eval" / "val.json"
    title = "evaluate on the val split (Cityscapes mIoU rules)"
    _step(3, title, lambda: _evaluate(plan, checkpoint, eval_json), done=eval_json)
    report = json.loads(eval_json.read_text())
    summary.figures["val mIoU"] = f"{100 * report['miou']:.1f}%"
    summary.outputs["per-class IoU"] = eval_json.with_suffix(".png")
    summary.outputs["prediction overlays"] = plan.out / "eval" / "predictions"

    overlay = plan.out / "infer" / "clip_overlay.mp4"
    _step(4, "segment the synthetic clip", lambda: _infer(plan, checkpoint), done=overlay)
    summary.outputs["overlay video"] = overlay

    export_dir = plan.out / "export"
    height, width = plan.image_size
    report_path = export_dir / f"{checkpoint.stem}_{height}x{width}_export.json"
    title = "export to ONNX with a parity check"
    _step(5, title, lambda: _export(plan, checkpoint), done=report_path)
    summary.outputs["ONNX model + parity report"] = export_dir

    bench_dir = plan.out / "bench"
    title = "benchmark latency (1 CPU thread)"
    _step(6, title, lambda: _bench(plan, checkpoint), done=bench_dir / "bench.json")
    summary.outputs["benchmark report"] = bench_dir / "bench.md"
    summary.outputs["benchmark charts"] = bench_dir
    _summarise_bench(summary, bench_dir / "bench.json")
    return summary


def _synth(plan: DemoPlan) -> None:
    from segmnv3.data.synthetic import generate_synthetic

    generate_synthetic(
        plan.data,
        num_train=plan.num_train,
        num_val=plan.num_val,
        num_test=2,
        size=plan.image_size,
        video_frames=plan.clip_frames,
        video_size=plan.image_size,
        progress=True,
    )


def _train(plan: DemoPlan, device: str) -> None:
    from segmnv3.engine.config import load_config
    from segmnv3.engine.trainer import train

    overrides = {
        "data.dataset": "synthetic",
        "data.root": str(plan.data),
        "train.out_dir": str(plan.run_dir),
        "train.device": device,
        "train.iterations": plan.iterations,
        "train.batch_size": plan.batch_size,
    }  # JSON is YAML: strings stay strings
    config = load_config("demo_synthetic", [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    if train(config).interrupted:
        raise KeyboardInterrupt


def _evaluate(plan: DemoPlan, checkpoint: Path, eval_json: Path) -> None:
    from segmnv3.engine.eval_report import EvalRequest, evaluate_checkpoint

    request = EvalRequest(
        checkpoint=str(checkpoint),
        data_root=str(plan.data),
        json_path=str(eval_json),
        save_predictions=str(plan.out / "eval" / "predictions"),
    )
    scores, report = evaluate_checkpoint(request)
    print(scores.format_table(report["classes"]))


def _infer(plan: DemoPlan, checkpoint: Path) -> None:
    from segmnv3.deploy.inference.pipeline import InferSettings, segment_source
    from segmnv3.deploy.model import load_deploy_model

    settings = InferSettings(output=plan.out / "infer")
    result = segment_source(load_deploy_model(checkpoint), str(plan.data / "clip.mp4"), settings)
    print(result.summary())


def _export(plan: DemoPlan, checkpoint: Path) -> None:
    from segmnv3.deploy.export.bundle import ExportSettings, export_bundle
    from segmnv3.deploy.model import load_deploy_model

    settings = ExportSettings(size=plan.image_size, data_root=plan.data)
    result = export_bundle(load_deploy_model(checkpoint), plan.out / "export", settings)
    for kind, path in result.files.items():
        print(f"wrote {kind}: {path}")


def _bench(plan: DemoPlan, checkpoint: Path) -> None:
    from segmnv3.commands.bench import QUICK_SIZES, SIZES, benchmark
    from segmnv3.deploy.bench.report import markdown
    from segmnv3.deploy.bench.run import BenchSettings

    quick = plan.bench_quick
    settings = BenchSettings(
        sizes={"half": (QUICK_SIZES if quick else SIZES)["half"]},
        warmup=1 if quick else 2,
        repeats=2 if quick else 8,
        calib_images=2 if quick else 8,
        agreement_images=1 if quick else 2,
        quick=quick,
    )
    subjects = demo_subjects(checkpoint, phone=not quick)
    result, written = benchmark(subjects, settings, plan.out / "bench", plan.data, agreement=False)
    print(markdown(result))
    print("wrote " + ", ".join(map(str, written)))
    print(
        "the demo times the runtimes a user picks first at half resolution; the full "
        "table (14 runtimes, half and full, baselines): segmnv3 bench"
    )


DEMO_BACKENDS = ("eager", "onnxruntime", "onnxruntime-int8", "litert")
"""Fastest fp32 (ONNX Runtime; eager is the agreement reference), int8, a phone runtime."""


def demo_subjects(checkpoint: Path, *, phone: bool) -> list:
    """The demo model on ``DEMO_BACKENDS`` (LiteRT only with ``phone``: ~20 s per converted
    file) and torchvision's LR-ASPP in eager, the reference of every latency ratio."""
    import dataclasses

    from segmnv3.commands.bench import load_subjects
    from segmnv3.deploy.bench.subjects import TORCHVISION
    from segmnv3.deploy.runtimes.backend import Backend

    ours, *baselines = load_subjects(["demo_synthetic"], str(checkpoint), mobile=phone)
    wanted = {Backend.from_name(name) for name in DEMO_BACKENDS}
    ours = dataclasses.replace(ours, backends=tuple(b for b in ours.backends if b in wanted))
    reference = next(s for s in baselines if s.name == TORCHVISION)
    return [ours, dataclasses.replace(reference, backends=reference.backends[:1])]


def _summarise_bench(summary: DemoSummary, bench_json: Path) -> None:
    from segmnv3.deploy.bench.results import BenchmarkResult

    bench = BenchmarkResult.from_dict(json.loads(bench_json.read_text()))
    summary.latency = latency_table(bench, model="demo_synthetic")
    video = bench.video
    if video:
        size = "x".join(map(str, video.size))
        summary.figures[f"video FPS ({video.backend}, {size})"] = (
            f"model-only {video.model_fps:.1f}, end-to-end {video.end_to_end_fps:.1f}"
        )


def latency_table(bench: BenchmarkResult, model: str) -> list[str]:
    """Median latency per backend at each measured resolution (half, and full if run)."""
    rows: dict[str, dict[str, float]] = {}
    for entry in bench.latency:
        if entry.model == model:
            rows.setdefault(entry.backend.name, {})[entry.resolution] = entry.median_ms
    sizes = {name: "x".join(map(str, size)) for name, size in bench.sizes.items()}
    header = "".join(f"   {label} {size:>10}" for label, size in sizes.items())
    lines = [f"  latency, 1 thread (median ms){header}"]
    for backend, times in rows.items():
        cells = "".join(f"{times.get(label, float('nan')):>16.1f}" for label in sizes)
        lines.append(f"    {backend:<28}{cells}")
    return lines
