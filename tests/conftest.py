"""Shared pytest fixtures: a tiny synthetic Cityscapes generated once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

SYNTHETIC_COUNTS = {"num_train": 8, "num_val": 4, "num_test": 2}
SYNTHETIC_SIZE = (128, 256)  # (H, W)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a tiny synthetic Cityscapes (8 train / 4 val / 2 test at 128x256, seed 0).

    Holds ``leftImg8bit/``, ``gtFine/`` (labelIds, color, instanceIds) and an 8-frame
    ``clip.mp4``. Shared by the whole session: tests must not modify it.
    """
    from segmnv3.data.synthetic import generate_synthetic

    root = tmp_path_factory.mktemp("synthetic_cityscapes")
    return generate_synthetic(
        root,
        **SYNTHETIC_COUNTS,
        size=SYNTHETIC_SIZE,
        seed=0,
        workers=1,
        video_frames=8,
        video_size=SYNTHETIC_SIZE,
    )
