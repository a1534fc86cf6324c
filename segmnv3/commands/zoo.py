"""The model zoo for ``segmnv3 profile``: every shipped config profiled beside the paper.

Printing concerns (the Markdown table, which configs to list) live here in commands/;
the counting itself is ``segmnv3.models.profile`` and the figures ``segmnv3.core.paper``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segmnv3.configs import paper_configs
from segmnv3.core.paper import PaperRow, paper_row
from segmnv3.engine.config import Config, load_config
from segmnv3.models.profile import profile
from segmnv3.models.segmenter import build_model_from_config

__all__ = ["ZooEntry", "format_table", "paper_configs", "profile_config"]

FULL, HALF = (1024, 2048), (512, 1024)


@dataclass(frozen=True)
class ZooEntry:
    """Our counts for one config and the paper's row, if the config reproduces one."""

    name: str
    params: int
    madds_full: int
    madds_half: int
    paper: PaperRow | None


def profile_config(path: str | Path, config: Config | None = None) -> ZooEntry:
    """Build the model of a config file (or of ``config``, already loaded from ``path``)
    and count params and MAdds at full and half resolution."""
    model = build_model_from_config((config or load_config(path)).model)
    full, half = profile(model, FULL), profile(model, HALF)
    return ZooEntry(Path(path).stem, full.params, full.madds, half.madds, paper_row(path))


def format_table(entries: list[ZooEntry]) -> str:
    """A Markdown table: ours beside the paper's Table 7/8 figures."""
    lines = [
        "| config | paper row | params (ours / paper) | MAdds 1024x2048 (ours / paper) "
        "| MAdds 512x1024 | paper mIoU | paper CPU(f) / CPU(h) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        p = e.paper
        row = "-" if p is None else f"T{p.table}" + (f" r{p.row}" if p.row else "")
        paper_params = f"{p.params_m:.2f}M" if p else "-"
        paper_madds = f"{p.madds_full_b:.2f}B" if p else "-"
        cpu = "-"
        if p and p.cpu_full_s:
            cpu = f"{p.cpu_full_s:.2f} s / {p.cpu_half_ms:.0f} ms"
        lines.append(
            f"| {e.name} | {row} | {e.params / 1e6:.2f}M / {paper_params} "
            f"| {e.madds_full / 1e9:.2f}B / {paper_madds} | {e.madds_half / 1e9:.2f}B "
            f"| {p.miou if p else '-'} | {cpu} |"
        )
    return "\n".join(lines)
