"""The `segmnv3` command and the tools/ wrappers."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_models_deeplab_reader import write_bundle

from segmnv3.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]


def test_top_level_help_lists_commands_with_examples(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "profile" in out


def test_profile_prints_params_and_madds_beside_the_paper(capsys):
    assert (
        main(["profile", "--config", "configs/table7_row11_v3small_rf2_lraspp_f128_os16.yaml"]) == 0
    )
    out = capsys.readouterr().out
    assert "| table7_row11_v3small_rf2_lraspp_f128_os16 | T7 r11 | 0.47M / 0.47M |" in out
    assert "2.84B / 2.90B" in out


def test_every_registered_command_has_help_with_examples(capsys):
    for name, module in COMMANDS.items():
        assert importlib.util.find_spec(f"segmnv3.commands.{module}"), f"{name}: no module"
        try:
            main([name, "--help"])
        except SystemExit as exit_:
            assert exit_.code == 0, name
        out = capsys.readouterr().out
        assert "examples:" in out, name


def test_tool_wrappers_need_no_path_surgery_and_shadow_no_stdlib_module():
    tools = sorted((REPO / "tools").glob("*.py"))
    assert {"train", "eval", "infer"} <= {path.stem for path in tools}  # the documented names
    assert [p.name for p in tools if p.stem in sys.stdlib_module_names] == []  # was profile.py
    assert [p.name for p in tools if "sys.path" in p.read_text()] == []
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout, as `pip install -e .` does
    result = subprocess.run(
        [sys.executable, "tools/profile_model.py", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "segmnv3 profile" in result.stdout


def test_user_errors_are_one_line_without_traceback(capsys):
    assert main(["profile", "--config", "configs/no_such_file.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config file configs/no_such_file.yaml does not exist")
    assert "Traceback" not in err


def test_help_does_not_import_torch():
    """`segmnv3 --help` must stay instant: heavy imports belong inside run()."""
    code = "import sys; from segmnv3.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


DEEPLAB_SMALL = Path(__file__).parent / "fixtures" / "deeplab_small"


def _convert(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["convert-deeplab", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("output_stride", [32, 16])
def test_convert_deeplab_writes_a_segmnv3_checkpoint(capsys, tmp_path, output_stride):
    from segmnv3.core.checkpoint import load_checkpoint
    from segmnv3.models.loading import load_model

    out = tmp_path / "small.pt"
    folder = str(DEEPLAB_SMALL)
    code, printed, _ = _convert(
        capsys,
        folder,
        "--variant",
        "small",
        "--output-stride",
        str(output_stride),
        "--output",
        str(out),
    )
    assert code == 0
    assert "ignored checkpoint variables (not model weights): global_step" in printed
    assert f"wrote {out}" in printed and "0.469M params (468,830)" in printed  # oracle README
    assert f"segmnv3 eval {out}" in printed and f"--weights {out}" in printed
    config = load_checkpoint(out)["config"]
    model_section = config["model"]
    assert model_section["backbone"] == "mobilenet_v3_small" and model_section["rf2"] is True
    assert model_section["output_stride"] == output_stride and model_section["head_channels"] == 128
    assert model_section["pool_kernel"] == ([25, 25] if output_stride == 32 else [49, 49])
    assert model_section["pool_stride"] == [4, 5]
    assert (model_section["padding"], model_section["dilation"]) == ("tf_same", "authors")
    assert model_section["align_corners"] is True and model_section["head_bn_eps"] == 1e-5
    assert model_section["hard_sigmoid_scale"] == 0.16667
    assert config["data"]["mean"] == [0.5] * 3 and config["data"]["std"] == [0.5] * 3
    model, _ = load_model(out)
    with torch.no_grad():  # half resolution: smaller than the authors' kernel, clamped here
        assert model(torch.zeros(1, 3, 512, 1024)).shape == (1, 19, 512, 1024)


def test_convert_deeplab_refuses_bad_inputs_in_one_line(capsys, tmp_path):
    out = str(tmp_path / "out.pt")
    code, _, err = _convert(
        capsys, str(tmp_path / "none.tar.gz"), "--variant", "small", "--output", out
    )
    assert code == 2 and "checkpoint archive" in err and "does not exist" in err
    code, _, err = _convert(capsys, str(DEEPLAB_SMALL), "--variant", "large", "--output", out)
    assert code == 2 and "use --variant small" in err
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    shutil.copy(DEEPLAB_SMALL / "model.ckpt.index", truncated)
    data = (DEEPLAB_SMALL / "model.ckpt.data-00000-of-00001").read_bytes()
    (truncated / "model.ckpt.data-00000-of-00001").write_bytes(data[: len(data) // 2])
    code, _, err = _convert(capsys, str(truncated), "--variant", "small", "--output", out)
    assert code == 2 and "is truncated" in err and "download the checkpoint again" in err
    other = tmp_path / "resnet" / "model.ckpt"
    other.parent.mkdir()
    write_bundle(other, {"resnet_v1_50/conv1/weights": np.zeros((7, 7, 3, 64), np.float32)})
    code, _, err = _convert(capsys, str(other), "--variant", "small", "--output", out)
    assert code == 2 and "is it a DeepLab MobileNetV3 LR-ASPP checkpoint" in err
    for message in err.strip().splitlines():
        assert message.startswith("error: ")
    assert not Path(out).exists()
