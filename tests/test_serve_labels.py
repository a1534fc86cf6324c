"""The page's labelsFromLogits (segmnv3/web/static/pixels.js) equals Python's
labels_from_logits, run in headless Chromium on the module's own source (no server)."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmnv3.deploy.inference.upsample_labels import labels_from_logits
from segmnv3.deploy.serve.assets import STATIC_DIR

FIXTURES = Path(__file__).parent / "fixtures"

SCRIPT = """async ([source, data, shape, size, alignCorners]) => {
    const { labelsFromLogits } = await import(`data:text/javascript;base64,${source}`);
    const [classes, rows, cols] = shape;
    const labels = labelsFromLogits(Float32Array.from(data), classes, rows, cols,
                                    size[0], size[1], alignCorners);
    return Array.from(labels);
}"""


@pytest.fixture(scope="module")
def page(browser):
    """A blank page of the session's Chromium (tests/serve_fixtures.py: one Playwright per
    session; without the browser, a failure in CI, else a skip)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def cases() -> list[tuple[np.ndarray, tuple[int, int]]]:
    """Trained, random and smooth logits, odd sizes, scales up and down."""
    rng = np.random.default_rng(5)
    trained = np.load(FIXTURES / "trained_logits.npz")["logits"].astype(np.float32)
    smooth = cv2.resize(rng.standard_normal((3, 4, 19), dtype=np.float32), (23, 13)) * 6
    return [
        (trained[0], (256, 512)),
        (trained[1], (97, 203)),
        (rng.standard_normal((19, 9, 14), dtype=np.float32), (75, 101)),
        (rng.standard_normal((5, 16, 24), dtype=np.float32), (11, 7)),
        (smooth.transpose(2, 0, 1), (50, 31)),
    ]


@pytest.mark.parametrize("align_corners", [False, True])
def test_javascript_labels_from_logits_equal_pythons(page, align_corners):
    source = (STATIC_DIR / "pixels.js").read_bytes()
    encoded = base64.b64encode(source).decode()
    for logits, size in cases():
        nhwc = np.ascontiguousarray(logits.transpose(1, 2, 0))  # what the graph returns
        args = [encoded, nhwc.ravel().tolist(), list(logits.shape), list(size), align_corners]
        labels = np.asarray(page.evaluate(SCRIPT, args), np.uint8).reshape(size)
        expected = labels_from_logits(logits, size, align_corners=align_corners)
        assert len(np.unique(expected)) >= 3  # boundaries to get right, not one class
        assert np.array_equal(labels, expected), (logits.shape, size)
