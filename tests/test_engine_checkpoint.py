"""Checkpoints: atomic writes survive a crash, unsafe pickles are refused, load_model works."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from segmnv3.core.errors import CheckpointError
from segmnv3.engine.checkpoint import (
    load_checkpoint,
    load_model,
    save_checkpoint,
    save_run_checkpoint,
)
from segmnv3.engine.config import Config

REPO = Path(__file__).resolve().parents[1]


def _small_config() -> Config:
    return Config.from_dict({"model": {"backbone": "mobilenet_v3_small", "head_channels": 16}})


def test_save_then_load_round_trip(tmp_path):
    state = {"model": {"w": torch.arange(6.0).reshape(2, 3)}, "step": 7, "best_miou": 0.25}
    save_checkpoint(state, tmp_path / "sub" / "ckpt.pt")
    loaded = load_checkpoint(tmp_path / "sub" / "ckpt.pt")
    assert loaded["step"] == 7 and loaded["best_miou"] == 0.25
    assert torch.equal(loaded["model"]["w"], state["model"]["w"])
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["ckpt.pt"]  # no temp left


def test_keep_last_and_best(tmp_path):
    save_run_checkpoint({"step": 1}, tmp_path, is_best=True)
    save_run_checkpoint({"step": 2}, tmp_path, is_best=False)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 1


class _RunsCode:
    """Unpickling this would call os.system: the classic malicious checkpoint."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch.save", "raw pickle"])
def test_malicious_checkpoint_is_refused(tmp_path, writer, monkeypatch):
    path = tmp_path / "evil.pt"
    payload = {"model": {"w": torch.zeros(1)}, "config": {}, "extra": _RunsCode()}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    calls = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)
    with pytest.raises(CheckpointError, match=r"refusing to load .*evil\.pt.*pickled code"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_model(path)
    assert calls == []  # the payload never ran


def test_missing_and_corrupt_files_raise_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    save_checkpoint({"step": 1}, tmp_path / "cut.pt")
    data = (tmp_path / "cut.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")


def test_killed_between_temp_write_and_rename_keeps_last_good(tmp_path):
    """A process killed (os._exit, no cleanup) right before the rename leaves last.pt intact."""
    script = textwrap.dedent(
        f"""
        import os, torch
        import segmnv3.core.checkpoint as ckpt, segmnv3.core.files as files
        path = {str(tmp_path / "last.pt")!r}
        ckpt.save_checkpoint({{"step": 1, "w": torch.ones(3)}}, path)
        def killed(*args):
            os._exit(9)  # like SIGKILL: no finally blocks, no flush of Python state
        files.os.replace = killed
        ckpt.save_checkpoint({{"step": 2, "w": torch.zeros(3)}}, path)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert result.returncode == 9, result.stderr.decode()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert len(leftovers) == 1 and ".tmp" in leftovers[0]  # the complete-but-unrenamed write
    loaded = load_checkpoint(tmp_path / "last.pt")
    assert loaded["step"] == 1 and torch.equal(loaded["w"], torch.ones(3))


def test_load_model_from_full_checkpoint_and_bare_state_dict(tmp_path):
    from segmnv3 import build_model_from_config

    config = _small_config()
    torch.manual_seed(0)
    model = build_model_from_config(config.model).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)  # (1, 19, 64, 64)
    save_checkpoint({"model": model.state_dict(), "config": config.to_dict()}, tmp_path / "a.pt")
    save_checkpoint(model.state_dict(), tmp_path / "bare.pt")

    loaded, loaded_config = load_model(tmp_path / "a.pt")
    assert loaded_config == config
    with torch.no_grad():
        assert torch.allclose(loaded(x), expected)

    with pytest.raises(CheckpointError, match="bare state dict without a config"):
        load_model(tmp_path / "bare.pt")
    loaded, _ = load_model(tmp_path / "bare.pt", config=config)
    with torch.no_grad():
        assert torch.allclose(loaded(x), expected)


def test_load_model_rejects_weights_of_another_model(tmp_path):
    config = _small_config()
    other = Config.from_dict({"model": {"backbone": "mobilenet_v3_small", "num_classes": 8}})
    from segmnv3 import build_model_from_config

    save_checkpoint(build_model_from_config(config.model).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="do not fit the model"):
        load_model(tmp_path / "bare.pt", config=other)
    full = {"model": {}, "config": config.to_dict()}
    save_checkpoint(full, tmp_path / "full.pt")
    with pytest.raises(CheckpointError, match="different model"):
        load_model(tmp_path / "full.pt", config=other)
