"""Messages that tell the truth in one line: DataLoader worker errors, numbers as people
write them, an all-void split, an interrupted export, an interrupted cache build."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segmnv3.cli import main
from segmnv3.core.errors import DatasetError, user_message
from segmnv3.engine.config import load_config

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
TINY = [
    "model.backbone=mobilenet_v3_small",
    "data.dataset=synthetic",
    "data.crop_size=[64,128]",
    "eval.scales=[0.5]",
    "train.batch_size=2",
    "train.val_interval=0",
    "train.cpu_threads=1",
    "train.tensorboard=false",
    "train.iterations=2",
]


def _copy_split(source: Path, root: Path, split: str) -> Path:
    for top in ("leftImg8bit", "gtFine"):
        shutil.copytree(source / top / split, root / top / split)
    return root


def test_a_dataset_error_in_a_loader_worker_is_printed_as_its_own_line(synthetic_root, tmp_path):
    from torch._utils import ExceptionWrapper

    try:
        raise DatasetError("cannot decode image x.png (corrupt or truncated PNG); re-extract it")
    except DatasetError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(DatasetError) as caught:
        wrapper.reraise()  # what the DataLoader does in the main process
    assert "Traceback" in str(caught.value)  # torch puts the worker's traceback in it
    assert user_message(caught.value) == (
        "cannot decode image x.png (corrupt or truncated PNG); re-extract it"
    )


def test_train_with_loader_workers_on_a_corrupt_image_prints_one_line(
    synthetic_root, tmp_path, capsys
):
    root = _copy_split(synthetic_root, tmp_path / "root", "train")
    _copy_split(synthetic_root, root, "val")
    for image in (root / "leftImg8bit" / "train").rglob("*.png"):
        image.write_bytes(image.read_bytes()[:33] + b"\x00" * 64)  # header intact, data gone
    flags = ["--data-root", str(root), "--out-dir", str(tmp_path / "run"), "--no-progress"]
    flags += [item for s in [*TINY, "data.num_workers=1"] for item in ("--set", s)]
    assert main(["train", *flags, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot decode image ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "DataLoader worker" not in err


@pytest.mark.parametrize(
    ("text", "value"), [("1e-3", 0.001), ("5e-3", 0.005), ("1e6", 1e6), ("2.5E-4", 2.5e-4)]
)
def test_float_fields_take_numbers_as_people_write_them(text, value, tmp_path):
    assert load_config(None, [f"train.base_lr={text}"]).train.base_lr == value
    path = tmp_path / "c.yaml"
    path.write_text(f"train:\n  base_lr: {text}\n  weight_decay: 4e-5\n")
    config = load_config(path)
    assert config.train.base_lr == value and config.train.weight_decay == 4e-5
    assert load_config(None, ["train.iterations=30"]).train.iterations == 30  # ints stay ints


def _random_checkpoint(path: Path, data_root: Path) -> Path:
    from segmnv3.models.segmenter import build_model_from_config

    config = load_config(ROW11, [f"data.root={data_root}"])
    model = build_model_from_config(config.model)
    torch.save({"model": model.state_dict(), "config": config.to_dict(), "step": 0}, path)
    return path


def test_eval_on_a_split_without_labels_says_why(synthetic_root, tmp_path, capsys):
    root = _copy_split(synthetic_root, tmp_path / "root", "val")
    for label in (root / "gtFine" / "val").rglob("*_labelIds.png"):
        mask = cv2.imread(str(label), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(label), np.zeros_like(mask))  # id 0 "unlabeled": all void
    weights = _random_checkpoint(tmp_path / "w.pt", root)
    args = ["eval", str(weights), "--max-images", "1", "--no-progress", "--device", "cpu"]
    args += ["--half-res", "--json", str(tmp_path / "r.json")]
    assert main(args) == 2  # was "mIoU nan", exit 0
    err = capsys.readouterr().err
    assert err.startswith(f"error: no mIoU: every label pixel of the 1 image(s) of {root}/val ")
    assert "--split val" in err
    predictions = tmp_path / "preds"
    assert main([*args, "--save-predictions", str(predictions)]) == 0  # the test-split use
    assert "the predictions in" in capsys.readouterr().out


def test_an_interrupted_export_names_the_files_it_finished(tmp_path, monkeypatch, capsys):
    from segmnv3.core.files import write_bytes_atomic
    from segmnv3.deploy.export import bundle

    out = tmp_path / "out"

    def interrupted(model, out_dir, settings):
        write_bytes_atomic(out_dir / "model.onnx", b"finished")  # complete, never listed
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle, "export_bundle", interrupted)
    args = ["export", "--random-init", "--config", ROW11, "--resolution", "64x128"]
    assert main([*args, "--output", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.startswith(f"interrupted: finished and complete in {out}: model.onnx; ")
    assert "already listed" not in err


def test_an_interrupted_cache_build_keeps_its_progress_and_no_temporaries(
    synthetic_root, tmp_path, monkeypatch
):
    from segmnv3.data import cache
    from segmnv3.data.cache import build_cache, read_manifest

    root = _copy_split(synthetic_root, tmp_path / "root", "train")
    real, calls = cache.write_entry, []

    def dies_on_the_third(job):
        calls.append(job)
        if len(calls) == 3:
            _pair, entry = job
            cache._save_array(entry.image.with_name(".x.tmp999999999.npy"), np.zeros(1))
            raise KeyboardInterrupt  # like a worker killed mid-write
        return real(job)

    monkeypatch.setattr(cache, "write_entry", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        build_cache(root, "train", workers=1, progress=False)
    folder = root / ".segmnv3_cache" / "train"
    assert len(read_manifest(root / ".segmnv3_cache", "train")) == 2  # was: no manifest
    assert not list(folder.rglob(".*.tmp*"))  # the killed writer's temporary is gone
    monkeypatch.setattr(cache, "write_entry", real)
    report = build_cache(root, "train", workers=1, progress=False)
    assert (report.written, report.kept) == (6, 2)  # was (8, 0): all progress lost
