"""The NetAdapt loop: propose, fine-tune, pick, repeat until the target latency.

Per step every unit offers one proposal (``proposals.propose``), each is fine-tuned for
``iterations`` steps and scored on held-out training images (``tuning``), and the one
maximising dAcc / |dLatency| (the paper; ``criterion="accuracy"``: the smallest accuracy
loss, as the original NetAdapt) becomes the model of the next step. After each step the
run folder holds ``state.pt`` (the whole state) and the log: a rerun of the same command
continues at the last finished step (``records``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from torch import nn

from segmnv3.core.errors import UserError
from segmnv3.core.label_file import LABELS_KEY
from segmnv3.data.build import label_set_of
from segmnv3.engine.adapt.proposals import LatencySource, Proposal, propose
from segmnv3.engine.adapt.records import AdaptLog, final_outputs, load_state, save_state
from segmnv3.engine.adapt.team import Team
from segmnv3.engine.adapt.tuning import fine_tune, heldout_miou, split_training_data
from segmnv3.engine.config import Config
from segmnv3.models.surgery import shrink, with_channels

Criterion = Literal["ratio", "accuracy"]
ALONE = Team()


@dataclass(frozen=True)
class AdaptSettings:
    """What an adapt run does (stored in its state: a rerun must ask the same).

    Attributes:
        target_ms: latency to reach; None: ``target_ratio`` x the seed's.
        target_ratio: the target as a fraction of the seed's measured latency.
        delta: each step saves at least this fraction of the seed's latency (paper: 1%).
        iterations: fine-tune steps per proposal (paper: 10000).
        criterion: ``ratio`` (dAcc / |dLatency|, the paper) or ``accuracy`` (min dAcc).
        heldout: training images held out to score proposals.
        seed: seeds every fine-tune (per step and unit, not per process).
        max_steps: stop after this many steps even above the target.
    """

    target_ms: float | None = None
    target_ratio: float | None = None
    delta: float = 0.01
    iterations: int = 20
    criterion: Criterion = "ratio"
    heldout: int = 8
    seed: int = 0
    max_steps: int = 200


@dataclass
class AdaptResult:
    """How a run ended and where its outputs are."""

    reason: str
    steps: int
    seed_ms: float
    final_ms: float
    target_ms: float
    config_path: Path
    checkpoint_path: Path


def adapt(
    model: nn.Module,
    config: Config,
    settings: AdaptSettings,
    latency: LatencySource,
    out_dir: Path,
    *,
    team: Team = ALONE,
    say=print,
) -> AdaptResult:
    """Run (or continue) NetAdapt from ``model`` (of ``config``) into ``out_dir``.

    Raises:
        UserError: a target at or above the seed's latency, a run folder of other settings.
    """
    data = split_training_data(config, settings.heldout)
    state = load_state(out_dir, settings) if team.is_main else None
    state = team.broadcast(state)
    if state is None:
        state = _start(model, config, settings, latency, data, out_dir, team, say)
    else:
        say(f"continuing {out_dir} after step {state['step']} ({state['ms']:.2f} ms)")
    config, model = state_model(state)
    log = AdaptLog(out_dir, team.is_main)
    seed = (seed_model(state), state["seed_ms"]) if team.is_main else None  # rank 0 measures
    reason = None
    while reason is None:
        reason = _stop_reason(state, settings)
        if reason is not None:
            break
        step_started = time.perf_counter()
        delta_ms = settings.delta * state["seed_ms"]
        found = propose(model, config.model, latency, delta_ms, seed) if team.is_main else None
        proposals = team.broadcast(found)
        if not proposals:
            reason = "unreachable"
            break
        scores, weights = _score(model, config, proposals, data, settings, state["step"] + 1, team)
        best = _choose(proposals, scores, state["miou"], settings.criterion)
        chosen = proposals[best]
        config.model = with_channels(config.model, chosen.unit, chosen.count)
        model = _chosen_model(config, weights, best, team)
        state.update(step=state["step"] + 1, ms=chosen.measured_ms, miou=scores[best])
        state.update(config=config.to_dict(), model=model.state_dict())
        if team.is_main:
            log.step(state, proposals, scores, best, time.perf_counter() - step_started)
            save_state(out_dir, state)
            say(log.describe_step(state, chosen))
    return final_outputs(out_dir, state, reason, team.is_main, say)


def state_model(state: dict) -> tuple[Config, nn.Module]:
    """The config and model a state holds."""
    from segmnv3.models.segmenter import build_model_from_config

    config = Config.from_dict(state["config"], source="adapt state")
    model = build_model_from_config(config.model)
    model.load_state_dict(state["model"])
    return config, model.eval()


def seed_model(state: dict) -> nn.Module:
    """The seed's network (random weights: only its latency is asked of it)."""
    from segmnv3.core.schema import from_dict
    from segmnv3.models.config import ModelConfig
    from segmnv3.models.segmenter import build_model_from_config

    return build_model_from_config(from_dict(ModelConfig, state["seed_model"])).eval()


def _start(model, config, settings, latency, data, out_dir, team, say) -> dict:
    """Measure the seed, check the target, log and save step 0."""
    seed_ms = latency.measure({"seed": model})["seed"] if team.is_main else None
    seed_ms = team.broadcast(seed_ms)
    target = settings.target_ms or settings.target_ratio * seed_ms
    if target >= seed_ms:
        raise UserError(
            f"the target {target:.2f} ms is at or above the seed model's {seed_ms:.2f} ms on "
            "this runtime: nothing to do; ask for less (--target-ms or --target-ratio < 1)"
        )
    miou = heldout_miou(model, config, data)
    state = {
        "step": 0,
        "seed_ms": seed_ms,
        "ms": seed_ms,
        "target_ms": target,
        "seed_miou": miou,
        "miou": miou,
        "settings": settings,
        "config": config.to_dict(),
        "seed_model": config.to_dict()["model"],
        "model": model.state_dict(),
        LABELS_KEY: label_set_of(config.data).to_dict(),
        "predicted_seed_ms": latency.predict(model),
    }
    if team.is_main:
        AdaptLog(out_dir, True).start(state)
        save_state(out_dir, state)
        say(f"seed: {seed_ms:.2f} ms, held-out mIoU {100 * miou:.2f}; target {target:.2f} ms")
    return state


def _stop_reason(state: dict, settings: AdaptSettings) -> str | None:
    if state["ms"] <= state["target_ms"]:
        return "target"
    if state["step"] >= settings.max_steps:
        return "max_steps"
    return None


def _score(model, config, proposals, data, settings, step, team) -> tuple[list[float], dict]:
    """Fine-tune and score this rank's share; every rank gets all the scores."""
    mine, weights = {}, {}
    for index in team.mine(len(proposals)):
        proposal = proposals[index]
        candidate, model_config = shrink(model, config.model, proposal.unit, proposal.count)
        run_config = Config.from_dict({**config.to_dict(), "model": _plain(model_config)})
        seed = settings.seed * 100_003 + step * 1_009 + index
        fine_tune(candidate, run_config, data, settings.iterations, seed)
        mine[index] = heldout_miou(candidate, run_config, data)
        weights[index] = candidate.state_dict()
    scores = team.gather(mine)
    return [scores[i] for i in range(len(proposals))], weights


def _choose(proposals: list[Proposal], scores: list[float], miou: float, criterion: str) -> int:
    """Index of the chosen proposal (ties: the earlier unit)."""

    def value(index: int) -> float:
        gain = scores[index] - miou
        if criterion == "accuracy":
            return gain
        proposal = proposals[index]
        return gain / max(proposal.from_ms - proposal.measured_ms, 1e-9)

    return max(range(len(proposals)), key=lambda index: (value(index), -index))


def _chosen_model(config: Config, weights: dict, best: int, team: Team) -> nn.Module:
    from segmnv3.models.segmenter import build_model_from_config

    owner = best % team.world_size
    state_dict = team.broadcast(weights.get(best), source=owner)
    model = build_model_from_config(config.model)
    model.load_state_dict(state_dict)
    return model.eval()


def _plain(model_config):
    from segmnv3.core.schema import to_plain

    return to_plain(model_config)
