"""The converted oracle checkpoint computes the authors' TensorFlow graph (reference.npz).

``tests/fixtures/deeplab_small`` holds a MobileNetV3-Small DeepLab checkpoint with random
weights and the outputs of the authors' own code on it (see its README in the oracle):
the stride-8 logits before the final upsampling and the labels after it, at OS 32 and 16.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from segmnv3.models.deeplab import convert_deeplab
from segmnv3.models.deeplab.convert import build_deeplab_model
from segmnv3.models.layers import resize
from segmnv3.models.segmenter import build_model

FIXTURE = Path(__file__).parent / "fixtures" / "deeplab_small"
SIZE = 800  # even: TF SAME padding differs from PyTorch's on every strided conv


@pytest.fixture(scope="module")
def reference():
    return np.load(FIXTURE / "reference.npz")


@pytest.fixture(scope="module")
def weights():
    return convert_deeplab(FIXTURE / "model.ckpt", "small").state_dict


def _authors_input() -> torch.Tensor:
    pixels = np.random.RandomState(0).randint(0, 256, (1, SIZE, SIZE, 3)).astype(np.uint8)
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1  # the graph's 2/255x-1


@pytest.mark.parametrize("output_stride", [32, 16])
def test_stride_8_logits_and_labels_match_the_authors_graph(reference, weights, output_stride):
    model = build_deeplab_model("small", output_stride=output_stride).eval()
    model.load_state_dict(weights)
    x = _authors_input()
    with torch.no_grad():
        lowres = model.head(model.backbone(x))  # (1, 19, 100, 100)
        labels = resize(lowres, (SIZE, SIZE), align_corners=True).argmax(1)
        full = model(x)
    theirs = reference[f"lowres_os{output_stride}_{SIZE}x{SIZE}"]  # (1, 100, 100, 19) NHWC
    ours = lowres.permute(0, 2, 3, 1).numpy()
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-4
    expected = reference[f"labels_os{output_stride}_{SIZE}x{SIZE}"]
    assert (labels.numpy() == expected).mean() >= 0.9999
    assert torch.equal(full.argmax(1), labels)  # the model's own upsampling is the authors'


def test_our_default_numerics_do_not_match(reference, weights):
    """The five options matter: the default model on the same weights is far off."""
    plain = build_model(backbone="mobilenet_v3_small", output_stride=32).eval()
    plain.load_state_dict(weights)
    with torch.no_grad():
        lowres = plain.head(plain.backbone(_authors_input()))
    difference = np.abs(lowres.permute(0, 2, 3, 1).numpy() - reference["lowres_os32_800x800"])
    assert difference.max() > 1.0
