"""An adapt run's folder: ``state.pt`` after each step, ``adapt.jsonl``, ``adapt.png``,
and at the end ``adapted.yaml`` + ``adapted.pt``.

Every file appears whole or not at all (``core.files``). ``state.pt`` is rewritten after
each finished step; the log keeps one ``seed`` record, per step one ``proposal`` record of
every proposal (chosen or rejected) and one ``step`` record, and a ``done`` record. A rerun
drops the records of a step that did not finish, so the log always matches the state.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from segmnv3.core.checkpoint import load_checkpoint, save_checkpoint
from segmnv3.core.errors import UserError
from segmnv3.core.files import write_text_atomic

STATE = "state.pt"
LOG = "adapt.jsonl"
CHART = "adapt.png"
FINAL_CONFIG = "adapted.yaml"
FINAL_CHECKPOINT = "adapted.pt"


def save_state(out_dir: Path, state: dict) -> None:
    plain = {**state, "settings": dataclasses.asdict(state["settings"])}
    save_checkpoint(plain, out_dir / STATE)


def load_state(out_dir: Path, settings) -> dict | None:
    """The state of an earlier run of the same command in ``out_dir`` (None: a new run).

    Raises:
        UserError: the folder holds a run of other settings (the seed model is not
            compared: the state's own seed is continued).
    """
    path = out_dir / STATE
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    stored = state["settings"]
    asked = dataclasses.asdict(settings)
    differing = [key for key in asked if stored.get(key) != asked[key]]
    if differing:
        shown = ", ".join(f"{k}: {stored.get(k)!r} there, {asked[k]!r} now" for k in differing)
        raise UserError(
            f"{out_dir} holds an adapt run of other settings ({shown}); rerun with the same "
            "flags to continue it, or pick another --out-dir"
        )
    state["settings"] = type(settings)(**stored)
    _truncate_log(out_dir / LOG, state["step"])
    return state


class AdaptLog:
    """The JSON-lines log (one record per line) and its chart, written by rank 0."""

    def __init__(self, out_dir: Path, active: bool) -> None:
        self.path, self.active = out_dir / LOG, active

    def start(self, state: dict) -> None:
        self._write(
            [
                {
                    "event": "seed",
                    "step": 0,
                    "ms": state["seed_ms"],
                    "predicted_ms": state["predicted_seed_ms"],
                    "miou": state["miou"],
                    "target_ms": state["target_ms"],
                }
            ],
            append=False,
        )

    def step(self, state, proposals, scores, best, seconds) -> None:
        records = [
            {
                "event": "proposal",
                "step": state["step"],
                "unit": p.unit.name,
                "channels": p.count,
                "predicted_ms": p.predicted_ms,
                "ms": p.measured_ms,
                "from_ms": p.from_ms,
                "miou": scores[i],
                "chosen": i == best,
            }
            for i, p in enumerate(proposals)
        ]
        chosen = proposals[best]
        records.append(
            {
                "event": "step",
                "step": state["step"],
                "unit": chosen.unit.name,
                "channels": chosen.count,
                "from_ms": chosen.from_ms,
                "ms": chosen.measured_ms,
                "predicted_ms": chosen.predicted_ms,
                "miou": state["miou"],
                "seconds": seconds,
                "model": state["config"]["model"],
            }
        )
        self._write(records)

    def describe_step(self, state: dict, chosen) -> str:
        predicted = (
            f", predicted {chosen.predicted_ms:.2f}" if chosen.predicted_ms is not None else ""
        )
        return (
            f"step {state['step']}: {chosen.unit.name} -> {chosen.count} channels: "
            f"{chosen.from_ms:.2f} -> {chosen.measured_ms:.2f} ms measured{predicted} "
            f"(target {state['target_ms']:.2f}), held-out mIoU {100 * state['miou']:.2f}"
        )

    def done(self, record: dict) -> None:
        self._write([{"event": "done", **record}])

    def _write(self, records: list[dict], append: bool = True) -> None:
        if not self.active:
            return
        old = self.path.read_text() if append and self.path.exists() else ""
        lines = "".join(json.dumps(r) + "\n" for r in records)
        write_text_atomic(self.path, old + lines)
        plot_adapt(self.path, self.path.with_name(CHART))


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _truncate_log(path: Path, step: int) -> None:
    """Keep the records of finished steps only (a rerun redoes the unfinished one)."""
    if path.exists():
        kept = [r for r in read_log(path) if r["event"] != "done" and r["step"] <= step]
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))


def plot_adapt(log_path: Path, chart: Path) -> Path | None:
    """Latency vs held-out mIoU: the chosen path and every rejected proposal."""
    from segmnv3.core.optional import optional

    if optional("matplotlib", package="matplotlib", feature="the adapt chart") is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_log(log_path)
    path = [r for r in records if r["event"] in ("seed", "step")]
    rejected = [r for r in records if r["event"] == "proposal" and not r["chosen"]]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(
        [r["ms"] for r in rejected],
        [100 * r["miou"] for r in rejected],
        s=12,
        c="0.6",
        label="rejected proposals",
    )
    axes.plot(
        [r["ms"] for r in path], [100 * r["miou"] for r in path], "o-", c="C3", label="chosen path"
    )
    if path:
        axes.axvline(path[0]["target_ms"], ls="--", c="C0", label="target")
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("held-out mIoU (%)")
    axes.set_title("NetAdapt: latency vs held-out mIoU")
    axes.invert_xaxis()
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    from segmnv3.core.files import atomic_path

    with atomic_path(chart) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return chart


def final_outputs(out_dir: Path, state: dict, reason: str, is_main: bool, say):
    """Write ``adapted.yaml`` / ``adapted.pt`` and the ``done`` record; say how it ended.

    Raises:
        UserError: the target cannot be reached (no unit saves another step): nothing is
            written under the final names; the message names the smallest model found.
    """
    from segmnv3.core.label_file import LABELS_KEY
    from segmnv3.engine.adapt.search import AdaptResult

    if reason == "unreachable":
        raise UserError(
            f"the target {state['target_ms']:.2f} ms cannot be reached: no unit can save "
            f"another {100 * state['settings'].delta:g}% step; the smallest model found runs "
            f"at {state['ms']:.2f} ms after {state['step']} steps ({out_dir / STATE}); rerun "
            f"with --target-ms {state['ms']:.2f} (or a smaller --delta) to finish with it"
        )
    config_path, checkpoint_path = out_dir / FINAL_CONFIG, out_dir / FINAL_CHECKPOINT
    if is_main:
        import yaml

        config = state["config"]
        write_text_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
        labels = state.get(LABELS_KEY)
        final = {"model": state["model"], "config": config, "step": 0}
        save_checkpoint({**final, LABELS_KEY: labels} if labels else final, checkpoint_path)
        AdaptLog(out_dir, True).done(
            {"step": state["step"], "reason": reason, "ms": state["ms"], "miou": state["miou"]}
        )
        say(_ending(reason, state))
    return AdaptResult(
        reason,
        state["step"],
        state["seed_ms"],
        state["ms"],
        state["target_ms"],
        config_path,
        checkpoint_path,
    )


def _ending(reason: str, state: dict) -> str:
    figures = (
        f"{state['step']} steps: {state['seed_ms']:.2f} -> {state['ms']:.2f} ms "
        f"(target {state['target_ms']:.2f}), held-out mIoU {100 * state['seed_miou']:.2f} -> "
        f"{100 * state['miou']:.2f}"
    )
    if reason == "target":
        return f"target reached after {figures}"
    return f"stopped at --max-steps after {figures}"
