"""The data commands end to end: synth, prepare, bench-data (tiny sizes)."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.data.labels import label_ids_to_train_ids


@pytest.mark.parametrize("command", ["synth", "prepare", "bench-data"])
def test_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"examples:\n  segmnv3 {command}" in capsys.readouterr().out


def test_synth_writes_a_dataset_and_a_clip(tmp_path, capsys):
    out = tmp_path / "synthetic"
    args = [
        "synth",
        str(out),
        "--num-train",
        "2",
        "--num-val",
        "1",
        "--num-test",
        "1",
        "--size",
        "64x128",
    ]
    assert main([*args, "--workers", "1", "--video-frames", "3", "--video-size", "64x128"]) == 0
    assert len(list(out.glob("leftImg8bit/*/*/*_leftImg8bit.png"))) == 4
    assert len(list(out.glob("gtFine/*/*/*_gtFine_*.png"))) == 12
    assert cv2.VideoCapture(str(out / "clip.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 3
    assert "wrote 4 images (2 train / 1 val / 1 test) at 64x128" in capsys.readouterr().out


def test_synth_video_only_and_no_video(tmp_path):
    assert (
        main(
            [
                "synth",
                str(tmp_path / "v"),
                "--video-only",
                "--video-frames",
                "2",
                "--video-size",
                "64x96",
            ]
        )
        == 0
    )
    assert (tmp_path / "v" / "clip.mp4").is_file() and not (tmp_path / "v" / "leftImg8bit").exists()
    args = ["synth", str(tmp_path / "n"), "--num-train", "1", "--num-val", "0", "--num-test", "0"]
    assert main([*args, "--size", "64x64", "--no-video", "--workers", "1"]) == 0
    assert not (tmp_path / "n" / "clip.mp4").exists()


def test_synth_rejects_a_bad_size(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", str(tmp_path), "--size", "512by1024"])
    assert exit_info.value.code == 2
    assert "expected HEIGHTxWIDTH, e.g. 512x1024" in capsys.readouterr().err


def test_prepare_checks_official_counts(synthetic_root, capsys):
    assert main(["prepare", "--root", str(synthetic_root)]) == 2
    err = capsys.readouterr().err
    assert "train: 8 (expected 2975)" in err and "--any-count" in err
    assert main(["prepare", "--root", str(synthetic_root), "--any-count"]) == 0
    assert (
        "complete image/label pairs, sizes agree (train 8, val 4, test 2)"
        in capsys.readouterr().out
    )


def test_prepare_reports_a_missing_root(tmp_path, capsys):
    assert main(["prepare", "--root", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_prepare_writes_train_id_pngs(synthetic_root, tmp_path):
    root = tmp_path / "copy"
    for folder in ("leftImg8bit", "gtFine"):
        shutil.copytree(synthetic_root / folder, root / folder)
    args = ["prepare", "--root", str(root), "--any-count", "--write-train-ids", "--workers", "2"]
    assert main(args) == 0
    train_ids = sorted(root.glob("gtFine/*/*/*_gtFine_labelTrainIds.png"))
    assert len(train_ids) == 12  # train + val; test labels are placeholders in Cityscapes
    assert not list(root.glob("gtFine/test/*/*_gtFine_labelTrainIds.png"))
    for written in train_ids[::4]:
        source = written.with_name(written.name.replace("labelTrainIds", "labelIds"))
        expected = label_ids_to_train_ids(cv2.imread(str(source), cv2.IMREAD_UNCHANGED))
        assert np.array_equal(cv2.imread(str(written), cv2.IMREAD_UNCHANGED), expected)


def test_bench_data_prints_samples_per_second_and_a_chart(synthetic_root, tmp_path, capsys):
    chart = tmp_path / "bench.png"
    args = [
        "bench-data",
        "--root",
        str(synthetic_root),
        "--crop",
        "64x64",
        "--samples",
        "3",
        "--out",
        str(chart),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "64x64 training crops from 256x128 PNGs" in out and "samples/s per worker" in out
    assert cv2.imread(str(chart)) is not None
