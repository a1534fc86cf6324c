"""Fine-tuning across label sets: classifier rows by class name, the source's numerics."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from segmnv3.cli import main
from segmnv3.commands.train import add_arguments, resolve_config
from segmnv3.core.checkpoint import load_checkpoint, save_checkpoint
from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.errors import CheckpointError
from segmnv3.core.label_set import ClassSpec, LabelSet
from segmnv3.engine.config import Config, explicit_keys, load_config
from segmnv3.engine.finetune import classifier_keys, inherit_source_numerics, same_class_rows
from segmnv3.engine.model_setup import load_initial_weights
from segmnv3.models.deeplab.convert import deeplab_model_config
from segmnv3.models.segmenter import build_model, build_model_from_config

DEEPLAB_SMALL = Path(__file__).parent / "fixtures" / "deeplab_small"
FIVE = LabelSet(
    (
        ClassSpec("road", (128, 64, 128)),
        ClassSpec("sidewalk", (244, 35, 232)),
        ClassSpec("vehicle", (0, 0, 142)),
        ClassSpec("person", (220, 20, 60)),
        ClassSpec("background", (90, 90, 90)),
    ),
    ignore_values=(255,),
    name="five",
)
SHARED = {0: 0, 1: 1, 3: 11}  # five's train id -> Cityscapes train id (road, sidewalk, person)
CLASSIFIERS = [
    f"head.{conv}_classifier.{param}" for conv in ("high", "low") for param in ("weight", "bias")
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """The authors' (fixture) Cityscapes V3-Small converted at OS 16: 19 classes, no labels."""
    out = tmp_path_factory.mktemp("finetune") / "deeplab_small.pt"
    args = [str(DEEPLAB_SMALL), "--variant", "small", "--output-stride", "16"]
    assert main(["convert-deeplab", *args, "--output", str(out)]) == 0
    return out


def _five_class_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model_from_config(deeplab_model_config("small", 16, num_classes=FIVE.num_classes))


def test_rows_of_shared_names_are_copied_and_the_others_keep_the_new_init(converted):
    source = load_checkpoint(converted)["model"]
    model = _five_class_model()
    initial = {key: value.clone() for key, value in model.state_dict().items()}
    summary = load_initial_weights(model, str(converted), labels=FIVE)
    loaded = model.state_dict()
    assert summary == (
        f"init weights: 5 classes (five) from the 19 of {converted} (cityscapes-trainids); "
        "kept rows of road, sidewalk, person; new: vehicle, background"
    )
    for key in CLASSIFIERS:
        assert loaded[key].shape[0] == 5 and source[key].shape[0] == 19
        for new, old in SHARED.items():
            assert torch.equal(loaded[key][new], source[key][old]), (key, new)
        for new in (2, 4):  # vehicle, background: the model's own rows, no source row
            assert torch.equal(loaded[key][new], initial[key][new])
            assert not any(torch.equal(loaded[key][new], row) for row in source[key])
    others = [key for key in loaded if key not in CLASSIFIERS]
    assert len(others) == len(source) - len(CLASSIFIERS)
    assert all(torch.equal(loaded[key], source[key]) for key in others)


def test_the_same_label_set_loads_every_tensor(converted):
    source = load_checkpoint(converted)["model"]
    model = build_model_from_config(deeplab_model_config("small", 16))
    summary = load_initial_weights(model, str(converted), labels=CITYSCAPES)
    assert summary.startswith(f"init weights: every tensor of {converted} loaded (19 classes")
    assert all(torch.equal(value, source[key]) for key, value in model.state_dict().items())


def test_another_architecture_is_still_refused_with_another_label_set(converted):
    config = deeplab_model_config("small", 16, num_classes=5)
    model = build_model(**{**vars(config), "head_channels": 64})  # classifier in-channels differ
    with pytest.raises(CheckpointError, match=r"do not fit the model") as error:
        load_initial_weights(model, str(converted), labels=FIVE)
    assert "model.* must describe" in str(error.value)


def test_names_match_case_insensitively_and_by_name_not_position():
    swapped = LabelSet(
        (ClassSpec("Person", (1, 2, 3)), ClassSpec("ROAD", (4, 5, 6)), ClassSpec("x", (7, 8, 9)))
    )
    assert same_class_rows(CITYSCAPES, swapped) == {0: 11, 1: 0}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, CLASSIFIERS),
        ({"preset": "torchvision"}, CLASSIFIERS),
        ({"head": "raspp"}, ["head.classifier.weight", "head.classifier.bias"]),
    ],
)
def test_classifier_convs_of_every_head(options, expected):
    backbone = {} if options.get("preset") else {"backbone": "mobilenet_v3_small"}
    model = build_model(num_classes=7, **backbone, **options)
    keys = classifier_keys(model)
    assert sorted(keys) == sorted(expected)
    assert all(model.state_dict()[key].shape[0] == 7 for key in keys)


def _train_config(*argv: str) -> Config:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return resolve_config(parser.parse_args(list(argv)))


def test_the_sources_numerics_and_normalisation_carry_over_and_are_printed(converted):
    config = _train_config("--init-weights", str(converted), "--backbone", "mobilenet_v3_small")
    lines: list[str] = []
    result = inherit_source_numerics(config, announce=lines.append)
    model = result.model
    assert (model.padding, model.align_corners, model.dilation) == ("tf_same", True, "authors")
    assert (model.hard_sigmoid_scale, model.head_bn_eps) == (0.16667, 1e-5)
    assert (model.pool_kernel, model.pool_stride) == ((49, 49), (4, 5))
    assert result.data.mean == (0.5, 0.5, 0.5) and result.data.std == (0.5, 0.5, 0.5)
    assert result.model.backbone == "mobilenet_v3_small" and result.train == config.train
    assert (
        f"init weights: model.padding = 'tf_same' as in {converted} (the default is 'symmetric')"
        in lines
    )
    assert (
        f"init weights: data.mean = (0.5, 0.5, 0.5) as in {converted} (the default is"
        in "\n".join(lines)
    )
    carried = ["padding", "align_corners", "hard_sigmoid_scale", "head_bn_eps", "dilation"]
    carried += ["pool_kernel", "pool_stride"]
    assert len(lines) == len(carried) + 2  # one line per difference, nothing else differs
    assert all(any(f"model.{name} = " in line for line in lines) for name in carried)
    assert config.model.padding == "symmetric"  # the given config is not modified


def test_an_explicit_setting_wins_and_the_difference_is_printed(converted):
    config = _train_config(
        "--init-weights",
        str(converted),
        "--set",
        "model.backbone=mobilenet_v3_small",
        "--set",
        "model.padding=symmetric",
        "--set",
        "data.std=[0.25,0.25,0.25]",
        "--set",
        "model.output_stride=32",
    )
    lines: list[str] = []
    result = inherit_source_numerics(config, announce=lines.append)
    assert result.model.padding == "symmetric" and result.data.std == (0.25, 0.25, 0.25)
    assert result.model.align_corners is True and result.data.mean == (0.5, 0.5, 0.5)
    text = "\n".join(lines)
    assert f"model.padding = 'symmetric' as set; {converted} was trained with 'tf_same'" in text
    assert f"data.std = (0.25, 0.25, 0.25) as set; {converted} was trained with (0.5" in text
    assert f"model.output_stride = 32 as set; {converted} was trained with 16" in text
    # the kernel is the crop's feature size at the source's stride: not carried to OS 32
    assert result.model.pool_kernel is None and "model.pool_kernel = None: not carried" in text


def test_a_yaml_file_setting_counts_as_explicit(converted, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  backbone: mobilenet_v3_small\n  align_corners: false\n")
    config = load_config(path, [f"model.init_weights={converted}"])
    assert {"model.align_corners", "model.init_weights"} <= explicit_keys(config)
    result = inherit_source_numerics(config, announce=None)
    assert result.model.align_corners is False and result.model.padding == "tf_same"
    assert result.explicit_keys == config.explicit_keys


def test_a_config_built_in_code_counts_non_default_values_as_set():
    config = Config.from_dict({"model": {"padding": "tf_same"}, "train": {"iterations": 5}})
    assert config.explicit_keys is None
    assert explicit_keys(config) == {"model.padding", "train.iterations"}


def test_nothing_changes_without_init_weights_or_from_a_bare_state_dict(tmp_path):
    config = load_config(None, ["model.backbone=mobilenet_v3_small"])
    assert inherit_source_numerics(config, announce=None) is config
    bare = tmp_path / "bare.pt"
    save_checkpoint(build_model(backbone="mobilenet_v3_small").state_dict(), bare)
    config = load_config(None, ["model.backbone=mobilenet_v3_small", f"model.init_weights={bare}"])
    lines: list[str] = []
    assert inherit_source_numerics(config, announce=lines.append) is config
    assert lines == [
        f"init weights: {bare} is a bare state dict without a config: no numerics or "
        "normalisation to carry over; the run's model.* and data.mean/std apply"
    ]
