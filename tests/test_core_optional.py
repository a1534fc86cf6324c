"""Optional dependencies: each feature that needs one says which extra installs it."""

from __future__ import annotations

import sys

import pytest

from segmnv3.core.errors import UserError
from segmnv3.data.metrics import SegmentationScores
from segmnv3.engine.config import TrainConfig
from segmnv3.engine.eval_report import plot_class_iou
from segmnv3.engine.losses import build_loss
from segmnv3.engine.run_log import RunLog, plot_curves


def _missing(monkeypatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError


def test_lovasz_without_smp_names_the_smp_extra(monkeypatch):
    _missing(monkeypatch, "segmentation_models_pytorch", "segmentation_models_pytorch.losses")
    with pytest.raises(UserError, match=r'segmentation-models-pytorch.*"segmnv3\[smp\]"'):
        build_loss(TrainConfig(lovasz_weight=0.5), num_classes=19)
    build_loss(TrainConfig(lovasz_weight=0.0), num_classes=19)  # not needed without the term


def test_tensorboard_missing_warns_with_the_tensorboard_extra_and_keeps_the_jsonl_log(
    monkeypatch, tmp_path
):
    _missing(monkeypatch, "torch.utils.tensorboard", "tensorboard")
    with pytest.warns(UserWarning, match=r'TensorBoard logging.*"segmnv3\[tensorboard\]"'):
        log = RunLog(tmp_path, enabled=True, tensorboard=True)
    log.write("train", 1, {"loss": 1.0})
    log.close()
    assert log.writer is None and (tmp_path / "log.jsonl").read_text().count("\n") == 1


def test_matplotlib_missing_skips_charts_with_the_plots_extra(monkeypatch, tmp_path):
    (tmp_path / "log.jsonl").write_text('{"kind": "train", "step": 1, "loss": 1.0}\n')
    _missing(monkeypatch, "matplotlib", "matplotlib.pyplot")
    with pytest.warns(UserWarning, match=r'matplotlib.*"segmnv3\[plots\]"'):
        assert plot_curves(tmp_path) is None
    scores = SegmentationScores(iou=[0.5, 0.25], miou=0.375, pixel_accuracy=0.9, valid_pixels=4)
    with pytest.warns(UserWarning, match=r'"segmnv3\[plots\]"'):
        assert plot_class_iou(scores, ["a", "b"], tmp_path / "chart.png") is None
    assert not (tmp_path / "curves.png").exists() and not (tmp_path / "chart.png").exists()
