"""Shared pytest fixtures, each made once per session: a tiny synthetic Cityscapes, the
installed wheel and the tiny demo run from it; the served page in Chromium
(``serve_fixtures``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve_fixtures import assets, browser, loaded, media, page, served  # noqa: F401

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


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """segmnv3 built as a wheel from a copy of the sources and installed into a folder."""
    from tests.wheel import install_wheel

    return install_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def tiny_demo(installed_wheel: Path, tmp_path_factory: pytest.TempPathFactory):
    """(output folder, finished process) of ``segmnv3 demo --tiny --out demo`` run once from
    the installed wheel in an empty directory: ``test_packaging`` checks that it runs
    there, ``test_demo`` what it wrote and printed (the demo takes ~20 s on one core).
    """
    from tests.wheel import run_installed

    cwd = tmp_path_factory.mktemp("demo_cwd")
    argv = ["-m", "segmnv3.cli", "demo", "--tiny", "--out", "demo", "--device", "cpu"]
    return cwd / "demo", run_installed(installed_wheel, cwd, *argv)
