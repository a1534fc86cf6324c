"""What the benchmark measures: our configs' models and the two baselines.

Every latency is reported as a ratio to ``REFERENCE`` (torchvision's eager
``lraspp_mobilenet_v3_large``) measured in the same rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from segmnv3.core.contract import NUM_CLASSES
from segmnv3.core.paper import PaperRow
from segmnv3.data.config import DataConfig
from segmnv3.deploy.runtimes.backend import ALL_BACKENDS, EAGER, ONNXRUNTIME, Backend

if TYPE_CHECKING:
    import torch

    from segmnv3.models.config import ModelConfig

OUR_BACKENDS = ALL_BACKENDS
BASELINE_BACKENDS = (EAGER, ONNXRUNTIME)
TORCHVISION = "torchvision-lraspp"
REFERENCE = (TORCHVISION, EAGER)  # every latency ratio is against this (model, backend)
SMP_ENCODER = "tu-mobilenetv3_large_100"  # timm's MobileNetV3-Large; builds offline


@dataclass
class Subject:
    """One network to benchmark.

    Attributes:
        name: row label (config stem, or the baseline's name).
        model: the PyTorch module (eval mode).
        backends: backends to time it on.
        paper: the paper's row, or None.
        baseline: True for the torchvision / smp comparison models.
        data: its data config (normalisation of the agreement and calibration images).
        model_config: our models' config (the memory probe rebuilds the model from it).
    """

    name: str
    model: torch.nn.Module
    backends: tuple[Backend, ...] = OUR_BACKENDS
    paper: PaperRow | None = None
    baseline: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model_config: ModelConfig | None = None


def baseline_subjects() -> list[Subject]:
    """torchvision's LR-ASPP and smp's DeepLabV3+ (MobileNetV3-Large), random weights."""
    import segmentation_models_pytorch as smp
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torchvision = lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=NUM_CLASSES
    )
    deeplab = smp.DeepLabV3Plus(encoder_name=SMP_ENCODER, encoder_weights=None, classes=NUM_CLASSES)
    return [
        Subject(TORCHVISION, torchvision.eval(), BASELINE_BACKENDS, baseline=True),
        Subject(
            f"smp-deeplabv3plus-{SMP_ENCODER}", deeplab.eval(), BASELINE_BACKENDS, baseline=True
        ),
    ]
