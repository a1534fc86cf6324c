"""Impossible numbers for infer / export / bench are refused at the parser, with the range."""

from __future__ import annotations

import argparse

import pytest

from segmnv3.cli import main
from segmnv3.commands.arg_types import int_at_least, positive_int, resolution, torch_device

SMOKE = ["--random-init", "--config", "table7_row11_v3small_rf2_lraspp_f128_os16"]


def parser_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["infer", "x.png", "--threads", "0"], "argument --threads: must be a positive integer"),
        (["infer", "x.png", "--max-frames", "0"], "argument --max-frames: must be a positive"),
        (["infer", "x.png", "--max-frames", "-1"], "must be a positive integer, got -1"),
        (["infer", "x.png", "--resolution", "100000x100000"], "between 32 and 8192 pixels"),
        (["infer", "x.png", "--resolution", "16x16"], "between 32 and 8192 pixels, got 16x16"),
        (["infer", "x.png", "--resolution", "big"], "expected HEIGHTxWIDTH, e.g. 512x1024"),
        (["infer", "x.png", "--device", "banana"], "argument --device: unknown device 'banana'"),
        (["export", "--threads", "0"], "argument --threads: must be a positive integer, got 0"),
        (["export", "--val-images", "0"], "argument --val-images: must be a positive integer"),
        (["export", "--calib-images", "0"], "argument --calib-images: must be a positive"),
        (["export", "--calib-images", "-2"], "must be a positive integer, got -2"),
        (["export", "--parity-images", "0"], "argument --parity-images: must be a positive"),
        (["bench", "--threads", "0"], "argument --threads: must be a positive integer, got 0"),
        (["bench", "--repeats", "0"], "argument --repeats: must be a positive integer, got 0"),
        (["bench", "--warmup", "-1"], "argument --warmup: must be an integer >= 0, got -1"),
        (["bench", "--calib-images", "0"], "argument --calib-images: must be a positive"),
        (["bench", "--agreement-images", "0"], "argument --agreement-images: must be a positive"),
        (["bench", "--repeats", "two"], "argument --repeats: expected an integer, got 'two'"),
    ],
)
def test_impossible_values_are_refused_at_the_parser(capsys, argv, expected):
    assert expected in parser_error(capsys, argv)


def test_arg_types_accept_the_valid_range():
    assert positive_int("1") == 1 and int_at_least(0)("0") == 0
    assert resolution("512x1024") == (512, 1024) and resolution("32*8192") == (32, 8192)
    assert torch_device("cuda:1") == "cuda:1" and torch_device("CPU") == "cpu"
    with pytest.raises(argparse.ArgumentTypeError, match="got 0"):
        positive_int("0")


def test_export_default_resolution_is_parsed(capsys):
    from segmnv3.cli import build_parser

    args = build_parser("export").parse_args(["export", *SMOKE])
    assert args.resolution == (512, 1024) and args.calib_images == 16


def test_bench_refuses_two_configs_with_one_name(tmp_path, capsys):
    from segmnv3.configs import resolve_config

    copy = tmp_path / "table7_row11_v3small_rf2_lraspp_f128_os16.yaml"
    copy.write_text(resolve_config("table7_row11_v3small_rf2_lraspp_f128_os16").read_text())
    argv = ["bench", "--config", "table7_row11_v3small_rf2_lraspp_f128_os16", "--config"]
    assert main([*argv, str(copy), "--output", str(tmp_path / "o")]) == 2
    assert "both give a model named 'table7_row11_v3small_rf2_lraspp_f128_os16'" in (
        capsys.readouterr().err
    )
