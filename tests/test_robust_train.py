"""Bad input to train / eval / prepare / synth: one clear line (exit 2), never a wrong result."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from segmnv3.cli import main
from segmnv3.core.errors import CheckpointError, ConfigError, UserError
from segmnv3.engine.checkpoint import load_checkpoint, save_checkpoint
from segmnv3.engine.config import load_config
from segmnv3.engine.trainer import train

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "model.backbone=mobilenet_v3_small",
    "data.dataset=synthetic",
    "data.crop_size=[64,128]",
    "data.num_workers=0",
    "eval.scales=[0.5]",
    "train.batch_size=2",
    "train.val_interval=0",
    "train.cpu_threads=1",
    "train.tensorboard=false",
    "train.log_interval=1",
]


def tiny_config(root: Path, out_dir: Path, *extra: str):
    return load_config(None, [*TINY, f"data.root={root}", f"train.out_dir={out_dir}", *extra])


@pytest.fixture(scope="module")
def tiny_run(synthetic_root, tmp_path_factory):
    """A finished 3-iteration run (a few seconds)."""
    out_dir = tmp_path_factory.mktemp("tiny") / "run"
    result = train(tiny_config(synthetic_root, out_dir, "train.iterations=3"), progress=False)
    return result


def _stored_iterations(run_dir: Path) -> tuple[int, int]:
    """(config.yaml's train.iterations, last.pt's train.iterations)."""
    on_disk = yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["iterations"]
    return on_disk, load_checkpoint(run_dir / "last.pt")["config"]["train"]["iterations"]


# -- case 6 / 14: rerunning a run under another schedule, and a finished run ---------------


def test_rerun_of_a_finished_run_reports_its_real_metrics_and_writes_nothing(
    tiny_run, synthetic_root, capsys
):
    before = (tiny_run.run_dir / "last.pt").stat().st_mtime_ns
    again = train(tiny_config(synthetic_root, tiny_run.run_dir, "train.iterations=3"))
    assert again.step == 3 and not again.interrupted
    assert again.last_miou == pytest.approx(tiny_run.last_miou)  # was None
    assert again.best_miou == pytest.approx(tiny_run.best_miou)
    assert (tiny_run.run_dir / "last.pt").stat().st_mtime_ns == before
    out = capsys.readouterr().out
    assert (
        f"already holds a finished run (step 3/3): best val mIoU {100 * again.best_miou:.2f}" in out
    )


def test_a_shorter_schedule_on_an_existing_run_is_an_error(tiny_run, synthetic_root):
    from segmnv3.engine.resume import ScheduleChangeError

    config = tiny_config(synthetic_root, tiny_run.run_dir, "train.iterations=2")
    with pytest.raises(ScheduleChangeError, match="is at step 3 of a 3-iteration schedule; "):
        train(config, progress=False)
    with pytest.raises(ScheduleChangeError, match="not beyond the step it reached"):
        train(config, progress=False, extend=True)  # cannot extend backwards either
    assert _stored_iterations(tiny_run.run_dir) == (3, 3)


def test_a_longer_schedule_needs_extend_and_config_yaml_follows_the_checkpoint(
    synthetic_root, tmp_path
):
    from segmnv3.engine.resume import ScheduleChangeError

    out_dir = tmp_path / "run"
    train(tiny_config(synthetic_root, out_dir, "train.iterations=2"), progress=False)
    longer = tiny_config(synthetic_root, out_dir, "train.iterations=4")
    with pytest.raises(ScheduleChangeError, match=r"train.iterations=4 was asked for.*--extend"):
        train(longer, progress=False)
    assert _stored_iterations(out_dir) == (2, 2)
    result = train(longer, progress=False, extend=True)
    assert result.step == 4 and result.last_miou is not None
    assert _stored_iterations(out_dir) == (4, 4)


def test_cli_extend_flag(synthetic_root, tmp_path, capsys):
    flags = ["--data-root", str(synthetic_root), "--out-dir", str(tmp_path / "run")]
    flags += ["--dataset", "synthetic", "--no-progress", "--device", "cpu"]
    flags += [item for pair in (("--set", s) for s in TINY) for item in pair]
    assert main(["train", *flags, "--iterations", "2"]) == 0
    assert main(["train", *flags, "--iterations", "1"]) == 2
    assert "is at step 2 of a 2-iteration schedule" in capsys.readouterr().err
    assert main(["train", *flags, "--iterations", "3", "--extend"]) == 0
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 3


# -- case 2 (in-process part): the lock ------------------------------------------------------


def test_run_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    from segmnv3.engine.run_lock import RunDirectoryError, RunLock

    with RunLock(tmp_path / "run") as held:
        assert (tmp_path / "run" / ".lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(RunDirectoryError, match=f"in use by process {os.getpid()}"):
            RunLock(tmp_path / "run").__enter__()
    assert held.previous_pid is None and not (tmp_path / "run" / ".lock").exists()
    (tmp_path / "run" / ".lock").write_text("999999999\n")  # a holder that was killed
    with RunLock(tmp_path / "run") as lock:
        assert lock.previous_pid == 999999999


# -- case 9: unusable output paths fail before any work ---------------------------------------


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read_only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    try:  # root writes anywhere but in sysfs
        (Path("/sys") / "segmnv3_probe").mkdir()
    except OSError:
        return Path("/sys")
    pytest.skip("running as root without a read-only folder to write into")


def _train_args(root: Path, out_dir: Path) -> list[str]:
    args = ["train", "--dataset", "synthetic", "--data-root", str(root), "--device", "cpu"]
    return [*args, "--out-dir", str(out_dir), "--iterations", "1", "--no-progress"]


@pytest.mark.parametrize("kind", ["file", "below a file", "unwritable"])
def test_train_out_dir_that_cannot_be_used(kind, synthetic_root, tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    out_dir = {
        "file": tmp_path / "taken",
        "below a file": tmp_path / "taken" / "run",
        "unwritable": _unwritable_folder(tmp_path) / "run",
    }[kind]
    assert main(_train_args(synthetic_root, out_dir)) == 2
    captured = capsys.readouterr()
    assert "resolved config" not in captured.out  # checked before any work
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: ") and str(out_dir) in line
    expected = {
        "file": "is an existing file, not a folder",
        "below a file": "a part of the path is a file",
        "unwritable": "cannot create the run directory",
    }[kind]
    assert expected in line


@pytest.mark.parametrize("kind", ["below a file", "unwritable"])
def test_eval_json_into_a_folder_that_cannot_be_used(kind, tiny_run, tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    folder = tmp_path / "taken" if kind == "below a file" else _unwritable_folder(tmp_path)
    json_path = folder / "deeper" / "report.json"
    args = ["eval", str(tiny_run.run_dir / "last.pt"), "--json", str(json_path)]
    assert main([*args, "--device", "cpu", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "mIoU" not in captured.out  # refused before evaluating
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: cannot write the JSON report into")


def test_eval_json_into_a_missing_folder_creates_it(tiny_run, tmp_path):
    json_path = tmp_path / "new" / "folder" / "report.json"
    args = ["eval", str(tiny_run.run_dir / "last.pt"), "--json", str(json_path)]
    assert main([*args, "--device", "cpu", "--no-progress", "--max-images", "1"]) == 0
    assert json_path.is_file()


# -- case 11 / 12: numbers out of range are refused by the parser -----------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "x.pt", "--scales", "nan"], "expected a finite number"),
        (["eval", "x.pt", "--scales", "inf"], "expected a finite number"),
        (["eval", "x.pt", "--scales", "1", "0"], r"a scale must lie in \[0.25, 4\]"),
        (["eval", "x.pt", "--scales", "0.001"], r"a scale must lie in \[0.25, 4\]"),
        (["eval", "x.pt", "--scales", "-1"], r"a scale must lie in \[0.25, 4\]"),
        (["eval", "x.pt", "--max-images", "0"], "must be a positive integer"),
        (["eval", "x.pt", "--max-images", "-3"], "must be a positive integer"),
        (["synth", "out", "--video-frames", "0"], "must be a positive integer"),
        (["synth", "out", "--fps", "-5"], "must be a number > 0"),
        (["synth", "out", "--fps", "nan"], "expected a finite number"),
        (["synth", "out", "--num-train", "-1"], "must be an integer >= 0"),
        (["synth", "out", "--workers", "0"], "must be a positive integer"),
        (["prepare", "--workers", "0"], "must be a positive integer"),
        (["train", "--iterations", "0"], "must be a positive integer"),
        (["train", "--batch-size", "-2"], "must be a positive integer"),
    ],
)
def test_out_of_range_arguments_are_refused_by_the_parser(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_eval_request_scales_are_checked_by_the_library(tiny_run):
    from segmnv3.engine.eval_report import EvalRequest, evaluate_checkpoint

    request = EvalRequest(str(tiny_run.run_dir / "last.pt"), scales=[0.0], progress=False)
    with pytest.raises(ConfigError, match=r"eval.scales must be one or more numbers in \[0.25"):
        evaluate_checkpoint(request)


@pytest.mark.parametrize("command", ["train", "eval", "prepare", "synth"])
def test_every_config_path_in_help_examples_exists(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "<row>" not in text
    paths = re.findall(r"configs/[^\s)]+\.yaml", text)
    for path in paths:
        assert (REPO / path).is_file(), f"`segmnv3 {command} --help` names missing {path}"


# -- case 10 / 12: class counts and files that are not checkpoints ---------------------------


def test_training_fewer_classes_than_the_data_names_both_numbers(synthetic_root, tmp_path):
    config = tiny_config(synthetic_root, tmp_path / "run", "model.num_classes=7")
    with pytest.raises(ConfigError, match=r"model.num_classes=7, but .* has 19 classes"):
        train(config, progress=False)


def test_first_batch_check_names_the_ids_and_num_classes():
    from segmnv3.data.metrics import check_train_ids

    check_train_ids(torch.tensor([[0, 6, 255]]), 7)
    with pytest.raises(UserError, match=r"holds class ids \[8, 12\] but the model has num_class"):
        check_train_ids(torch.tensor([[0, 8, 255, 12]]), 7)


def _seven_class_checkpoint(tmp_path: Path, root: Path) -> Path:
    from segmnv3 import build_model_from_config

    config = tiny_config(root, tmp_path / "unused", "model.num_classes=7")
    model = build_model_from_config(config.model)
    path = tmp_path / "seven.pt"
    save_checkpoint({"model": model.state_dict(), "config": config.to_dict()}, path)
    return path


def test_eval_of_a_checkpoint_with_fewer_classes_says_so(synthetic_root, tmp_path, capsys):
    checkpoint = _seven_class_checkpoint(tmp_path, synthetic_root)
    args = ["eval", str(checkpoint), "--data-root", str(synthetic_root), "--device", "cpu"]
    assert main([*args, "--no-progress"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "predicts 7 classes (model.num_classes=7" in line and "has 19 classes" in line
    assert "label ids" not in line


def test_files_that_are_not_checkpoints(tmp_path, capsys):
    text, image = tmp_path / "notes.txt", tmp_path / "photo.png"
    text.write_text("these are not weights\n")
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(CheckpointError, match=r"is not a checkpoint \(it looks like a text file\)"):
        load_checkpoint(text)
    for weights in (text, image):
        assert main(["eval", str(weights), "--device", "cpu"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert f"{weights} is not a checkpoint" in line and "weights_only" not in line
    assert "a PNG image" in line


def test_refused_pickles_never_suggest_disabling_safe_loading(tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"model": {}, "step": np.float64(1.0)}, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert "pickled code or objects (numpy." in str(error.value)
    assert "weights_only" not in str(error.value)


# -- case 13: foreign label ids and files that do not decode ---------------------------------


@pytest.fixture
def damaged_root(synthetic_root, tmp_path):
    """A copy of the synthetic set with ids 40 and 200 in one label and a truncated image."""
    root = tmp_path / "damaged"
    shutil.copytree(synthetic_root, root, ignore=shutil.ignore_patterns("clip.mp4"))
    label = sorted(root.glob("gtFine/train/*/*_gtFine_labelIds.png"))[0]
    mask = cv2.imread(str(label), cv2.IMREAD_UNCHANGED)
    mask[:2, :5], mask[2, :3] = 40, 200  # 10 + 3 pixels
    cv2.imwrite(str(label), mask)
    return root, label


def test_foreign_label_ids_are_counted_and_warned_once_per_file(damaged_root):
    from segmnv3.data.build import open_dataset
    from segmnv3.data.labels import UnknownLabelWarning

    root, label = damaged_root
    dataset = open_dataset(root, "train")
    index = dataset.label_paths.index(label)
    with pytest.warns(UnknownLabelWarning) as records:
        _, mask = dataset[index]
        dataset[index]  # the same file again: no second warning
    assert len(records) == 1
    assert f"{label}: 13 pixels hold values that are not" in str(records[0].message)
    assert "values [40, 200]" in str(records[0].message)
    assert (mask[:3, :5] == 255).sum() >= 13


def test_prepare_write_train_ids_reports_foreign_ids(damaged_root, capsys):
    root, label = damaged_root
    args = ["prepare", "--root", str(root), "--any-count", "--headers-only", "--workers", "1"]
    assert main([*args, "--write-train-ids", "--splits", "train", "val"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {label}: 13 pixels" in err and "values [40, 200]" in err


def test_prepare_finds_a_truncated_image(damaged_root, capsys):
    root, label = damaged_root
    image = sorted(root.glob("leftImg8bit/val/*/*_leftImg8bit.png"))[0]
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 3])  # the header (and size) still read fine
    assert main(["prepare", "--root", str(root), "--any-count", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "1 of 28 files" in err and "do not decode" in err and str(image) in err
    assert f"warning: {label}" not in err  # the failure is the message; no half report
