"""``DeployModel``: a network plus the data contract it was trained with.

Everything deploy/ runs (inference, export, benchmark) preprocesses images with the
checkpoint's own ``data.mean`` / ``data.std``: a model trained with other statistics
than ImageNet's gets its own, read from the config stored in the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.label_set import LabelSet
from segmnv3.data.config import DataConfig

if TYPE_CHECKING:
    import torch

    from segmnv3.models.config import ModelConfig


@dataclass
class DeployModel:
    """A network to deploy.

    Attributes:
        module: the PyTorch model in eval mode on the CPU.
        name: stem for output files (the checkpoint's or the config's name).
        data: its data config: normalisation (``mean``, ``std``) and evaluation geometry.
        labels: the label set it predicts (class names, colours, stored mask values).
    """

    module: torch.nn.Module
    name: str
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelSet = CITYSCAPES


def data_config_from(stored: dict[str, Any] | None, *, source: str) -> DataConfig:
    """The ``data`` section of a checkpoint's stored config; defaults when there is none."""
    from segmnv3.core.schema import from_dict

    if not stored or "data" not in stored:
        return DataConfig()
    return from_dict(DataConfig, stored["data"], source=source, prefix="data.")


def load_deploy_model(
    weights: str | Path,
    model_config: ModelConfig | None = None,
    data: DataConfig | None = None,
) -> DeployModel:
    """Load a checkpoint (or a bare state dict described by ``model_config``).

    Args:
        weights: a checkpoint from training, or a bare state dict.
        model_config: required for a bare state dict; for a full checkpoint it must equal
            the stored model section.
        data: the data config of a bare state dict (its YAML's); a full checkpoint's
            stored ``data`` section takes precedence.

    Raises:
        CheckpointError: unreadable or unsafe weights, or weights that do not fit.
    """
    from segmnv3.models.loading import load_labelled_model

    module, stored, labels = load_labelled_model(weights, model_config)
    if stored is not None or data is None:
        data = data_config_from(stored, source=f"{weights} (stored config)")
    return DeployModel(module.eval(), Path(weights).stem, data, labels)
