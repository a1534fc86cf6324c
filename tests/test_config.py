"""The strict config: defaults are the paper's recipe, files only override, typos are errors."""

import pytest

from segmnv3 import build_model_from_config
from segmnv3.configs import paper_configs
from segmnv3.core.errors import ConfigError
from segmnv3.engine.config import Config, load_config


def test_defaults_are_paper_row_8():
    config = Config()
    assert (config.model.backbone, config.model.head, config.model.rf2) == (
        "mobilenet_v3_large",
        "lraspp",
        True,
    )
    assert (config.model.head_channels, config.model.output_stride) == (128, 16)


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  backbone: mobilenet_v3_small\n  head_channels: 256\n")
    config = load_config(path, ["model.head_channels=64", "model.pool_kernel=[25, 25]"])
    assert config.model.backbone == "mobilenet_v3_small"
    assert config.model.head_channels == 64
    assert config.model.pool_kernel == (25, 25)  # lists become the annotated tuple
    assert config.model.rf2 is True  # untouched keys keep their defaults


def test_round_trip_through_a_plain_dict():
    config = load_config(None, ["model.width_mult=0.75", "model.pooling=global"])
    assert Config.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  backbon: x\n", r"unknown key\(s\) \['backbon'\] in model\."),
        ("modle:\n  backbone: x\n", r"unknown key\(s\) \['modle'\] in top level"),
        ("model:\n  head_channels: many\n", "model.head_channels must be int"),
        ("model:\n  head: aspp\n", r"model.head='aspp' is not one of \['lraspp', 'raspp'\]"),
        ("model: [1, 2]\n", "model must be a mapping"),
        ("model: {backbone: [\n", "is not valid YAML"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_bad_overrides_and_missing_files(tmp_path):
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["model.rf2"])
    with pytest.raises(ConfigError, match="must name a section"):
        load_config(None, ["rf2=false"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("path", paper_configs(), ids=lambda p: p.stem)
def test_every_shipped_config_loads_and_builds(path):
    config = load_config(path)
    model = build_model_from_config(config.model)
    assert model.num_classes == 19
