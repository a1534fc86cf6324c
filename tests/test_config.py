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


@pytest.mark.parametrize(
    ("override", "message"),
    [
        # model: one place (ModelConfig.__post_init__); file values and build_model alike
        ("model.output_stride=8", r"model.output_stride=8 is not one of \[16, 32\]"),
        ("model.width_mult=1.4", r"model.width_mult=1.4 is not supported; allowed values: \["),
        ("model.head_channels=0", "model.head_channels must be an integer >= 1"),
        ("model.pool_kernel=[0,5]", "model.pool_kernel must be"),
        # data
        ("data.crop_size=[16,64]", r"data.crop_size must be \[H, W\] with both >= 32"),
        ("data.eval_size=[31,64]", r"data.eval_size must be \[H, W\] with both >= 32"),
        ("data.scale_range=[0,1]", "data.scale_range must satisfy 0 < low <= high"),
        ("data.scale_range=[2,1]", "data.scale_range must satisfy 0 < low <= high"),
        ("data.num_workers=-1", "data.num_workers must be an integer >= 0"),
        ("data.std=[0.2,0,0.2]", "data.std must be 3 positive numbers"),
        ("data.color_jitter=[0.3,0.3,0.3,0.9]", "hue <= 0.5"),
        # train / eval
        ("train.momentum=1.0", r"train.momentum must be in \[0, 1\)"),
        ("train.warmup_factor=0", r"train.warmup_factor must be in \(0, 1\]"),
        ("train.val_max_images=0", "train.val_max_images must be None or >= 1"),
        ("train.weight_decay=-1", "train.weight_decay must be >= 0"),
        ("eval.scales=[]", r"eval.scales must be one or more numbers in \[0.25, 4\]"),
        ("eval.scales=[.nan]", "eval.scales must be one or more numbers in"),
        ("eval.scales=[0.001]", "eval.scales must be one or more numbers in"),
    ],
)
def test_each_section_validates_its_values(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_torchvision_preset_rejects_every_field_it_would_ignore():
    from segmnv3 import build_model
    from segmnv3.models.config import ModelConfig

    with pytest.raises(ValueError, match=r"ignore output_stride=32, width_mult=0.75, gate="):
        ModelConfig(preset="torchvision", output_stride=32, width_mult=0.75, gate="sigmoid")
    with pytest.raises(ConfigError, match=r"model.preset='torchvision' .* ignore rf2=False"):
        load_config(None, ["model.preset=torchvision", "model.rf2=false"])
    with pytest.raises(ValueError, match="ignore pooling='global'"):
        build_model(preset="torchvision", pooling="global")  # build_model has no second copy
    config = ModelConfig(preset="torchvision", num_classes=21)  # the fields it uses are fine
    assert build_model_from_config(config).num_classes == 21


def test_model_config_built_in_code_is_validated_too():
    from segmnv3.models.config import ModelConfig

    with pytest.raises(ValueError, match=r"model.output_stride=8 .* allowed values: \[16, 32\]"):
        ModelConfig(output_stride=8)
    with pytest.raises(ValueError, match=r"model.backbone='resnet50' .* allowed values"):
        ModelConfig(backbone="resnet50")
