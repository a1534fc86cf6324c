"""Nothing silently wrong: a NaN model is never saved, evaluated or passed by parity, a full
disk is one line, and an odd-sized video keeps its frame size."""

from __future__ import annotations

import errno
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segmnv3.cli import main
from segmnv3.core.checkpoint import load_checkpoint, nonfinite_tensors, save_checkpoint
from segmnv3.core.errors import CheckpointError, NonFiniteError
from segmnv3.deploy.bench.timing import agreement as bench_agreement
from segmnv3.deploy.export.accuracy import photo_agreement
from segmnv3.deploy.export.parity import check_parity
from segmnv3.deploy.runtimes import EagerPredictor
from segmnv3.engine.config import load_config
from segmnv3.engine.divergence import TrainingDiverged
from segmnv3.engine.trainer import train

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
TINY = [
    "model.backbone=mobilenet_v3_small",
    "data.dataset=synthetic",
    "data.crop_size=[64,128]",
    "data.num_workers=0",
    "eval.scales=[0.5]",
    "train.batch_size=2",
    "train.cpu_threads=1",
    "train.tensorboard=false",
]


def test_a_diverging_run_saves_only_finite_models_and_says_what_last_pt_holds(
    synthetic_root, tmp_path
):
    """Logging every 100 steps, saving every step: the old loop wrote a NaN last.pt (and
    validated it into best.pt) and blamed a "last good checkpoint" it never checked."""
    out_dir = tmp_path / "run"
    overrides = ["train.log_interval=100", "train.ckpt_interval=1", "train.val_interval=1"]
    overrides += ["train.iterations=6", "train.base_lr=1000000.0", "train.val_max_images=1"]
    overrides += [f"data.root={synthetic_root}", f"train.out_dir={out_dir}"]
    config = load_config(None, [*TINY, *overrides])
    with pytest.raises(TrainingDiverged) as caught:
        train(config, progress=False)
    message = str(caught.value)
    last = load_checkpoint(out_dir / "last.pt")
    assert f"{out_dir / 'last.pt'} holds step {last['step']}, the last checkpoint" in message
    assert message.startswith(f"training diverged at step {last['step'] + 1}: ")
    assert "bf16" not in message  # amp is not fp16 here (CPU runs in fp32)
    assert nonfinite_tensors(last["model"]) == []
    best = load_checkpoint(out_dir / "best.pt")
    assert nonfinite_tensors(best["model"]) == [] and best["step"] <= last["step"]


def _nan_state(tmp_path: Path) -> Path:
    """A full checkpoint of the ROW11 model with one NaN weight, written by torch.save."""
    from segmnv3.models.segmenter import build_model_from_config

    config = load_config(ROW11)
    model = build_model_from_config(config.model)
    state = model.state_dict()
    first = next(name for name, value in state.items() if value.is_floating_point())
    state[first] = state[first].clone().fill_(float("nan"))
    path = tmp_path / "nan.pt"
    torch.save({"model": state, "config": config.to_dict(), "step": 1}, path)
    return path


def test_save_checkpoint_refuses_nan_weights_and_writes_nothing(tmp_path):
    state = {"weight": torch.tensor([1.0, float("inf")]), "count": torch.tensor([3])}
    with pytest.raises(NonFiniteError, match=r"refusing to write .*x\.pt: the weights hold NaN"):
        save_checkpoint(state, tmp_path / "x.pt")
    assert list(tmp_path.iterdir()) == []


def test_eval_and_infer_refuse_a_nan_model(tmp_path, synthetic_root, capsys):
    path = _nan_state(tmp_path)
    assert main(["eval", str(path), "--data-root", str(synthetic_root), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"error: checkpoint {path} holds NaN or inf weights (" in err and "diverged" in err
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((32, 64, 3), np.uint8))
    assert main(["infer", str(image), "--weights", str(path), "--output", str(tmp_path)]) == 2
    assert "holds NaN or inf weights" in capsys.readouterr().err


class _Constant(torch.nn.Module):
    """Logits all equal to ``value`` (NaN, inf or a number), class 0 a little higher."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((x.shape[0], 19, *x.shape[2:]), self.value)
        logits[:, 0] += 1.0
        return logits


class _LabelsOnly(EagerPredictor):
    """A predictor whose graph ends in labels (``logits`` unavailable)."""

    output = "labels"

    def __init__(self, inner: EagerPredictor):
        self.backend, self.inner = inner.backend, inner

    def logits(self, batch):
        raise AssertionError("a labels graph has no logits")

    def predict(self, batch):
        return self.inner.predict(batch)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_parity_and_agreement_fail_on_nonfinite_outputs(bad, tmp_path):
    frame = np.zeros((32, 64, 3), np.uint8)
    good, broken = EagerPredictor(_Constant(0.0)), EagerPredictor(_Constant(bad))
    report = check_parity(good, broken, [frame], (32, 64))
    assert not report.passed and report.agreement == 0.0  # was PASS, diff 0.00e+00
    assert report.max_abs_diff == float("inf") and report.line().endswith("FAIL")
    assert check_parity(broken, broken, [frame], (32, 64)).passed is False
    assert check_parity(good, good, [frame], (32, 64)).passed is True
    labels_graph = _LabelsOnly(good)  # a graph that ends in labels: argmax agreement only
    assert check_parity(good, labels_graph, [frame], (32, 64)).passed is True
    assert check_parity(broken, labels_graph, [frame], (32, 64)).passed is False
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), frame)
    assert photo_agreement(good, broken, [photo], (32, 64)) == 0.0
    assert photo_agreement(broken, broken, [photo], (32, 64)) == 0.0  # was 1.0
    assert photo_agreement(good, good, [photo], (32, 64)) == 1.0
    batch = [np.zeros((1, 3, 32, 64), np.float32)]
    assert bench_agreement(good, broken, batch) == 0.0
    assert bench_agreement(broken, broken, batch) == 0.0  # was 1.0: argmax of NaN is 0
    assert bench_agreement(good, good, batch) == 1.0


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 576 vs 470"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
)
def test_a_full_disk_during_a_checkpoint_save_is_one_line(failure, tmp_path, monkeypatch):
    save_checkpoint({"w": torch.ones(2)}, tmp_path / "last.pt")

    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint({"w": torch.zeros(2)}, tmp_path / "last.pt")
    message = str(caught.value)
    assert message.startswith(f"cannot write checkpoint {tmp_path / 'last.pt'}: the disk is full")
    assert "\n" not in message and "previous checkpoint is intact" in message
    assert load_checkpoint(tmp_path / "last.pt")["w"].tolist() == [1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary left


def test_an_odd_sized_video_keeps_its_frame_size(tmp_path, capsys):
    clip = tmp_path / "odd.avi"
    writer = cv2.VideoWriter(
        str(clip), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), 5, (333, 199)
    )
    for value in (0, 120, 240):
        writer.write(np.full((199, 333, 3), value, np.uint8))
    writer.release()
    out = tmp_path / "out"
    smoke = ["--random-init", "--config", ROW11, "--output", str(out)]
    assert main(["infer", str(clip), *smoke]) == 0
    written = out / "odd_overlay.avi"  # .mp4 codecs would crop it to 332x198
    capture = cv2.VideoCapture(str(written))
    ok, frame = capture.read()
    assert ok and frame.shape == (199, 333, 3)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()
