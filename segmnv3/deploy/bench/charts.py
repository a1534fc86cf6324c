"""The benchmark's PNG charts: latency vs MAdds (each runtime its own colour and marker,
each model named), the first model's half / full bars, and the roofline per op class.

None are drawn without matplotlib (a warning names the ``plots`` extra).
"""

from __future__ import annotations

from pathlib import Path

from segmnv3.core.files import atomic_path
from segmnv3.core.optional import pyplot
from segmnv3.deploy.bench.results import BenchmarkResult
from segmnv3.deploy.runtimes.backend import ALL_BACKENDS, Backend

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p", "d", "8")
"""One marker per backend of ``ALL_BACKENDS`` (same order)."""
_EXTRA = ("#393b79", "#637939", "#8c6d31", "#843c39")  # beyond matplotlib's 10 cycle colours


def style(backend: Backend) -> dict:
    """The colour and marker of ``backend`` in every chart: distinct for every backend."""
    index = ALL_BACKENDS.index(backend)
    colour = f"C{index}" if index < 10 else _EXTRA[index - 10]
    return {"color": colour, "marker": MARKERS[index]}


def charts(result: BenchmarkResult, out_dir: Path) -> list[Path]:
    """``latency_vs_madds.png`` and ``latency_half_full.png`` under ``out_dir``."""
    plt = pyplot()
    if plt is None:
        return []
    paths = [_scatter(plt, result, out_dir), _half_full(plt, result, out_dir)]
    return paths + ([_roofline(plt, result, out_dir)] if result.rooflines else [])


def _scatter(plt, result: BenchmarkResult, out_dir: Path) -> Path:
    """Latency vs MAdds (log-log): a point per (model, resolution, backend); a dotted line
    per (model, resolution) names the model its points belong to."""
    madds = {m.name: m.madds for m in result.models}
    figure, axis = plt.subplots(figsize=(9, 6))
    backends = [b for b in ALL_BACKENDS if any(r.backend == b for r in result.latency)]
    for backend in backends:
        rows = [r for r in result.latency if r.backend == backend]
        xs = [madds[r.model][r.resolution] / 1e9 for r in rows]
        axis.scatter(xs, [r.median_ms for r in rows], label=backend.name, s=30, **style(backend))
    every = sorted({(madds[r.model][r.resolution], r.model, r.resolution) for r in result.latency})
    for value, names in _close_together(every):
        axis.axvline(value / 1e9, color="0.8", linestyle=":", linewidth=1, zorder=0)
        axis.annotate(
            " / ".join(names),
            (value / 1e9, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=6,
            va="top",
            ha="right",
        )
    span = [every[0][0] / 1e9, every[-1][0] / 1e9]
    floor = [g / result.fp32_roof_gmacs * 1000 for g in span]  # ms at the fp32 roof
    source = "measured 1-thread fp32 GEMM" if result.roofs else "assumed fp32 FMA peak"
    axis.plot(span, floor, "k--", linewidth=1, label=f"compute floor ({source})")
    title = f"Latency vs MAdds ({result.threads} thread)"
    axis.set(xscale="log", yscale="log", xlabel="GMAdds", ylabel="median latency (ms)", title=title)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    return save(figure, out_dir / "latency_vs_madds.png")


def _close_together(every: list[tuple[int, str, str]]) -> list[tuple[int, list[str]]]:
    """(MAdds, model, resolution) sorted by MAdds -> one label per group of lines closer
    than 5% (row 8 at full resolution and smp at half are 9.47 and 9.46 GMAdds: two
    labels there would print over each other)."""
    groups: list[tuple[int, list[str]]] = []
    for value, model, resolution in every:
        name = f"{model} ({resolution})"
        if groups and value <= groups[-1][0] * 1.05:
            groups[-1][1].append(name)
        else:
            groups.append((value, [name]))
    return groups


def _half_full(plt, result: BenchmarkResult, out_dir: Path) -> Path:
    first = result.models[0]
    names = [b.name for b in first.backends]
    figure, axis = plt.subplots(figsize=(9, 4.5))
    width = 0.4
    for shift, label in ((-width / 2, "half"), (width / 2, "full")):
        rows = [result.latency_of(first.name, b, label) for b in first.backends]
        values = [row.median_ms if row else 0 for row in rows]
        axis.bar([i + shift for i in range(len(names))], values, width, label=label)
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axis.set(ylabel="median latency (ms)", title=f"{first.name}: half vs full resolution")
    axis.legend()
    return save(figure, out_dir / "latency_half_full.png")


def _roofline(plt, result: BenchmarkResult, out_dir: Path) -> Path:
    """Per (model, resolution): measured ONNX Runtime time per op class against its floor."""
    rooflines = result.rooflines
    figure, axes = plt.subplots(len(rooflines), 1, figsize=(9, 2.6 * len(rooflines)), squeeze=False)
    for axis, r in zip(axes[:, 0], rooflines, strict=True):
        names = [row.op_class for row in r.rows]
        ys = range(len(names))
        axis.barh([y + 0.2 for y in ys], [row.ms for row in r.rows], 0.4, label="measured")
        axis.barh(
            [y - 0.2 for y in ys],
            [row.floor_cache_ms for row in r.rows],
            0.4,
            label="floor (cache bandwidth)",
        )
        axis.scatter(
            [row.floor_dram_ms for row in r.rows],
            ys,
            marker="|",
            color="k",
            s=80,
            label="floor (DRAM bandwidth)",
            zorder=3,
        )
        axis.set_yticks(list(ys), names, fontsize=7)
        axis.invert_yaxis()
        axis.set_title(
            f"{r.model}, {r.resolution} {r.size[0]}x{r.size[1]}: ONNX Runtime fp32 "
            f"{r.profiled_ms:.1f} ms, floor {r.floor_cache_ms:.1f} / {r.floor_dram_ms:.1f} ms",
            fontsize=8,
        )
        axis.set_xlabel("ms", fontsize=8)
        axis.grid(True, axis="x", alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return save(figure, out_dir / "roofline.png")


def save(figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` atomically and close it."""
    plt = pyplot()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
