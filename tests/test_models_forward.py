"""Every backbone x head x output stride x RF2 combination runs at any input size and trains."""

import itertools

import pytest
import torch

from segmnv3 import build_model

BACKBONES = ["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v2"]
COMBOS = list(itertools.product(BACKBONES, ["lraspp", "raspp"], [16, 32], [True, False]))


def _ids(combo):
    backbone, head, output_stride, rf2 = combo
    return f"{backbone}-{head}-os{output_stride}-{'rf2' if rf2 else 'full'}"


@pytest.mark.parametrize("combo", COMBOS, ids=[_ids(c) for c in COMBOS])
def test_output_shape_and_gradients(combo):
    backbone, head, output_stride, rf2 = combo
    torch.manual_seed(0)
    model = build_model(
        backbone=backbone, head=head, output_stride=output_stride, rf2=rf2, num_classes=19
    )

    model.eval()
    with torch.no_grad():
        for size in [(512, 1024), (33, 65)]:
            logits = model(torch.randn(1, 3, *size))
            assert logits.shape == (1, 19, *size)
            assert torch.isfinite(logits).all()

    # Training mode at an odd size (97x131: not a multiple of 8, 16 or 32); batch 2 because
    # R-ASPP's pooled branch has BatchNorm on a 1x1 map.
    model.train()
    logits = model(torch.randn(2, 3, 97, 131))
    assert logits.shape == (2, 19, 97, 131)
    logits.square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} received no gradient"
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.25])
@pytest.mark.parametrize("backbone", ["mobilenet_v3_large", "mobilenet_v3_small"])
def test_width_multipliers(backbone, width):
    model = build_model(backbone=backbone, width_mult=width).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 96)).shape == (1, 19, 64, 96)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"backbone": "resnet50"}, "backbone"),
        ({"head": "aspp"}, "head"),
        ({"output_stride": 8}, "output_stride"),
        ({"pooling": "max"}, "pooling"),
        ({"gate": "relu"}, "gate"),
        ({"width_mult": 0.6}, "width_mult"),
        ({"preset": "timm"}, "preset"),
    ],
)
def test_invalid_arguments_name_the_argument_and_allowed_values(kwargs, argument):
    with pytest.raises(ValueError, match=rf"{argument}=.*allowed values: \["):
        build_model(**kwargs)


def test_too_small_input_is_a_clear_error():
    model = build_model(backbone="mobilenet_v3_small").eval()
    with pytest.raises(ValueError, match="H, W >= 32"):
        model(torch.randn(1, 3, 31, 64))
