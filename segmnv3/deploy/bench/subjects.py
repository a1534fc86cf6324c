"""What the benchmark measures: our configs' models and the two baselines.

Every latency is reported as a ratio to ``REFERENCE`` (torchvision's eager
``lraspp_mobilenet_v3_large``) measured in the same rounds.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.optional import install_hint, optional
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


def our_backends() -> tuple[Backend, ...]:
    """``OUR_BACKENDS``, less LiteRT / ExecuTorch (with a warning naming the ``mobile``
    extra) when their packages are not installed."""
    packages = {"litert_torch": "litert-torch", "executorch": "executorch"}
    missing = [p for module, p in packages.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return OUR_BACKENDS
    warnings.warn(
        f"the benchmark's LiteRT / ExecuTorch rows skipped: {', '.join(missing)} not "
        f"installed; {install_hint(missing[0])}",
        stacklevel=2,
    )
    return tuple(b for b in OUR_BACKENDS if not b.is_mobile)


def baseline_subjects() -> list[Subject]:
    """torchvision's LR-ASPP and smp's DeepLabV3+ (MobileNetV3-Large), random weights.

    Without segmentation-models-pytorch the smp baseline is left out (a warning names the
    ``smp`` extra); torchvision's, the reference of every ratio, is always there.
    """
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torchvision = lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=CITYSCAPES.num_classes
    )
    subjects = [Subject(TORCHVISION, torchvision.eval(), BASELINE_BACKENDS, baseline=True)]
    smp = optional(
        "segmentation_models_pytorch",
        package="segmentation-models-pytorch",
        feature="the benchmark's DeepLabV3+ baseline",
    )
    if smp is not None:
        deeplab = smp.DeepLabV3Plus(
            encoder_name=SMP_ENCODER, encoder_weights=None, classes=CITYSCAPES.num_classes
        )
        name = f"smp-deeplabv3plus-{SMP_ENCODER}"
        subjects.append(Subject(name, deeplab.eval(), BASELINE_BACKENDS, baseline=True))
    return subjects
