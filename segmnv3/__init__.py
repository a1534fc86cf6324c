"""segmnv3: MobileNetV3 backbones with the LR-ASPP head (Howard et al. 2019) for Cityscapes.

Public API::

    model = segmnv3.build_model(backbone="mobilenet_v3_large", head="lraspp")
    stats = segmnv3.profile(model, (1024, 2048))   # stats.params, stats.madds

    model = segmnv3.load_model("runs/row08/best.pt")   # eval mode, model.data_config
    labels = segmnv3.segment(model, rgb_uint8)          # (H, W) train ids at the image size

The names are imported lazily so that ``segmnv3 --help`` does not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["build_model", "build_model_from_config", "load_model", "profile", "segment"]

_LAZY = {
    "build_model": "segmnv3.models.segmenter",
    "build_model_from_config": "segmnv3.models.segmenter",
    "profile": "segmnv3.models.profile",
    "load_model": "segmnv3.deploy.segment",
    "segment": "segmnv3.deploy.segment",
}

if TYPE_CHECKING:
    from segmnv3.deploy.segment import load_model, segment
    from segmnv3.models.profile import profile
    from segmnv3.models.segmenter import build_model, build_model_from_config


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'segmnv3' has no attribute {name!r}")
