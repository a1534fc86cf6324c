"""Ctrl-C on a real `tools/train.py` process (and its loader workers) saves and exits cleanly."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from segmnv3.engine.checkpoint import load_checkpoint
from segmnv3.engine.run_log import read_log

REPO = Path(__file__).resolve().parents[1]


def default_sigint() -> None:
    """In the child, before exec: Ctrl-C's default disposition. A background job (`make test
    &`, nohup) starts with SIGINT ignored, the child would inherit it and never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_to_the_process_group_saves_a_checkpoint(synthetic_root, tmp_path):
    out_dir = tmp_path / "run"
    flags = shlex.split(
        "--dataset synthetic --backbone mobilenet_v3_small --iterations 10000 --batch-size 2"
        " --device cpu --no-progress --set data.crop_size=[64,128] --set data.num_workers=1"
        " --set train.log_interval=1 --set train.tensorboard=false --set train.cpu_threads=1"
    )
    paths = ["--data-root", str(synthetic_root), "--out-dir", str(out_dir)]
    command = [sys.executable, str(REPO / "tools" / "train.py"), *paths, *flags]
    process = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout, as an install would
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal job
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(r["kind"] == "train" for r in read_log(out_dir / "log.jsonl")):
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: main process and workers
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    assert "rerun the same command to continue" in stdout
    state = load_checkpoint(out_dir / "last.pt")
    assert 1 <= state["step"] < 10000
    assert state["step"] == max(r["step"] for r in read_log(out_dir / "log.jsonl"))
