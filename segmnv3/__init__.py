"""segmnv3: MobileNetV3 backbones with the LR-ASPP head (Howard et al. 2019) for Cityscapes.

Public API::

    model = segmnv3.build_model(backbone="mobilenet_v3_large", head="lraspp")
    stats = segmnv3.profile(model, (1024, 2048))   # stats.params, stats.madds
"""

from segmnv3.models.profile import profile
from segmnv3.models.segmenter import build_model, build_model_from_config

__all__ = ["build_model", "build_model_from_config", "profile"]
__version__ = "0.1.0"
