"""The model family: MobileNetV2/V3 backbones, LR-ASPP / R-ASPP heads, the segmenter.

Imports only ``segmnv3.core`` and itself. ``config.ModelConfig`` holds (and validates) every
option; ``segmenter.build_model_from_config`` builds it; ``loading.load_model`` reads a
checkpoint; ``profile`` counts params and MAdds.
"""
