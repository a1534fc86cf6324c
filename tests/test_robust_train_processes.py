"""Two real `segmnv3 train` processes on one run directory; kill -9 and the next start."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from segmnv3.engine.checkpoint import load_checkpoint
from segmnv3.engine.run_log import read_log

REPO = Path(__file__).resolve().parents[1]
FLAGS = shlex.split(
    "--dataset synthetic --backbone mobilenet_v3_small --batch-size 2 --device cpu"
    " --no-progress --set data.crop_size=[64,128] --set data.num_workers=0"
    " --set train.log_interval=1 --set train.ckpt_interval=1 --set train.val_interval=0"
    " --set train.tensorboard=false --set train.cpu_threads=1 --set eval.scales=[0.5]"
)


def _train_command(root: Path, out_dir: Path, *extra: str) -> list[str]:
    paths = ["--data-root", str(root), "--out-dir", str(out_dir)]
    return [sys.executable, "-m", "segmnv3.cli", "train", *paths, *FLAGS, *extra]


def _environment() -> dict[str, str]:
    # Subprocesses import the segmnv3 these tests run against, wherever it is installed.
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _wait_for_step(out_dir: Path, process: subprocess.Popen, step: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        records = read_log(out_dir / "log.jsonl")
        if any(r["kind"] == "train" and r["step"] >= step for r in records):
            return
        time.sleep(0.1)
    raise AssertionError(f"the first run never reached step {step}: {process.poll()}")


def test_a_second_run_is_refused_and_a_killed_run_is_taken_over(synthetic_root, tmp_path):
    """The issue's `runs/dual`: the second run must fail naming the first one's PID; after
    kill -9 the lock is stale and the next start takes it over, removing the temporaries
    of the dead process (and only those)."""
    out_dir = tmp_path / "dual"
    first = subprocess.Popen(
        _train_command(synthetic_root, out_dir, "--iterations", "10000"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        _wait_for_step(out_dir, first, 2)
        second = subprocess.run(
            _train_command(synthetic_root, out_dir, "--iterations", "10000"),
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=120,
        )
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"is in use by process {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr and "resolved config" not in second.stdout
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)

    step = load_checkpoint(out_dir / "last.pt")["step"]
    dead = out_dir / f".last.tmp{first.pid}.pt"  # what a kill during a save leaves
    dead.write_bytes(b"PK\x03\x04 torn")
    alive = out_dir / f".best.tmp{os.getpid()}.pt"  # a live writer's: must stay
    alive.write_bytes(b"PK\x03\x04 in progress")
    extend = ["--iterations", str(step + 2), "--extend"]
    third = subprocess.run(
        _train_command(synthetic_root, out_dir, *extend),
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
    )
    assert third.returncode == 0, third.stderr[-2000:]
    assert f"process {first.pid} ended without releasing it" in third.stdout
    # The killed run may itself have been writing a temporary (e.g. its log or a chart):
    # every temporary of the dead process goes, the live writer's stays.
    removed = re.search(
        r"removed (\d+) temporary file\(s\) left by killed runs \((.*)\)", third.stdout
    )
    assert removed and dead.name in removed[2].split(", "), third.stdout[-2000:]
    assert not dead.exists() and alive.exists()
    assert not list(out_dir.glob(f".*.tmp{first.pid}*"))
    assert load_checkpoint(out_dir / "last.pt")["step"] == step + 2
    assert not (out_dir / ".lock").exists()  # released cleanly this time
