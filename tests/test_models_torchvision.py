"""torchvision state dicts load into our modules and give the same numbers (random weights)."""

from functools import partial

import pytest
import torch
import torchvision
from torch import nn

from segmnv3 import build_model
from segmnv3.core.errors import CheckpointError
from segmnv3.models.mobilenetv2 import mobilenet_v2_backbone
from segmnv3.models.mobilenetv3 import mobilenet_v3_backbone
from segmnv3.models.pretrained import load_imagenet_backbone, load_torchvision_lraspp


def _randomise_norm_statistics(model):
    """Random running stats, so that a wrongly mapped BatchNorm cannot go unnoticed."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.rand(module.num_features, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


class _Holder(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone


FAMILIES = {
    # family: (torchvision classifier, our equivalent backbone, layers of torchvision's features)
    "mobilenet_v3_large": (
        torchvision.models.mobilenet_v3_large,
        lambda: mobilenet_v3_backbone("large", output_stride=32, rf2=False),
        17,
    ),
    "mobilenet_v3_small": (
        torchvision.models.mobilenet_v3_small,
        lambda: mobilenet_v3_backbone("small", output_stride=32, rf2=False),
        13,
    ),
    # torchvision's V2 uses PyTorch's default BatchNorm eps (1e-5) and ends with a 1280 conv.
    "mobilenet_v2": (
        torchvision.models.mobilenet_v2,
        lambda: mobilenet_v2_backbone(
            output_stride=32, rf2=False, norm_layer=partial(nn.BatchNorm2d, eps=1e-5)
        ),
        18,
    ),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_imagenet_backbone_round_trip(family, tmp_path):
    torch.manual_seed(0)
    make_theirs, make_ours, layers = FAMILIES[family]
    theirs = _randomise_norm_statistics(make_theirs())
    path = tmp_path / f"{family}.pth"
    torch.save(theirs.state_dict(), path)
    ours = _Holder(make_ours())
    assert load_imagenet_backbone(ours, path, family) == []
    ours.eval()
    x = torch.randn(2, 3, 97, 131)
    with torch.no_grad():
        torch.testing.assert_close(
            ours.backbone(x)["high"], theirs.features[:layers](x), rtol=0, atol=1e-5
        )


def test_rf2_mismatches_are_listed_and_keep_their_init(tmp_path):
    path = tmp_path / "large.pth"
    torch.save(torchvision.models.mobilenet_v3_large().state_dict(), path)
    torch.manual_seed(0)
    model = build_model(backbone="mobilenet_v3_large", rf2=True)
    before = model.backbone.blocks[12].project[0].weight.clone()
    skipped = load_imagenet_backbone(model, path, "mobilenet_v3_large")
    assert any(s.startswith("blocks.12.expand.0.weight") for s in skipped)
    assert any(s.startswith("last_conv.0.weight") for s in skipped)
    assert not any(s.startswith("blocks.11.") for s in skipped)  # untouched stages load fully
    torch.testing.assert_close(model.backbone.blocks[12].project[0].weight, before)


def test_torchvision_lraspp_preset_loads_strictly_and_matches_logits():
    torch.manual_seed(0)
    theirs = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21
    )
    theirs = _randomise_norm_statistics(theirs)
    ours = build_model(preset="torchvision", num_classes=21)
    load_torchvision_lraspp(ours, theirs.state_dict())
    ours.eval()
    x = torch.randn(2, 3, 97, 131)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x)["out"], rtol=0, atol=1e-5)


def test_torchvision_preset_refuses_a_state_dict_that_does_not_fit():
    state = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21
    ).state_dict()
    with pytest.raises(CheckpointError, match="does not match"):
        load_torchvision_lraspp(build_model(preset="torchvision", num_classes=19), state)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        build_model(pretrained_backbone=str(tmp_path / "nope.pth"))
