"""Benchmark results -> Markdown tables, PNG charts, and the files of ``segmnv3 bench``."""

from __future__ import annotations

import json
from pathlib import Path

from segmnv3.core.files import write_text_atomic
from segmnv3.deploy.bench.charts import charts
from segmnv3.deploy.bench.results import BenchmarkResult
from segmnv3.deploy.bench.roofs import roofs_lines
from segmnv3.deploy.bench.targets import AGREEMENT_TARGETS, TARGETS
from segmnv3.deploy.runtimes.backend import ONNXRUNTIME


def _fmt(value, spec: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def markdown(result: BenchmarkResult) -> str:
    """The whole report as Markdown."""
    lines = _header(result) + _models_table(result)
    for label, size in result.sizes.items():
        lines += _latency_table(result, label, size)
    for roofline in result.rooflines:
        lines += roofline_table(roofline)
    lines += _app_table(result)
    lines += [
        "",
        "## Peak resident memory, one image at the largest size (fresh process)",
        "",
        "| model | backend | peak RSS MB |",
        "|---|---|---|",
    ]
    lines += [f"| {m.model} | {m.backend} | {m.peak_rss_mb:.0f} |" for m in result.memory]
    video = result.video
    if video:
        lines += [
            "",
            "## Video",
            "",
            f"{video.frames} frames {list(video.size)}, backend {video.backend}: model-only "
            f"{video.model_fps:.2f} FPS, end-to-end {video.end_to_end_fps:.2f} FPS "
            f"(ratio {video.end_to_end_vs_model_only:.2f}).",
        ]
    return "\n".join(lines + _targets_table(result)) + "\n"


def _header(result: BenchmarkResult) -> list[str]:
    cpu, load = result.cpu, result.load_average
    roofs = [] if result.roofs is None else ["", "Measured roofs (one thread):", ""]
    roofs += [f"- {line}" for line in (roofs_lines(result.roofs) if result.roofs else [])]
    return [
        "# segmnv3 CPU benchmark",
        *roofs,
        "",
        f"{result.threads} thread(s). Assumed fp32 peak (not measured; a second figure "
        f"only) {cpu.peak_fp32_gmacs:.1f} GMAC/s = {cpu.method}; assumed int8 VNNI peak "
        f"{_fmt(cpu.peak_int8_vnni_gmacs, '.1f')} GMAC/s. Load average (1 min) before / "
        f"after: {load['before'][0]:.2f} / {load['after'][0]:.2f} (shared machine: timings "
        "are noisy; all backends were timed interleaved, round after round, so they share "
        "the noise).",
        f"Warm-up {result.warmup}, then {result.repeats} timed runs each; latency = "
        "network only (normalised input -> logits), batch 1.",
    ]


def _models_table(result: BenchmarkResult) -> list[str]:
    lines = [
        "",
        "## Models (ours / paper Table 7-8)",
        "",
        "| model | params | MAdds half | MAdds full | compute floor half / full (MAdds / "
        "measured fp32 GEMM rate) | paper mIoU | paper CPU(f) | paper CPU(h) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    peak = result.fp32_roof_gmacs * 1e9  # MAC/s: the floor is MAdds / roof
    for m in result.models:
        p = m.paper
        half, full = m.madds.get("half", 0), m.madds.get("full", 0)
        paper_params = f" / {p.params_m:.2f}M" if p else ""
        paper_full = f" / {p.madds_full_b:.2f}B" if p else ""
        paper_half = f" / {p.madds_half_b:.2f}B" if p and p.madds_half_b else ""
        lines.append(
            f"| {m.name} | {m.params / 1e6:.2f}M{paper_params} "
            f"| {half / 1e9:.2f}B{paper_half} | {full / 1e9:.2f}B{paper_full} "
            f"| {1000 * half / peak:.1f} / {1000 * full / peak:.1f} ms "
            f"| {_fmt(p.miou if p else None)} "
            f"| {_fmt(p.cpu_full_s if p else None, '.2f', ' s')} "
            f"| {_fmt(p.cpu_half_ms if p else None, '.0f', ' ms')} |"
        )
    return lines


def _latency_table(result: BenchmarkResult, label: str, size: tuple[int, int]) -> list[str]:
    """One resolution's rows; LiteRT / ExecuTorch rows (XNNPACK) show the paper's Pixel 3
    figure (TFLite, one large core) beside them; CPU/wall ~1 confirms one thread."""
    lines = [
        "",
        f"## Latency at {label} resolution ({size[0]}x{size[1]})",
        "",
        "| model | backend | median ms | p90 ms | min ms | CPU/wall | x torchvision eager "
        "| GMAC/s | % of measured fp32 GEMM | % of assumed FMA peak "
        "| argmax agreement with eager | paper Pixel 3 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    papers = {m.name: m.paper for m in result.models}
    for r in (r for r in result.latency if r.resolution == label):
        paper = _pixel3_ms(papers.get(r.model), label) if r.backend.is_mobile else None
        lines.append(
            f"| {r.model} | {r.backend} | {r.timing.median_ms:.1f} | {r.timing.p90_ms:.1f} "
            f"| {r.timing.min_ms:.1f} | {_fmt(r.timing.cpu_per_wall)} "
            f"| {r.ratio_to_torchvision_eager:.3f} "
            f"| {r.gmacs_per_s:.1f} | {_fmt(r.pct_fp32_roof, '.1f')} | {r.pct_fp32_peak:.1f} "
            f"| {100 * r.agreement_with_eager:.2f}% | {_fmt(paper, '.0f')} |"
        )
    return lines


def roofline_table(r) -> list[str]:
    """One ``RooflineResult``: per op class, time against its floor, and fastest / floor."""
    lines = [
        "",
        f"## Roofline: {r.model}, {r.resolution} ({r.size[0]}x{r.size[1]}), ONNX Runtime fp32 "
        f"per-node profile (1 thread, median of {r.runs} runs)",
        "",
        "| op class | nodes | MMACs | MB moved | measured ms | floor ms (cache / DRAM bw) "
        "| bound | measured / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r.rows:
        ratio = "-" if row.floor_cache_ms == 0 else f"{row.ms / row.floor_cache_ms:.1f}x"
        lines.append(
            f"| {row.op_class} | {row.nodes} | {row.macs / 1e6:.0f} | {row.bytes_moved / 1e6:.1f} "
            f"| {row.ms:.2f} | {row.floor_cache_ms:.2f} / {row.floor_dram_ms:.2f} "
            f"| {row.bound} | {ratio} |"
        )
    vs = r.fastest_vs_floor
    fastest = (
        ""
        if vs is None
        else f" Fastest fp32 runtime {r.fastest_backend}: {r.fastest_ms:.1f} ms = "
        f"{vs[0]:.2f}x the cache-bandwidth floor, {vs[1]:.2f}x the DRAM-bandwidth floor."
    )
    lines += [
        "",
        f"Floor (sum of per-node bounds: max(MACs / fp32 GEMM rate, bytes / bandwidth); "
        f"layout reorders 0): {r.floor_cache_ms:.1f} ms with cache-resident bandwidth, "
        f"{r.floor_dram_ms:.1f} ms with DRAM bandwidth; profiled nodes sum to "
        f"{r.profiled_ms:.1f} ms. MACs counted on the model graph: "
        f"{r.counted_macs / 1e9:.3f} G (PyTorch profile: {r.model_macs / 1e9:.3f} G).{fastest}",
    ]
    return lines


def _app_table(result: BenchmarkResult) -> list[str]:
    """Frame -> label map latency per stage: logits-out, labels-out and head graphs."""
    if not result.app:
        return []
    first = result.app[0]
    frame, net = first.frame_size, first.network_size
    lines = [
        "",
        f"## Latency an app sees: {first.model}, RGB uint8 frame {frame[0]}x{frame[1]} -> "
        f"train ids at {frame[0]}x{frame[1]}, network {net[0]}x{net[1]} (median ms, 1 run "
        "= all stages)",
        "",
        "Graphs end in logits (argmax in NumPy, NEAREST back), labels (argmax inside, "
        "NEAREST back) or head logits (stride 8: labels at the frame's size by "
        "labels_from_logits, exact; floor: its logits read and labels written at DRAM "
        "bandwidth). Ratios: total over the model-only inference (logits graph, same "
        "rounds) of the same runtime and of ONNX Runtime.",
        "",
        "| backend | graph ends in | preprocess | inference | labels | resize back | total "
        "| / own model-only | / ONNX Runtime model-only | labels = logits graph's "
        "| labels = upsample + argmax | labels floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    model_only = {a.backend: a.inference_ms for a in result.app if a.output == "logits"}
    onnxruntime = model_only.get(ONNXRUNTIME)
    for a in result.app:
        own = f"{a.total_ms / model_only[a.backend]:.2f}" if a.backend in model_only else "-"
        ort = f"{a.total_ms / onnxruntime:.2f}" if onnxruntime else "-"
        exact = (
            "-" if a.agreement_with_upsample is None else f"{100 * a.agreement_with_upsample:.4f}%"
        )
        floor = "-" if a.labels_floor_ms is None else f"{a.labels_floor_ms:.2f}"
        lines.append(
            f"| {a.backend} | {a.output} | {a.preprocess_ms:.1f} | {a.inference_ms:.1f} "
            f"| {a.argmax_ms:.2f} | {a.resize_back_ms:.1f} | {a.total_ms:.1f} | {own} | {ort} "
            f"| {100 * a.agreement_with_logits:.2f}% | {exact} | {floor} |"
        )
    return lines


def _pixel3_ms(paper, label: str) -> float | None:
    """The paper's Pixel 3 latency (ms) at ``half`` / ``full`` resolution, if it gives one."""
    if paper is None:
        return None
    if label == "full":
        return None if paper.cpu_full_s is None else 1000 * paper.cpu_full_s
    return paper.cpu_half_ms if label == "half" else None


def _targets_table(result: BenchmarkResult) -> list[str]:
    targets = result.targets
    if targets is None:
        return []
    lines = [
        "",
        f"## Targets ({targets.model}; fastest fp32: {targets.fastest_fp32_backend},"
        f" int8: {targets.int8_backend or '-'}, XNNPACK int8: {targets.xnnpack_int8_backend or '-'})",
        "",
        "| target | value | limit | met |",
        "|---|---|---|---|",
    ]
    for target in TARGETS:
        t = targets.results[target.name]
        sign = "<=" if t.kind == "max" else ">="
        met = "not assessed" if t.met is None else t.met
        lines.append(f"| {target.name} | {_fmt(t.value, '.3f')} | {sign} {t.limit} | {met} |")
    if any(targets.results[name].met is None for name in AGREEMENT_TARGETS):
        lines += [
            "",
            "Not assessed: figures this run did not measure (or, in the demo, int8"
            " agreement on a toy model trained at another scale).",
        ]
    return lines


def write_report(result: BenchmarkResult, out_dir: Path) -> list[Path]:
    """``bench.json``, ``bench.md`` and the two charts under ``out_dir``, each atomically."""
    json_path = write_text_atomic(out_dir / "bench.json", json.dumps(result.to_dict(), indent=2))
    report = write_text_atomic(out_dir / "bench.md", markdown(result))
    return [json_path, report, *charts(result, out_dir)]
