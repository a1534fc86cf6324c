"""Training end to end on the tiny synthetic set (CPU): learning, resume, signals, logs."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch

from segmnv3.engine.checkpoint import load_checkpoint
from segmnv3.engine.config import Config, load_config
from segmnv3.engine.run_log import read_log
from segmnv3.engine.trainer import Trainer, train

# A small recipe that learns quickly on CPU: V3-Small, half-resolution crops, a high LR
# (batch 8), BatchNorm momentum 0.1 so that the running statistics follow a short run,
# and one thread (oversubscribed threads are many times slower on a shared 2-core box).
FAST_RECIPE = [
    "model.backbone=mobilenet_v3_small",
    "data.dataset=synthetic",
    "data.crop_size=[64,128]",
    "data.scale_range=[0.4,0.6]",
    "data.num_workers=0",
    "eval.scales=[0.5]",
    "train.batch_size=8",
    "train.base_lr=0.1",
    "train.bn_momentum=0.1",
    "train.cpu_threads=1",
    "train.tensorboard=false",
    "train.log_interval=10",
]


def fast_config(root, out_dir, *extra: str) -> Config:
    return load_config(
        None, [*FAST_RECIPE, f"data.root={root}", f"train.out_dir={out_dir}", *extra]
    )


@pytest.fixture(scope="module")
def trained_run(synthetic_root, tmp_path_factory):
    """One 100-iteration run shared by the tests below (about 25 s on 2 busy cores)."""
    out_dir = tmp_path_factory.mktemp("learning_run")
    config = fast_config(synthetic_root, out_dir, "train.iterations=100", "train.val_interval=50")
    torch.manual_seed(0)
    return train(config, progress=False), config


def _random_init_miou(config: Config) -> float:
    from segmnv3 import build_model_from_config
    from segmnv3.data.build import build_dataset
    from segmnv3.engine.data_loop import build_eval_loader
    from segmnv3.engine.distributed import DistributedContext
    from segmnv3.engine.evaluator import evaluate

    torch.manual_seed(config.train.seed)
    model = build_model_from_config(config.model)
    context = DistributedContext(0, 1, 0, torch.device("cpu"))
    loader = build_eval_loader(build_dataset(config.data, "val", train=False), context)
    scores = evaluate(
        model, loader, num_classes=19, device=context.device, scales=[0.5], progress=False
    )
    return scores.miou


@pytest.mark.slow
def test_learning_small_model_on_synthetic_data(trained_run):
    """V3-Small LR-ASPP learns the synthetic scenes far beyond a random-init model.

    Measured with exactly this recipe (8 train / 4 val images at 128x256, 64x128 crops,
    batch 8, LR 0.1, BN momentum 0.1, 1 thread, 100 iterations; 10-25 s on 2 shared
    cores), val mIoU at step 50 / 100: seed 0 17.15 / 17.78 %, seed 1 17.16 / 17.72 %,
    seed 2 18.23 / 19.59 % (pixel accuracy about 80 %). Longer: 19.2 % at 160 iterations.
    Random-init models score 0.01-2.0 % mIoU (seeds 0-2). The 12 % threshold leaves
    room for platform variance while staying 6x above the best random-init score.
    """
    result, config = trained_run
    records = read_log(result.run_dir / "log.jsonl")
    mious = [r["miou"] for r in records if r["kind"] == "val"]
    losses = [r["loss"] for r in records if r["kind"] == "train"]
    assert [r["step"] for r in records if r["kind"] == "val"] == [50, 100]
    assert result.best_miou == max(mious) and result.step == 100 and not result.interrupted
    assert result.best_miou > 0.12, mious
    assert result.best_miou > 5 * _random_init_miou(config)
    assert losses[-1] < 0.6 * losses[0], losses


def test_run_directory_contents(trained_run):
    result, config = trained_run
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.yaml", "last.pt", "best.pt", "log.jsonl", "curves.png"} <= names
    assert Config.from_dict(load_config(result.run_dir / "config.yaml").to_dict()) == config
    last = load_checkpoint(result.run_dir / "last.pt")
    assert last["step"] == 100 and last["config"] == config.to_dict()
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "best_miou"} <= set(last)
    best = load_checkpoint(result.run_dir / "best.pt")
    assert best["best_miou"] == pytest.approx(result.best_miou)
    assert (result.run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("accumulate", [1, 2])
def test_resume_after_signal_equals_uninterrupted_run(
    synthetic_root, tmp_path, monkeypatch, accumulate
):
    """6 steps in one go == 3 steps, SIGTERM (checkpoint + clean exit), auto-resume, 3 more.

    With ``accumulate=2`` each step takes two micro-batches, so the resumed data stream must
    skip 6 micro-batches, not 3.
    """
    extra = ["train.iterations=6", "train.val_interval=0", "train.batch_size=2"]
    extra += ["train.log_interval=1", f"train.accumulate={accumulate}"]
    assert train(fast_config(synthetic_root, tmp_path / "whole", *extra), progress=False).step == 6

    original_step = Trainer._train_step

    def step_then_signal(self, stream):
        loss = original_step(self, stream)
        if self.step == 2:  # the third step is running: the loop stops after it
            signal.raise_signal(signal.SIGTERM)
        return loss

    config = fast_config(synthetic_root, tmp_path / "split", *extra)
    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    first = train(config, progress=False)
    monkeypatch.setattr(Trainer, "_train_step", original_step)
    assert first.interrupted and first.step == 3
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored
    assert load_checkpoint(tmp_path / "split" / "last.pt")["step"] == 3
    second = train(config, progress=False)  # same command again: continues from last.pt
    assert second.step == 6 and not second.interrupted

    final_whole = load_checkpoint(tmp_path / "whole" / "last.pt")
    final_split = load_checkpoint(tmp_path / "split" / "last.pt")
    for name, tensor in final_whole["model"].items():
        assert torch.equal(tensor, final_split["model"][name]), name
    momentum = final_whole["optimizer"]["state"][0]["momentum_buffer"]
    assert torch.equal(momentum, final_split["optimizer"]["state"][0]["momentum_buffer"])
    steps = [r["step"] for r in read_log(tmp_path / "split" / "log.jsonl") if r["kind"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]  # no duplicated or missing records after resuming


def test_resume_refuses_a_run_directory_of_another_model(trained_run):
    from segmnv3.core.errors import CheckpointError

    result, config = trained_run
    other = fast_config(
        config.data.root,
        result.run_dir,
        "model.backbone=mobilenet_v3_large",
        "train.iterations=101",
    )
    with pytest.raises(CheckpointError, match="another model"):
        train(other, progress=False)


def test_json_log_records_are_plain_json(trained_run):
    result, _ = trained_run
    for line in (result.run_dir / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["kind"] in {"train", "val"} and isinstance(record["step"], int)


def test_eval_command_agrees_with_official_script_on_saved_predictions(trained_run, tmp_path):
    """`segmnv3 eval --save-predictions` files, scored by cityscapesscripts, give our numbers."""
    import copy
    import math

    import cv2

    official = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
    from segmnv3.cli import main

    result, config = trained_run
    root = Path(config.data.root)
    report_path, predictions = tmp_path / "report.json", tmp_path / "predictions"
    argv = ["eval", str(result.run_dir / "best.pt"), "--data-root", str(root), "--scales", "0.5"]
    argv += ["--save-predictions", str(predictions), "--json", str(report_path)]
    assert main([*argv, "--device", "cpu", "--no-progress"]) == 0
    report = json.loads(report_path.read_text())
    assert report_path.with_suffix(".png").is_file() and report["images"] == 4

    args = copy.copy(official.args)
    args.evalInstLevelScore, args.JSONOutput, args.quiet = False, False, True
    args.predictionPath, args.predictionWalk = str(predictions / "labelIds"), None
    # The generator writes real-Cityscapes-like labelIds (no 255), so the official script
    # reads the ground truth as it is.
    ground_truth = [str(p) for p in sorted(root.glob("gtFine/val/*/*_gtFine_labelIds.png"))]
    found = [official.getPrediction(args, gt) for gt in ground_truth]  # the server's naming rule
    reference = official.evaluateImgLists(found, ground_truth, args)
    for name, value in report["iou"].items():
        expected = reference["classScores"][name]
        assert (value is None) == math.isnan(expected), name
        if value is not None:
            assert value == pytest.approx(expected, abs=1e-4), name
    assert report["miou"] == pytest.approx(reference["averageScoreClasses"], abs=1e-4)
    assert report["miou"] == pytest.approx(result.best_miou, abs=1e-9)  # same as training's val
    overlays = sorted(predictions.glob("overlay/*/*.png"))
    assert len(overlays) == 4 and cv2.imread(str(overlays[0])).shape == (128, 256, 3)


def test_loss_options_and_warmup_in_a_real_run(synthetic_root, tmp_path):
    """OHEM + class weights + Lovasz term + warm-up: the run finishes and logs the warm-up LR."""
    weights = "[" + ",".join(["1.0"] * 18 + ["2.0"]) + "]"
    extra = ["train.iterations=3", "train.val_interval=0", "train.batch_size=2"]
    extra += ["train.log_interval=1", "train.loss=ohem", "train.ohem_min_kept=1000"]
    extra += [f"train.class_weights={weights}", "train.lovasz_weight=0.5"]
    extra += ["train.warmup_iters=2", "train.warmup_factor=0.1"]
    result = train(fast_config(synthetic_root, tmp_path, *extra), progress=False)
    records = [r for r in read_log(result.run_dir / "log.jsonl") if r["kind"] == "train"]
    peak = 0.1 * 2 / 16  # base_lr 0.1 at batch 16, batch 2
    expected = [peak * 0.1, peak * (1 - 1 / 3) ** 0.9 * 0.55, peak * (1 - 2 / 3) ** 0.9]
    assert [r["lr"] for r in records] == pytest.approx(expected)
    assert all(0 < r["loss"] < 20 for r in records)
