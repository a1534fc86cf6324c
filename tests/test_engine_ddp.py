"""DistributedDataParallel on CPU: two gloo processes through the real entry point."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from segmnv3.engine.checkpoint import load_checkpoint, load_model
from segmnv3.engine.config import load_config
from segmnv3.engine.run_log import read_log

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_torchrun_two_cpu_processes(synthetic_root, tmp_path):
    """4 steps on 2 ranks: identical parameters on both, changed from init, rank 0 files only."""
    out_dir, cwd = tmp_path / "run", tmp_path / "cwd"
    cwd.mkdir()
    launcher = shlex.split("-m torch.distributed.run --standalone --nproc_per_node 2")
    flags = shlex.split(
        "--dataset synthetic --backbone mobilenet_v3_small --iterations 4 --batch-size 2"
        " --device cpu --no-progress --set data.crop_size=[64,128] --set data.num_workers=0"
        " --set eval.scales=[0.5] --set train.val_interval=0 --set train.cpu_threads=1"
        " --set train.log_interval=1"
    )
    paths = ["--data-root", str(synthetic_root), "--out-dir", str(out_dir)]
    command = [sys.executable, *launcher, str(REPO / "tools" / "train.py"), *paths, *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("resolved config:") == 1  # only rank 0 prints

    records = read_log(out_dir / "log.jsonl")
    fingerprints = next(r["fingerprints"] for r in records if r["kind"] == "ddp")
    assert len(fingerprints) == 2 and fingerprints[0] == fingerprints[1]

    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["best.pt", "config.yaml", "curves.png", "last.pt", "log.jsonl", "tb"]
    assert len(list((out_dir / "tb").iterdir())) == 1  # one event file: rank 0's
    assert list(cwd.iterdir()) == []  # nothing written relative to the working directory

    from segmnv3 import build_model_from_config

    state = load_checkpoint(out_dir / "last.pt")
    config = load_config(out_dir / "config.yaml")
    torch.manual_seed(config.train.seed)  # the trainer's initial weights
    initial = build_model_from_config(config.model).state_dict()
    weights = [n for n, t in initial.items() if t.is_floating_point() and n.endswith("weight")]
    changed = [n for n in weights if not torch.equal(initial[n], state["model"][n])]
    assert len(changed) == len(weights)
    # global batch 2 x 2 ranks = 4 -> peak LR 0.01 x 4 / 16
    assert state["optimizer"]["param_groups"][0]["initial_lr"] == pytest.approx(0.0025)

    # The val mIoU reduced over the ranks' shards equals a single-process evaluation.
    val = next(r for r in records if r["kind"] == "val")
    model, _ = load_model(out_dir / "last.pt")
    from segmnv3.data.build import build_dataset
    from segmnv3.engine.data_loop import build_eval_loader
    from segmnv3.engine.distributed import DistributedContext
    from segmnv3.engine.evaluator import evaluate

    context = DistributedContext(0, 1, 0, torch.device("cpu"))
    loader = build_eval_loader(build_dataset(config.data, "val", train=False), context)
    scores = evaluate(
        model, loader, num_classes=19, device=context.device, scales=[0.5], progress=False
    )
    assert val["valid_pixels"] == scores.valid_pixels
    assert val["miou"] == pytest.approx(scores.miou, abs=1e-9)
