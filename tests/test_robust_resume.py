"""Resuming safely: the run's own classes, its own folder, no step lost to a bad file, and
the right learning rate after an extension."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.errors import CheckpointError, DatasetError
from segmnv3.engine.checkpoint import load_checkpoint
from segmnv3.engine.optim import lr_factor
from segmnv3.engine.run_log import read_log
from segmnv3.engine.trainer import Trainer, train
from tests.test_robust_train import TINY, tiny_config


def _folder_dataset(root: Path, names: tuple[str, str]) -> Path:
    """Two classes, 2 train and 1 val pairs of 64x128."""
    rng = np.random.default_rng(0)
    classes = "".join(f"  - {{name: {n}, color: [{9 * i}, 0, 0]}}\n" for i, n in enumerate(names))
    root.mkdir(parents=True)
    (root / "labels.yaml").write_text("classes:\n" + classes)
    for split, count in (("train", 2), ("val", 1)):
        for index in range(count):
            for folder, array in (
                ("images", rng.integers(0, 255, (64, 128, 3), dtype=np.uint8)),
                ("masks", (rng.random((64, 128)) > 0.5).astype(np.uint8)),
            ):
                (root / folder / split).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / folder / split / f"{index}.png"), array)
    return root


def _folder_config(root: Path, out_dir: Path, *extra: str):
    return tiny_config(root, out_dir, "data.dataset=folder", "model.num_classes=2", *extra)


def test_resume_with_data_of_other_classes_is_refused(tmp_path):
    first = _folder_dataset(tmp_path / "pets", ("cat", "dog"))
    other = _folder_dataset(tmp_path / "roads", ("road", "car"))
    run = tmp_path / "run"
    train(_folder_config(first, run, "train.iterations=1"), progress=False)
    before = (run / "last.pt").read_bytes()
    config = _folder_config(other, run, "train.iterations=2")
    with pytest.raises(CheckpointError, match=r"trained on the classes \['cat', 'dog'\], the da"):
        train(config, resume=run / "last.pt", progress=False, extend=True)
    assert (run / "last.pt").read_bytes() == before  # the run keeps its labels


def test_the_first_step_after_extend_runs_at_the_new_schedules_rate(synthetic_root, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(synthetic_root, run, "train.iterations=2"), progress=False)
    longer = tiny_config(synthetic_root, run, "train.iterations=4")
    train(longer, progress=False, extend=True)
    lr = {r["step"]: r["lr"] for r in read_log(run / "log.jsonl") if r.get("kind") == "train"}
    peak = longer.train.base_lr * longer.train.batch_size / longer.train.base_batch
    assert lr[3] == pytest.approx(peak * lr_factor(2, longer.train)) and lr[3] > 0  # was 0.0


def test_resuming_a_copied_run_folder_writes_into_the_copy(synthetic_root, tmp_path, capsys):
    original, copy = tmp_path / "run", tmp_path / "copy"
    flags = ["--no-progress", "--device", "cpu"]
    flags += [item for pair in (("--set", s) for s in TINY) for item in pair]
    assert main(["train", *flags, "--data-root", str(synthetic_root), "--out-dir", str(original),
                 "--iterations", "2"]) == 0  # fmt: skip
    shutil.copytree(original, copy)
    before = (original / "last.pt").read_bytes()
    argv = ["train", "--resume", str(copy / "last.pt"), "--iterations", "3", "--extend"]
    assert main([*argv, "--no-progress"]) == 0
    assert f"continuing in {copy} (the checkpoint's folder" in capsys.readouterr().out
    assert (original / "last.pt").read_bytes() == before
    assert load_checkpoint(copy / "last.pt")["step"] == 3


def test_a_bad_file_met_mid_run_saves_the_steps_done_and_says_how_to_resume(
    synthetic_root, tmp_path, monkeypatch
):
    step = Trainer._train_step

    def failing_at_step_2(self, stream):
        if self.step == 2:
            raise DatasetError("mask x.png: values [7] are not in the label set")
        return step(self, stream)

    monkeypatch.setattr(Trainer, "_train_step", failing_at_step_2)
    run = tmp_path / "run"
    config = tiny_config(synthetic_root, run, "train.iterations=5", "train.ckpt_interval=0")
    with pytest.raises(DatasetError) as caught:
        train(config, progress=False)
    assert str(caught.value) == (
        f"mask x.png: values [7] are not in the label set; training stopped at step 2 and "
        f"{run}/last.pt holds it: fix or remove that file and rerun the same command to resume"
    )
    assert load_checkpoint(run / "last.pt")["step"] == 2  # was: no last.pt at all
