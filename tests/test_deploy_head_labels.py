"""Labels at the frame's size from stride-8 logits in segment() and the infer stream: equal to
the network's logits upsampled bilinearly to the frame and argmaxed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import segmnv3
from segmnv3.data.build import image_paths
from segmnv3.deploy.inference.preprocess import to_input
from segmnv3.deploy.inference.stream import PredictorCache, segment_stream
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME, OPENVINO
from tests.test_deploy_export import small_model

NETWORK = (64, 128)


def varied_model(frame_bgr: np.ndarray, **kwargs) -> torch.nn.Module:
    """A tiny random model whose stride-8 logits change from pixel to pixel: its skip
    classifier standardises the skip features on ``frame_bgr`` (a random model's features
    vary by ~1% around their mean, so every pixel would be one class)."""
    model = small_model(**kwargs)
    torch.manual_seed(1)
    with torch.no_grad():
        low = model.backbone(torch.from_numpy(to_input(frame_bgr, NETWORK)))["low"]
        mean, std = low.mean((0, 2, 3)), low.std((0, 2, 3)) + 1e-6
        weight = torch.randn(19, low.shape[1]) * 3 / low.shape[1] ** 0.5 / std
        model.head.low_classifier.weight.copy_(weight[..., None, None])
        model.head.low_classifier.bias.copy_(-weight @ mean)
        model.head.high_classifier.weight.zero_()
        model.head.high_classifier.bias.zero_()
    return model


def upsampled_labels(head: torch.Tensor, size, align_corners: bool) -> np.ndarray:
    """The reference: (1, C, h, w) logits resized bilinearly to ``size``, argmax."""
    up = F.interpolate(head, size, mode="bilinear", align_corners=align_corners)
    return up[0].argmax(0).to(torch.uint8).numpy()


def frame_labels(model, frame_bgr: np.ndarray, network) -> np.ndarray:
    """The network's stride-8 logits upsampled to the frame's size, argmax."""
    with torch.no_grad():
        head = model.head_logits(torch.from_numpy(to_input(frame_bgr, network)))
    return upsampled_labels(head, frame_bgr.shape[:2], model.align_corners)


@pytest.fixture(scope="module")
def frames(synthetic_root):
    """Two val frames at an odd size (not a multiple of the network's)."""
    paths = image_paths(synthetic_root, "val")[:2]
    return [cv2.resize(cv2.imread(str(p)), (203, 101)) for p in paths]


@pytest.mark.parametrize("align_corners", [False, True])
def test_segment_gives_the_frames_bilinear_labels(frames, align_corners):
    model = varied_model(frames[0], align_corners=align_corners)
    rgb = np.ascontiguousarray(frames[0][..., ::-1])
    labels = segmnv3.segment(model, rgb, size=NETWORK)
    assert labels.shape == (101, 203)
    expected = frame_labels(model, frames[0], NETWORK)
    assert (labels == expected).mean() >= 0.9999
    # the old path (argmax at the network's size, then nearest) is a different answer
    old = cv2.resize(
        model(torch.from_numpy(to_input(frames[0], NETWORK)))[0].argmax(0).byte().numpy(),
        (203, 101),
        interpolation=cv2.INTER_NEAREST,
    )
    assert len(np.unique(expected)) >= 5 and (old != expected).sum() > 0


class ListSink:
    def __init__(self):
        self.labels: dict[str, np.ndarray] = {}

    def write(self, name, frame, labels):
        self.labels[name] = labels


@pytest.mark.parametrize("backend", [EAGER, ONNXRUNTIME, OPENVINO], ids=str)
def test_stream_labels_come_at_the_frames_size_from_head_logits(tmp_path, frames, backend):
    model = varied_model(frames[0])
    runtimes = PredictorCache(model, backend, tmp_path)
    assert runtimes(NETWORK).output == "head_logits"
    sink = ListSink()
    named = [(f"f{i}", frame) for i, frame in enumerate(frames)]
    stats = segment_stream(named, runtimes, sink, size=NETWORK, align_corners=False)
    assert stats.frames == 2
    runtime = runtimes(NETWORK)
    for name, frame in named:
        labels = sink.labels[name]
        assert labels.shape == frame.shape[:2] and labels.dtype == np.uint8
        # the runtime's own logits (parity with torch: test_deploy_export), upsampled
        head = torch.from_numpy(np.ascontiguousarray(runtime.logits(to_input(frame, NETWORK))))
        expected = upsampled_labels(head, frame.shape[:2], False)
        assert len(np.unique(expected)) >= 5
        assert (labels == expected).mean() >= 0.9999
        assert (labels == frame_labels(model, frame, NETWORK)).mean() >= 0.99
