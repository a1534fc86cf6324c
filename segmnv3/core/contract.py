"""The data contract: what every producer and consumer of images, labels and logits agrees on.

Defined once here; the model, the data pipeline, training, evaluation and every deploy
runtime read these names (and a checkpoint's ``data`` section for normalisation and
evaluation geometry, and its label set for the classes: ``segmnv3.core.label_set``),
never a literal of their own.
"""

from __future__ import annotations

IGNORE_INDEX = 255
"""Label value of void pixels: never scored, never a training target."""

MIN_INPUT_SIZE = 32
"""Smallest input height/width: the network's total stride (OS 32 has a 1x1 map there)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Default per-channel normalisation of RGB images scaled to [0, 1]."""


def check_input_size(height: int, width: int, *, what: str = "input") -> None:
    """ValueError unless both sides are at least ``MIN_INPUT_SIZE``."""
    if height < MIN_INPUT_SIZE or width < MIN_INPUT_SIZE:
        raise ValueError(
            f"{what} is {height}x{width}; height and width must be >= {MIN_INPUT_SIZE} "
            f"(the network's total stride). Resize it up first."
        )


EVAL_SCALE_RANGE = (0.25, 4.0)
"""Test-time scale factors evaluation accepts: below 1/4 the network sees a few pixels,
above 4 a 1024x2048 frame becomes 4096x8192."""
