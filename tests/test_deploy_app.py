"""App-level latency: frame -> label map at the frame's size, stages timed, labels-out
graphs checked against logits-out on the same frame (fake runners: no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from segmnv3.data.config import DataConfig
from segmnv3.deploy.bench.app import labels_of_logits, time_app
from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME

WEIGHTS = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)


def fake_logits(batch: np.ndarray) -> np.ndarray:
    """(1, 3, h, w) -> (1, 5, h, w): a per-pixel linear map, NCHW contiguous."""
    return np.einsum("kc,nchw->nkhw", WEIGHTS, batch)


def fake_labels(batch: np.ndarray) -> np.ndarray:
    return fake_logits(batch).argmax(axis=1).astype(np.uint8)


def fake_head(batch: np.ndarray) -> np.ndarray:
    """(1, 3, h, w) -> (1, 5, h/8, w/8): the logits of every 8th pixel, an NHWC view."""
    nhwc = np.ascontiguousarray(fake_logits(batch[:, :, ::8, ::8]).transpose(0, 2, 3, 1))
    return nhwc.transpose(0, 3, 1, 2)


def test_labels_of_nhwc_buffer_and_nchw_array_agree():
    logits = fake_logits(np.random.default_rng(1).standard_normal((1, 3, 4, 6)).astype("f4"))
    nhwc_view = np.ascontiguousarray(logits.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    expected = logits[0].argmax(axis=0)
    assert np.array_equal(labels_of_logits(logits), expected)
    assert np.array_equal(labels_of_logits(nhwc_view), expected)


def test_time_app_stages_and_agreement():
    frame = np.random.default_rng(2).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    runners = {
        (EAGER, "logits"): fake_logits,
        (EAGER, "labels"): fake_labels,
        (ONNXRUNTIME, "logits"): fake_logits,
        (ONNXRUNTIME, "labels"): lambda batch: np.zeros_like(fake_labels(batch)),  # wrong
        (ONNXRUNTIME, "head_logits"): fake_head,
    }
    rows = time_app(
        runners, frame, (32, 64), DataConfig(), model="m", warmup=1, repeats=3, dram_gbps=10.0
    )
    by_key = {(r.backend, r.output): r for r in rows}
    assert set(by_key) == set(runners)
    for row in rows:
        assert row.frame_size == (48, 80) and row.network_size == (32, 64) and row.runs == 3
        stages = (row.preprocess_ms, row.inference_ms, row.argmax_ms, row.resize_back_ms)
        # every run's sum is >= each of its stages, so the median of the sums is >= the
        # median of each stage (exact; a comparison with the sum of medians is timing noise)
        assert all(stage >= 0 for stage in stages) and row.total_ms >= max(stages)
    assert by_key[EAGER, "labels"].agreement_with_logits == 1.0
    assert by_key[EAGER, "logits"].agreement_with_logits == 1.0
    wrong = by_key[ONNXRUNTIME, "labels"].agreement_with_logits
    assert 0.0 <= wrong < 1.0  # label 0 is one of 5 classes, not everywhere
    head = by_key[ONNXRUNTIME, "head_logits"]
    assert head.agreement_with_upsample == 1.0  # labels_from_logits = upsample + argmax
    assert 0.0 < head.agreement_with_logits < 1.0  # every 8th pixel: a coarser map
    # (5 x 4 x 8 float32 logits read + 48 x 80 uint8 labels written) at 10 GB/s
    assert head.labels_floor_ms == pytest.approx(1000 * (5 * 4 * 8 * 4 + 48 * 80) / 10e9)
    assert by_key[EAGER, "logits"].agreement_with_upsample is None
