"""Converting the authors' DeepLab MobileNetV3 checkpoints onto our RF2 LR-ASPP models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_models_deeplab_reader import variables, write_bundle

from segmnv3.core.checkpoint import load_weights
from segmnv3.core.errors import CheckpointError
from segmnv3.models.deeplab import convert_deeplab, read_tf_checkpoint
from segmnv3.models.deeplab.convert import build_deeplab_model, name_map

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "deeplab_small" / "model.ckpt"
LARGE_VARIABLES = FIXTURES / "deeplab_large" / "variables.txt"


@pytest.fixture(scope="module")
def small():
    return convert_deeplab(SMALL, "small")


@pytest.fixture(scope="module")
def large_checkpoint(tmp_path_factory) -> Path:
    """A Large checkpoint with the authors' variable names and shapes, random values."""
    rng = np.random.default_rng(0)
    tensors = {
        name: rng.standard_normal(shape).astype(dtype)
        for name, (shape, dtype) in variables(LARGE_VARIABLES).items()
    }
    tensors["global_step"] = np.array(1000, np.int64)
    prefix = tmp_path_factory.mktemp("deeplab_large") / "model.ckpt"
    write_bundle(prefix, tensors)
    return prefix


@pytest.mark.parametrize("output_stride", [32, 16])
def test_small_fills_every_tensor_of_our_model_strictly(small, output_stride):
    model = build_deeplab_model("small", output_stride=output_stride)
    assert set(small.state_dict) == set(model.state_dict())
    load_weights(model, small.state_dict, source="converted small")
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, small.state_dict[key]), key
    assert small.ignored == ["global_step"]
    assert small.variant == "small"


def test_the_map_names_every_model_variable_once():
    for variant, count in (("small", 217), ("large", 273)):
        names = [name for name in name_map(variant).values() if name is not None]
        assert len(names) == len(set(names)) == count
    assert set(name_map("large").values()) - {None} == set(variables(LARGE_VARIABLES))


def test_kernels_are_transposed_by_hand_checked_elements(small):
    tensors = read_tf_checkpoint(SMALL)
    stem = tensors["MobilenetV3/Conv/weights"]  # (H, W, in, out) = (3, 3, 3, 16)
    ours = small.state_dict["backbone.stem.0.weight"]  # (out, in, H, W)
    assert ours.shape == (16, 3, 3, 3)
    assert ours[5, 2, 0, 1].item() == stem[0, 1, 2, 5]
    assert np.array_equal(ours.numpy(), stem.transpose(3, 2, 0, 1))
    depthwise = tensors["MobilenetV3/expanded_conv_3/depthwise/depthwise_weights"]  # (5, 5, 96, 1)
    ours = small.state_dict["backbone.blocks.3.depthwise.0.weight"]  # (96, 1, 5, 5)
    assert ours.shape == (96, 1, 5, 5)
    assert ours[70, 0, 4, 1].item() == depthwise[4, 1, 70, 0]
    gamma = tensors["MobilenetV3/expanded_conv_3/expand/BatchNorm/moving_variance"]
    assert np.array_equal(small.state_dict["backbone.blocks.3.expand.1.running_var"], gamma)
    head = tensors["decoder/feature_projection0/weights"]  # (1, 1, 88, 19)
    assert np.array_equal(small.state_dict["head.low_classifier.weight"][:, :, 0, 0], head[0, 0].T)


def test_small_converted_as_large_names_a_tensor_and_the_right_variant():
    with pytest.raises(CheckpointError) as error:
        convert_deeplab(SMALL, "large")
    message = str(error.value)
    assert "MobileNetV3-large" in message
    assert "MobilenetV3/expanded_conv_1/expand/weights has shape [1, 1, 16, 72]" in message
    assert "use variant='small'" in message


def test_large_converts_strictly_and_as_small_fails(large_checkpoint):
    converted = convert_deeplab(large_checkpoint, "large")
    assert converted.ignored == ["global_step"]
    model = build_deeplab_model("large", output_stride=16)
    load_weights(model, converted.state_dict, source="converted large")
    params = sum(p.numel() for p in model.parameters())
    assert params == 1_507_198  # the authors' graph: 1,507,198 trainable parameters
    with pytest.raises(CheckpointError, match="use variant='large'"):
        convert_deeplab(large_checkpoint, "small")


def test_training_state_is_listed_and_unknown_variables_are_refused(tmp_path):
    tensors = read_tf_checkpoint(SMALL)
    slots = ["aspp0/weights/Momentum", "image_pooling/biases/ExponentialMovingAverage"]
    write_bundle(
        tmp_path / "slots", tensors | {name: tensors[name.rsplit("/", 1)[0]] for name in slots}
    )
    assert convert_deeplab(tmp_path / "slots", "small").ignored == sorted(["global_step", *slots])
    write_bundle(tmp_path / "extra", tensors | {"aspp1/weights": tensors["aspp0/weights"]})
    with pytest.raises(CheckpointError, match="aspp1/weights is not used by this layout"):
        convert_deeplab(tmp_path / "extra", "small")


def test_a_missing_variable_is_named(tmp_path):
    tensors = read_tf_checkpoint(SMALL)
    del tensors["image_pooling/biases"]
    write_bundle(tmp_path / "model.ckpt", tensors)
    with pytest.raises(
        CheckpointError, match=r"image_pooling/biases \(for our head.gate_conv.bias\) is missing"
    ):
        convert_deeplab(tmp_path / "model.ckpt", "small")


def test_an_unknown_variant_is_a_value_error():
    with pytest.raises(ValueError, match="variant must be one of"):
        convert_deeplab(SMALL, "medium")
