"""Every command's --help: defaults shown once and only when they say something, real paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmnv3.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def option_blocks(text: str) -> list[str]:
    """Each option's help as one line ("  --threads N  CPU threads ... (default: 1)")."""
    blocks: list[str] = []
    for line in text.splitlines():
        if re.match(r"^  -", line):
            blocks.append(line.strip())
        elif blocks and line.startswith("   ") and line.strip():
            blocks[-1] += " " + line.strip()
        elif not line.strip():
            blocks.append("")  # a blank line ends the option list's current entry
    return [block for block in blocks if block]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "demo"])
def test_no_option_shows_a_none_or_duplicated_default(capsys, command):
    for block in option_blocks(help_text(capsys, command)):
        assert "(default: None)" not in block, block
        assert block.count("(default") <= 1, block


def test_demo_help_shows_no_none_default(capsys):
    for block in option_blocks(help_text(capsys, "demo")):
        assert "(default: None)" not in block and block.count("(default") <= 1, block


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_config_paths_in_help_exist(capsys, command):
    text = help_text(capsys, *([command] if command else []))
    for path in re.findall(r"configs/[\w.-]+\.yaml", text):
        assert (REPO / path).is_file(), f"{command or 'segmnv3'} --help names {path}"
