"""Benchmark results -> targets, Markdown tables and PNG charts."""

from __future__ import annotations

from pathlib import Path

from segmnv3.deploy.benchmark import FP32_BACKENDS, REFERENCE

INT8_TUNED = ("onnxruntime-int8", "openvino-int8", "openvino-int8-bf16")
TARGETS = {  # name: (limit, "max" = value must be <= limit, "min" = >= limit)
    "fastest_fp32_vs_torchvision_eager_half": (0.30, "max"),
    "int8_vs_fastest_fp32_half": (0.75, "max"),
    "int8_agreement_half": (0.99, "min"),
    "full_vs_half_fastest_fp32": (4.3, "max"),
    "video_end_to_end_vs_model_only": (0.8, "min"),
    "eager_peak_rss_mb": (1200.0, "max"),
}


def _row(result: dict, model: str, backend: str, resolution: str) -> dict | None:
    for row in result["latency"]:
        if (row["model"], row["backend"], row["resolution"]) == (model, backend, resolution):
            return row
    return None


def assess_targets(result: dict) -> dict:
    """The issue's targets for the first model (row 8 by default): value, limit, met."""
    model = result["models"][0]["name"]
    half = {b: _row(result, model, b, "half") for b in result["models"][0]["backends"]}
    fp32 = min((half[b] for b in FP32_BACKENDS), key=lambda r: r["median_ms"])
    int8 = min((half[b] for b in INT8_TUNED), key=lambda r: r["median_ms"])
    full = _row(result, model, fp32["backend"], "full")
    reference = _row(result, *REFERENCE, "half")
    eager_rss = next(m["peak_rss_mb"] for m in result["memory"] if m["backend"] == "eager")
    video = result.get("video") or {}
    values = {
        "fastest_fp32_vs_torchvision_eager_half": fp32["median_ms"] / reference["median_ms"],
        "int8_vs_fastest_fp32_half": int8["median_ms"] / fp32["median_ms"],
        "int8_agreement_half": int8["agreement_with_eager"],
        "full_vs_half_fastest_fp32": full["median_ms"] / fp32["median_ms"],
        "video_end_to_end_vs_model_only": video.get("end_to_end_vs_model_only"),
        "eager_peak_rss_mb": eager_rss,
    }
    targets = {}
    for name, (limit, kind) in TARGETS.items():
        value = values[name]
        met = None if value is None else (value <= limit if kind == "max" else value >= limit)
        targets[name] = {"value": value, "limit": limit, "kind": kind, "met": met}
    targets["fastest_fp32_backend"] = fp32["backend"]
    targets["int8_backend"] = int8["backend"]
    return {"model": model, **targets}


def _fmt(value, spec: str = ".2f", unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def markdown(result: dict) -> str:
    """The whole report as Markdown."""
    cpu = result["cpu"]
    lines = [
        "# segmnv3 CPU benchmark", "",
        f"CPU: {cpu['model_name']}; {result['threads']} thread(s); fp32 peak "
        f"{cpu['peak_fp32_gmacs']:.1f} GMAC/s = {cpu['method']}; int8 VNNI peak "
        f"{_fmt(cpu['peak_int8_vnni_gmacs'], '.1f')} GMAC/s. Load average (1 min) before / "
        f"after: {result['load_average']['before'][0]:.2f} / "
        f"{result['load_average']['after'][0]:.2f} (shared machine: timings are noisy; all "
        "backends were timed interleaved, round after round, so they share the noise).",
        f"Warm-up {result['warmup']}, then {result['repeats']} timed runs each; latency = "
        "network only (normalised input -> logits), batch 1.", "",
        "## Models (ours / paper Table 7-8)", "",
        "| model | params | MAdds half | MAdds full | fp32 floor half / full | paper mIoU "
        "| paper CPU(f) | paper CPU(h) |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    peak = cpu["peak_fp32_gmacs"] * 1e9  # MAC/s: the floor is MAdds / peak
    for m in result["models"]:
        p = m["paper"] or {}
        paper_params = f" / {p['params_m']:.2f}M" if p else ""
        paper_full = f" / {p['madds_full_b']:.2f}B" if p else ""
        paper_half = f" / {p['madds_half_b']:.2f}B" if p.get("madds_half_b") else ""
        lines.append(
            f"| {m['name']} | {m['params'] / 1e6:.2f}M{paper_params} "
            f"| {m['madds'].get('half', 0) / 1e9:.2f}B{paper_half} "
            f"| {m['madds'].get('full', 0) / 1e9:.2f}B{paper_full} "
            f"| {1000 * m['madds'].get('half', 0) / peak:.1f} / "
            f"{1000 * m['madds'].get('full', 0) / peak:.1f} ms | {_fmt(p.get('miou'))} "
            f"| {_fmt(p.get('cpu_full_s'), '.2f', ' s')} | {_fmt(p.get('cpu_half_ms'), '.0f', ' ms')} |"
        )
    for label, size in result["sizes"].items():
        lines += ["", f"## Latency at {label} resolution ({size[0]}x{size[1]})", "",
                  "| model | backend | median ms | p90 ms | min ms | x torchvision eager | GMAC/s "
                  "| % fp32 peak | argmax agreement with eager |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in (r for r in result["latency"] if r["resolution"] == label):
            lines.append(
                f"| {r['model']} | {r['backend']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} "
                f"| {r.get('min_ms', float('nan')):.1f} "
                f"| {r['ratio_to_torchvision_eager']:.3f} | {r['gmacs_per_s']:.1f} "
                f"| {r['pct_fp32_peak']:.1f} | {100 * r['agreement_with_eager']:.2f}% |"
            )
    lines += ["", "## Peak resident memory, one image at the largest size (fresh process)", "",
              "| model | backend | peak RSS MB |", "|---|---|---|"]  # fmt: skip
    lines += [
        f"| {m['model']} | {m['backend']} | {m['peak_rss_mb']:.0f} |" for m in result["memory"]
    ]
    video = result.get("video")
    if video:
        lines += ["", "## Video", "", f"{video['frames']} frames {video['size']}, backend "
                  f"{video['backend']}: model-only {video['model_fps']:.2f} FPS, end-to-end "
                  f"{video['end_to_end_fps']:.2f} FPS (ratio {video['end_to_end_vs_model_only']:.2f})."]  # fmt: skip
    targets = result["targets"]
    lines += ["", f"## Targets ({targets['model']}; fastest fp32: {targets['fastest_fp32_backend']},"
              f" int8: {targets['int8_backend']})", "", "| target | value | limit | met |",
              "|---|---|---|---|"]  # fmt: skip
    for name, t in targets.items():
        if isinstance(t, dict):
            sign = "<=" if t["kind"] == "max" else ">="
            lines.append(
                f"| {name} | {_fmt(t['value'], '.3f')} | {sign} {t['limit']} | {t['met']} |"
            )
    return "\n".join(lines) + "\n"


def charts(result: dict, out_dir: Path) -> list[Path]:
    """Latency vs MAdds per backend (log-log), and half/full bars of the first model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    madds = {m["name"]: m["madds"] for m in result["models"]}
    figure, axis = plt.subplots(figsize=(8, 5.5))
    for backend in sorted({r["backend"] for r in result["latency"]}):
        rows = [r for r in result["latency"] if r["backend"] == backend]
        xs = [madds[r["model"]][r["resolution"]] / 1e9 for r in rows]
        axis.scatter(xs, [r["median_ms"] for r in rows], label=backend, s=28)
    every = [v / 1e9 for m in madds.values() for v in m.values()]
    span = [min(every), max(every)]
    floor = [g / result["cpu"]["peak_fp32_gmacs"] * 1000 for g in span]  # ms at fp32 peak
    axis.plot(span, floor, "k--", linewidth=1, label="compute floor (fp32 FMA peak)")
    axis.set(xscale="log", yscale="log", xlabel="GMAdds", ylabel="median latency (ms)",
             title=f"Latency vs MAdds ({result['threads']} thread)")  # fmt: skip
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    scatter = out_dir / "latency_vs_madds.png"
    figure.savefig(scatter, dpi=110, bbox_inches="tight")
    plt.close(figure)

    model = result["models"][0]["name"]
    backends = result["models"][0]["backends"]
    figure, axis = plt.subplots(figsize=(9, 4.5))
    width = 0.4
    for shift, label in ((-width / 2, "half"), (width / 2, "full")):
        values = [(_row(result, model, b, label) or {}).get("median_ms", 0) for b in backends]
        axis.bar([i + shift for i in range(len(backends))], values, width, label=label)
    axis.set_xticks(range(len(backends)), backends, rotation=30, ha="right")
    axis.set(ylabel="median latency (ms)", title=f"{model}: half vs full resolution")
    axis.legend()
    bars = out_dir / "latency_half_full.png"
    figure.savefig(bars, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return [scatter, bars]
