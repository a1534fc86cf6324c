"""The `segmnv3` command and the tools/ wrappers."""

import importlib.util
import subprocess
import sys

from segmnv3.cli import COMMANDS, main


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


def test_tool_wrapper_runs_without_install():
    result = subprocess.run(
        [sys.executable, "tools/profile.py", "--help"], capture_output=True, text=True, check=False
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
