"""The library API: segmnv3.load_model + segmnv3.segment normalise as the checkpoint says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import segmnv3
from segmnv3.core.checkpoint import save_checkpoint
from segmnv3.engine.config import Config
from segmnv3.models.config import ModelConfig
from segmnv3.models.segmenter import build_model_from_config


@pytest.fixture
def checkpoint(tmp_path):
    """A random V3-Small row-11 model saved with the authors' normalisation (mean/std 0.5)."""
    config = Config(model=ModelConfig(backbone="mobilenet_v3_small", pooling="global"))
    config.data.mean, config.data.std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    torch.manual_seed(0)
    model = build_model_from_config(config.model).eval()
    path = tmp_path / "model.pt"
    save_checkpoint({"model": model.state_dict(), "config": config.to_dict()}, path)
    return path, model


def _labels(model, rgb: np.ndarray, mean: float, std: float) -> np.ndarray:
    x = (rgb.astype(np.float32) / 255.0 - mean) / std  # (H, W, 3)
    with torch.no_grad():
        logits = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
    return logits[0].argmax(0).numpy().astype(np.uint8)


def test_segment_uses_the_checkpoints_normalisation_at_the_image_size(checkpoint):
    path, reference = checkpoint
    model = segmnv3.load_model(path)
    assert not model.training and model.data_config.mean == (0.5, 0.5, 0.5)
    rgb = np.random.default_rng(0).integers(0, 256, (67, 101, 3), dtype=np.uint8)

    labels = segmnv3.segment(model, rgb)

    assert labels.shape == (67, 101) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, _labels(reference, rgb, 0.5, 0.5))
    # a checkpoint from before label sets were stored is Cityscapes, outputs unchanged
    from segmnv3.core.cityscapes_labels import CITYSCAPES

    assert model.labels is CITYSCAPES and model.labels.names[13] == "car"


def test_load_model_names_and_colours_the_classes_of_a_stored_label_set(tmp_path):
    from segmnv3.core.label_set import ClassSpec, LabelSet

    labels = LabelSet(
        (ClassSpec("floor", (1, 2, 3)), ClassSpec("shelf", (4, 5, 6)), ClassSpec("bot", (7, 8, 9))),
        name="warehouse",
    )
    config = Config(model=ModelConfig(backbone="mobilenet_v3_small", num_classes=3))
    model = build_model_from_config(config.model)
    state = {"model": model.state_dict(), "config": config.to_dict(), "labels": labels.to_dict()}
    save_checkpoint(state, tmp_path / "three.pt")
    loaded = segmnv3.load_model(tmp_path / "three.pt")
    assert loaded.labels == labels and loaded.labels.names[2] == "bot"
    assert loaded.labels.colors[1].tolist() == [4, 5, 6]
    rgb = np.zeros((40, 48, 3), dtype=np.uint8)
    assert segmnv3.segment(loaded, rgb).max() < 3


def test_segment_normalises_with_the_models_data_config():
    """A 1x1-conv "network" whose label is 1 where the normalised red channel is < 0."""
    from segmnv3.data.config import DataConfig

    model = torch.nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
        model.weight[1, 0] = -1.0  # logit 1 = -red: wins when red is below the mean
    rgb = np.full((40, 48, 3), 125, dtype=np.uint8)  # between 0.485 * 255 and 0.5 * 255
    assert (segmnv3.segment(model, rgb) == 0).all()  # ImageNet mean: 125 > 123.7
    model.data_config = DataConfig(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert (segmnv3.segment(model, rgb) == 1).all()  # authors' mean: 125 < 127.5


def test_segment_takes_images_smaller_than_the_network_minimum(checkpoint):
    model = segmnv3.load_model(checkpoint[0])
    rgb = np.full((20, 30, 3), 128, dtype=np.uint8)
    assert segmnv3.segment(model, rgb).shape == (20, 30)
    assert segmnv3.segment(model, np.zeros((40, 64, 3), np.uint8), size=(64, 128)).shape == (40, 64)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((40, 40, 3), np.float32), "uint8 RGB"),
        (np.zeros((40, 40), np.uint8), "uint8 RGB"),
        (np.zeros((40, 40, 4), np.uint8), "3-channel"),
    ],
)
def test_segment_refuses_what_is_not_an_rgb_uint8_image(checkpoint, image, message):
    model = segmnv3.load_model(checkpoint[0])
    with pytest.raises(ValueError, match=message):
        segmnv3.segment(model, image)
