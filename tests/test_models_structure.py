"""Feature taps, strides and channel counts as docs/SPEC.md sections 1-2 pin them down."""

import pytest
import torch

from segmnv3 import build_model
from segmnv3.models.layers import make_divisible

# (backbone, rf2) -> (low channels at stride 8, high channels)
CHANNELS = {
    ("mobilenet_v3_large", False): (120, 960),
    ("mobilenet_v3_large", True): (120, 480),
    ("mobilenet_v3_small", False): (88, 576),
    ("mobilenet_v3_small", True): (88, 288),
    ("mobilenet_v2", False): (192, 320),
    ("mobilenet_v2", True): (192, 160),
}


@pytest.mark.parametrize("output_stride", [16, 32])
@pytest.mark.parametrize(("backbone", "rf2"), list(CHANNELS))
def test_skip_at_stride_8_and_high_at_output_stride(backbone, rf2, output_stride):
    model = build_model(backbone=backbone, rf2=rf2, output_stride=output_stride).eval()
    with torch.no_grad():
        features = model.backbone(torch.randn(1, 3, 256, 512))
    low_channels, high_channels = CHANNELS[(backbone, rf2)]
    assert features["low"].shape == (1, low_channels, 256 // 8, 512 // 8)
    assert features["high"].shape == (1, high_channels, 256 // output_stride, 512 // output_stride)
    assert model.backbone.output_stride == output_stride


def test_rf2_large_halves_block_13_expansion_unlike_torchvision():
    blocks = build_model(backbone="mobilenet_v3_large", rf2=True).backbone.blocks
    assert [(b.expanded_channels, b.out_channels) for b in blocks[12:]] == [
        (336, 80),
        (480, 80),
        (480, 80),
    ]
    full = build_model(backbone="mobilenet_v3_large", rf2=False).backbone.blocks
    assert [(b.expanded_channels, b.out_channels) for b in full[12:]] == [
        (672, 160),
        (960, 160),
        (960, 160),
    ]


def test_rf2_small_and_v2_tables():
    small = build_model(backbone="mobilenet_v3_small", rf2=True).backbone
    assert [(b.expanded_channels, b.out_channels) for b in small.blocks[8:]] == [
        (144, 48),
        (288, 48),
        (288, 48),
    ]
    assert small.last_conv.out_channels == 288
    v2 = build_model(backbone="mobilenet_v2", rf2=True).backbone
    # 160-stage: 96 -> 80 (expansion 6 x 96), 80 -> 80 (6 x 80) twice; then 80 -> 160.
    assert [(b.expanded_channels, b.out_channels) for b in v2.blocks[13:]] == [
        (576, 80),
        (480, 80),
        (480, 80),
        (480, 160),
    ]


def test_output_stride_16_dilates_the_last_stage_only():
    blocks = build_model(backbone="mobilenet_v3_large", output_stride=16).backbone.blocks
    dilations = [b.depthwise[0].dilation[0] for b in blocks]
    strides = [b.depthwise[0].stride[0] for b in blocks]
    assert dilations == [1] * 12 + [2, 2, 2]
    assert strides[12] == 1 and strides.count(2) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [(16 * 0.35, 8), (72 * 0.35, 24), (960 * 0.75, 720), (40 * 1.25, 48), (11.2, 16)],
)
def test_make_divisible_matches_the_reference_rule(value, expected):
    assert make_divisible(value) == expected


def test_squeeze_channels_are_a_quarter_of_the_expansion_rounded_to_8():
    block = build_model(backbone="mobilenet_v3_large").backbone.blocks[3]  # k5, exp 72, SE
    assert block.se.fc1.out_channels == 24  # make_divisible(72 / 4 = 18) == 24
