"""`segmnv3 train` / `segmnv3 eval`: config resolution, help text and one-line errors."""

from __future__ import annotations

import argparse
import shlex

import pytest

from segmnv3.cli import build_parser, main
from segmnv3.commands.train import resolve_config
from segmnv3.engine.checkpoint import save_checkpoint
from segmnv3.engine.config import Config


def _train_args(*argv: str) -> argparse.Namespace:
    return build_parser("train").parse_args(["train", *argv])


def test_shorthand_flags_map_onto_config_keys_and_set_wins():
    args = _train_args(
        *shlex.split("--head raspp --backbone mobilenet_v2 --data-root data/cs --out-dir runs/x"),
        *shlex.split("--iterations 7 --batch-size 3 --device cpu"),
        *shlex.split("--set train.iterations=9 --set model.head_channels=64"),
    )
    config = resolve_config(args)
    assert (config.model.head, config.model.backbone, config.model.head_channels) == (
        "raspp",
        "mobilenet_v2",
        64,
    )
    assert (config.data.root, config.train.out_dir) == ("data/cs", "runs/x")
    assert (config.train.iterations, config.train.batch_size, config.train.device) == (9, 3, "cpu")


def test_numeric_looking_paths_stay_strings():
    assert (
        resolve_config(_train_args("--data-root", "2024", "--out-dir", "1e3")).data.root == "2024"
    )


def test_synthetic_dataset_never_uses_the_real_root():
    config = resolve_config(_train_args("--dataset", "synthetic"))
    assert (config.data.dataset, config.data.root) == ("synthetic", "datasets/synthetic")
    config = resolve_config(_train_args("--dataset", "synthetic", "--data-root", "/tmp/s"))
    assert config.data.root == "/tmp/s"


def test_resume_reuses_the_checkpoint_config_with_overrides(tmp_path):
    stored = Config.from_dict(
        {"model": {"backbone": "mobilenet_v3_small"}, "train": {"iterations": 50, "base_lr": 0.2}}
    )
    save_checkpoint({"model": {}, "config": stored.to_dict()}, tmp_path / "last.pt")
    config = resolve_config(
        _train_args("--resume", str(tmp_path / "last.pt"), "--iterations", "80")
    )
    assert config.model.backbone == "mobilenet_v3_small" and config.train.base_lr == 0.2
    assert config.train.iterations == 80


@pytest.mark.parametrize("command", ["train", "eval"])
def test_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--set", "train.iterations=zero"]) == 2
    assert "train.iterations must be int" in capsys.readouterr().err
    assert main(["train", "--data-root", str(tmp_path / "none"), "--device", "cpu"]) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt does not exist" in capsys.readouterr().err


def test_synthetic_dataset_is_generated_when_missing(tmp_path, monkeypatch):
    from segmnv3.data.config import DataConfig
    from segmnv3.engine import data_loop

    tiny = {"num_train": 2, "num_val": 1, "num_test": 0, "size": (64, 128)}
    monkeypatch.setattr(data_loop, "SYNTHETIC_DEFAULTS", tiny)
    data = DataConfig(dataset="synthetic", root=str(tmp_path / "syn"))
    data_loop.ensure_synthetic(data, announce=False)
    train, val = data_loop.build_datasets(data)
    assert (len(train), len(val)) == (2, 1)
    image, mask = val[0]
    assert image.shape == (3, 64, 128) and mask.shape == (64, 128)
    data_loop.ensure_synthetic(DataConfig(root=str(tmp_path / "real")), announce=False)
    assert not (tmp_path / "real").exists()  # a cityscapes root is never filled with fakes
