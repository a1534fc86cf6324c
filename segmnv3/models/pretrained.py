"""Loading torchvision's published state-dict files into our models.

Our modules have their own names (``stem``, ``blocks.N.depthwise``, ``head.gate_conv``);
this module maps torchvision's keys onto them. Under RF2 or a changed width some
tensors cannot fit: they are listed (never silently dropped) and left at their init.
Nothing is downloaded unless ``download_torchvision_weights`` is called explicitly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from segmnv3.core.checkpoint import load_checkpoint
from segmnv3.core.errors import CheckpointError
from segmnv3.models.backbone import MobileNetBackbone

log = logging.getLogger(__name__)

# File names torchvision publishes (the ImageNet classifiers and the COCO-VOC LR-ASPP).
TORCHVISION_URLS = {
    "mobilenet_v3_large": "https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth",
    "mobilenet_v3_small": "https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth",
    "mobilenet_v2": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
    "lraspp_mobilenet_v3_large": "https://download.pytorch.org/models/lraspp_mobilenet_v3_large-d234d4ea.pth",
}


def torchvision_backbone_keys(backbone: MobileNetBackbone, family: str) -> dict[str, str]:
    """Map each of our backbone state-dict keys to torchvision's ``features.*`` key.

    Args:
        backbone: our encoder.
        family: "mobilenet_v3_large", "mobilenet_v3_small" or "mobilenet_v2" (torchvision
            nests V3 blocks as ``features.i.block.j`` and V2 blocks as ``features.i.conv.j``,
            with V2's projection conv and norm as two separate children).
    """
    mapping: dict[str, str] = {}
    for key in backbone.state_dict():
        module, _, rest = key.partition(".")
        if module == "stem":
            mapping[key] = f"features.0.{rest}"
        elif module == "last_conv":
            mapping[key] = f"features.{len(backbone.blocks) + 1}.{rest}"
        else:  # blocks.<i>.<part>.<suffix>
            index, part, suffix = rest.split(".", 2)
            block = backbone.blocks[int(index)]
            parts = [
                p for p in ("expand", "depthwise", "se", "project") if getattr(block, p) is not None
            ]
            position = parts.index(part)
            prefix = f"features.{int(index) + 1}"
            if family == "mobilenet_v2":
                if part == "project":  # torchvision V2: conv.<k> = conv, conv.<k+1> = norm
                    child, name = suffix.split(".", 1)
                    mapping[key] = f"{prefix}.conv.{position + int(child)}.{name}"
                else:
                    mapping[key] = f"{prefix}.conv.{position}.{suffix}"
            else:
                mapping[key] = f"{prefix}.block.{position}.{suffix}"
    return mapping


def torchvision_lraspp_keys(model: nn.Module) -> dict[str, str]:
    """Map the ``torchvision`` preset's keys to ``lraspp_mobilenet_v3_large``'s."""
    head_names = {
        "high_branch": "cbr",
        "gate_conv": "scale.1",
        "low_classifier": "low_classifier",
        "high_classifier": "high_classifier",
    }
    mapping = {
        f"backbone.{ours}": f"backbone.{theirs.removeprefix('features.')}"
        for ours, theirs in torchvision_backbone_keys(model.backbone, "mobilenet_v3_large").items()
    }
    for key in model.head.state_dict():
        module, _, rest = key.partition(".")
        mapping[f"head.{key}"] = f"classifier.{head_names[module]}.{rest}"
    return mapping


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state-dict file safely (``weights_only=True``) with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"weights file {path} does not exist; pass the path of a downloaded .pth file "
            "(see README: 'Pretrained weights')"
        )
    state = load_checkpoint(path)  # safe: weights_only, "not a checkpoint", truncated files
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict")
    return state


def load_mapped(
    module: nn.Module, state: dict[str, torch.Tensor], mapping: dict[str, str]
) -> list[str]:
    """Copy ``state[mapping[k]]`` into ``module``'s tensor ``k`` where the shapes fit.

    Returns the keys that were NOT loaded (missing in ``state`` or of another shape).
    """
    own = module.state_dict()
    loaded, skipped = {}, []
    for ours, theirs in mapping.items():
        tensor = state.get(theirs)
        if tensor is None or tensor.shape != own[ours].shape:
            shape = None if tensor is None else tuple(tensor.shape)
            skipped.append(f"{ours} <- {theirs}: file {shape} vs model {tuple(own[ours].shape)}")
        else:
            loaded[ours] = tensor
    module.load_state_dict(loaded, strict=False)
    return skipped


def load_imagenet_backbone(model: nn.Module, path: str | Path, family: str) -> list[str]:
    """Initialise ``model.backbone`` from a torchvision ImageNet (or LR-ASPP) state-dict file.

    Mismatched tensors (RF2, other widths) are logged and left at their init.

    Returns:
        Descriptions of the tensors that were not loaded.
    """
    state = read_state_dict(path)
    if any(
        k.startswith("backbone.") for k in state
    ):  # an LR-ASPP file: backbone.<i> == features.<i>
        state = {f"features.{k.removeprefix('backbone.')}": v for k, v in state.items()}
    mapping = torchvision_backbone_keys(model.backbone, family)
    used = set(mapping.values())
    if not used & set(state):
        raise CheckpointError(
            f"{path} holds no torchvision {family} backbone keys (features.*); is it the right file?"
        )
    skipped = load_mapped(model.backbone, state, mapping)
    if skipped:
        log.warning(
            "%d of %d backbone tensors in %s do not fit (RF2 or width) and keep their init:\n  %s",
            len(skipped),
            len(mapping),
            path,
            "\n  ".join(skipped),
        )
    return skipped


def load_torchvision_lraspp(model: nn.Module, path_or_state: str | Path | dict) -> None:
    """Load a torchvision ``lraspp_mobilenet_v3_large`` state dict into the ``torchvision``
    preset, strictly: every tensor must be used and fit."""
    state = path_or_state if isinstance(path_or_state, dict) else read_state_dict(path_or_state)
    mapping = torchvision_lraspp_keys(model)
    extra = sorted(set(state) - set(mapping.values()))
    skipped = load_mapped(model, state, mapping)
    if skipped or extra:
        raise CheckpointError(
            "state dict does not match build_model(preset='torchvision'): "
            f"not loaded {skipped[:5]}, unused {extra[:5]}"
        )


def download_torchvision_weights(name: str, directory: str | Path = "weights") -> Path:
    """Download one of ``TORCHVISION_URLS`` (only when the user asks); clear error offline."""
    if name not in TORCHVISION_URLS:
        raise CheckpointError(f"unknown weights {name!r}; known: {sorted(TORCHVISION_URLS)}")
    url = TORCHVISION_URLS[name]
    target = Path(directory) / url.rsplit("/", 1)[-1]
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(target), progress=True)
    except Exception as error:
        raise CheckpointError(
            f"could not download {url} ({error}). Offline? Download it elsewhere and pass "
            f"the file path instead (e.g. --set model.pretrained_backbone={target})"
        ) from None
    return target
