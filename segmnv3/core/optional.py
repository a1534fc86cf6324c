"""Optional dependencies: imported only by the feature that needs them, with install advice.

Extras (``pyproject.toml``): ``segmnv3[tensorboard]`` (TensorBoard events while training),
``segmnv3[smp]`` = segmentation-models-pytorch (the Lovasz loss term, the benchmark's
DeepLabV3+ baseline), ``segmnv3[plots]`` = matplotlib (curves.png, the per-class IoU
chart, benchmark and throughput charts), ``segmnv3[mobile]`` = executorch + litert-torch
(LiteRT / ExecuTorch export, infer and bench rows). ``segmnv3[all]`` installs every extra.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from segmnv3.core.errors import UserError
from segmnv3.core.quiet import native_stderr_filtered

EXTRAS = {
    "tensorboard": "tensorboard",
    "segmentation-models-pytorch": "smp",
    "matplotlib": "plots",
    "executorch": "mobile",
    "litert-torch": "mobile",
    "ai-edge-litert": "mobile",  # LiteRT's interpreter, installed by litert-torch
    "torch-pruning": "adapt",
    "onnxruntime": "deploy",
    "onnx": "deploy",
    "openvino": "openvino",
}


def install_hint(package: str) -> str:
    """``pip install "segmnv3[<extra>]"`` for a package of an extra (or the package itself)."""
    extra = EXTRAS.get(package)
    return f'pip install "segmnv3[{extra}]"' if extra else f"pip install {package}"


def require(module: str, *, package: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise UserError saying how to install it.

    Args:
        module: the module to import, e.g. ``segmentation_models_pytorch.losses``.
        package: its distribution name, e.g. ``segmentation-models-pytorch``.
        feature: what needs it, including how to do without it (for the message).
    """
    try:
        with native_stderr_filtered():  # TensorFlow's oneDNN / absl lines on import
            return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"{feature} needs the {package} package, which is not installed; "
            f"{install_hint(package)}"
        ) from None


def optional(module: str, *, package: str, feature: str) -> ModuleType | None:
    """Import ``module``, or warn that ``feature`` is skipped (and how to install it): None."""
    try:
        return importlib.import_module(module)
    except ImportError:
        warnings.warn(
            f"{feature} skipped: the {package} package is not installed; {install_hint(package)}",
            stacklevel=2,
        )
        return None


def pyplot() -> ModuleType | None:
    """``matplotlib.pyplot`` with the file-only Agg backend, or None (warned) without it."""
    matplotlib = optional("matplotlib", package="matplotlib", feature="writing the chart")
    if matplotlib is None:
        return None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")
