"""The library API: load a checkpoint, segment an RGB image. What a user embeds in a program.

    model = segmnv3.load_model("runs/row08/best.pt")
    labels = segmnv3.segment(model, rgb)   # (H, W) uint8 train ids, at the image's size

The model carries its checkpoint's data section (``model.data_config``), so ``segment``
normalises exactly as the model was trained (ImageNet statistics, or e.g. the authors'
``2/255 * x - 1`` for converted DeepLab weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segmnv3.data.config import DataConfig
from segmnv3.deploy.inference.preprocess import resize_labels, to_input
from segmnv3.deploy.inference.sizing import network_size
from segmnv3.deploy.inference.upsample_labels import labels_from_logits
from segmnv3.deploy.model import load_deploy_model

if TYPE_CHECKING:
    import torch


def load_model(path: str | Path, *, device: str = "cpu") -> torch.nn.Module:
    """A segmnv3 checkpoint as a model in eval mode, with its data config attached.

    Args:
        path: a checkpoint written by ``segmnv3 train`` or ``segmnv3 convert-deeplab``.
        device: torch device to put the model on.

    Returns:
        The network (``Segmenter``); ``model.data_config`` is the checkpoint's
        ``DataConfig`` (normalisation, evaluation geometry) and ``model.labels`` its
        ``LabelSet``: ``model.labels.names[i]`` and ``model.labels.colors[i]`` (RGB) name
        and colour train id ``i`` of what ``segment`` returns.

    Raises:
        CheckpointError: a missing, unsafe or unreadable file, or one without a config.
    """
    loaded = load_deploy_model(path)
    model = loaded.module.to(device).eval()
    model.data_config = loaded.data
    model.labels = loaded.labels
    return model


def segment(
    model: torch.nn.Module, image: np.ndarray, *, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Train-id label map of one RGB image, at the image's own size.

    Args:
        model: from ``load_model`` (or any segmnv3 model; without ``data_config`` the
            default ImageNet normalisation is used).
        image: (H, W, 3) uint8 RGB array of any size: smaller than 32 px is resized up to
            the network's minimum, larger than 2048x2048 (4.2 MP) down to that many pixels
            (``deploy.inference.sizing``: memory grows with the pixels), and the labels
            resized back.
        size: optional (h, w) to run the network at (e.g. (512, 1024) for speed).

    The labels are the argmax of the network's stride-8 logits upsampled bilinearly to
    (H, W) (``labels_from_logits``: exact, without the upsampled logits).

    Returns:
        (H, W) uint8 array of train ids ``0..N-1`` (``model.labels.names`` names them).

    Raises:
        ValueError: an image that is not (H, W, 3) uint8, or has no pixels.
    """
    import torch

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(
            "segment() takes an (H, W, 3) uint8 RGB numpy array, got " + _describe(image)
        )
    if image.shape[2] != 3:
        raise ValueError(f"segment() takes 3-channel RGB images, got shape {image.shape}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"segment() got an empty image of shape {image.shape}; pass a photo")
    size = network_size((height, width), size)[0]
    data = getattr(model, "data_config", None) or DataConfig()
    batch = to_input(np.ascontiguousarray(image[..., ::-1]), size, data)  # BGR in, as OpenCV
    parameter = next(model.parameters())
    x = torch.from_numpy(batch).to(parameter.device, parameter.dtype)
    with torch.no_grad():
        if not hasattr(model, "head_logits"):  # not a Segmenter: argmax, then nearest
            labels = model(x)[0].argmax(0).to(torch.uint8).cpu().numpy()  # (h, w)
            return resize_labels(labels, (height, width))
        logits = model.head_logits(x)[0].float().cpu().numpy()  # (C, h/8, w/8)
    align_corners = bool(getattr(model, "align_corners", False))
    return labels_from_logits(logits, (height, width), align_corners=align_corners)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__
