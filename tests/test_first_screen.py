"""A newcomer's first screen: the README's first commands, --version, the demo's next
steps, "did you mean" for config names, a config/checkpoint mismatch by field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmnv3 import __version__
from segmnv3.cli import main
from segmnv3.commands.demo_pipeline import DemoSummary
from segmnv3.core.checkpoint import save_checkpoint
from segmnv3.core.errors import CheckpointError, ConfigError
from segmnv3.core.schema import to_plain
from segmnv3.engine.config import load_config
from segmnv3.models.config import ModelConfig
from segmnv3.models.loading import load_model

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_make_then_the_three_commands_to_your_own_photo():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert [line.split()[:2] for line in blocks[0].splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    commands = [line.split()[:2] for line in blocks[1].splitlines()]
    assert commands == [["segmnv3", "demo"], ["segmnv3", "infer"], ["segmnv3", "serve"]]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"segmnv3 {__version__}"


def test_the_demo_summary_ends_with_the_next_commands_on_its_checkpoint():
    summary = DemoSummary(outputs={"checkpoint": Path("out/run/best.pt")})
    text = summary.render(60.0)
    assert "segmnv3 infer photo.jpg --weights out/run/best.pt" in text
    assert "segmnv3 serve --weights out/run/best.pt" in text


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("table7_row8_v3large_rf2_lraspp_f128_os16", "table7_row08_v3large_rf2_lraspp_f128_os16"),
        ("row11", "table7_row11_v3small_rf2_lraspp_f128_os16"),
    ],
)
def test_a_mistyped_config_name_gets_a_did_you_mean(name, suggestion):
    with pytest.raises(ConfigError, match=f"did you mean {suggestion}\\?"):
        load_config(name)


def test_a_config_checkpoint_mismatch_names_the_differing_fields(tmp_path):
    path = save_checkpoint(
        {"model": {}, "config": {"model": to_plain(ModelConfig())}}, tmp_path / "a.pt"
    )
    with pytest.raises(CheckpointError) as caught:
        load_model(path, ModelConfig(head_channels=256))
    message = str(caught.value)
    assert "model.head_channels: given 256, checkpoint 128" in message
    assert "ModelConfig(" not in message and "backbone" not in message
