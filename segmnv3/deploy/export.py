"""Export to ONNX and OpenVINO IR, and prove the exported graph matches PyTorch.

The paper's LR-ASPP gate pools with a kernel derived from the feature-map size, so an
export is made for one fixed input size (the graph bakes the kernel in); with ``global``
pooling the height and width may also be dynamic. Every export is followed by a parity
check on real images: the largest absolute logit difference and the argmax agreement
against eager PyTorch, with thresholds stated in ``ParityThresholds``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from segmnv3.core.errors import UserError
from segmnv3.deploy.preprocess import to_input
from segmnv3.deploy.runtimes import EagerPredictor, Predictor
from segmnv3.deploy.signal_stack import preserved_signal_stack

OPSET = 17
OUTPUTS = ("logits", "labels")


@dataclass(frozen=True)
class ParityThresholds:
    """Pass criteria of an export against eager fp32 PyTorch.

    Attributes:
        max_abs_diff: largest |logit difference| allowed, relative to the logits' scale
            (``max |logit|``, at least 1): 1e-3 for fp32 runtimes.
        min_agreement: fraction of pixels whose argmax must match: 99.9% for fp32.
    """

    max_abs_diff: float = 1e-3
    min_agreement: float = 0.999


@dataclass
class ParityReport:
    """Outcome of comparing one runtime with eager PyTorch on ``images`` images."""

    backend: str
    images: int
    max_abs_diff: float
    logit_scale: float
    agreement: float
    thresholds: ParityThresholds

    @property
    def passed(self) -> bool:
        relative = self.max_abs_diff / max(1.0, self.logit_scale)
        return relative <= self.thresholds.max_abs_diff and (
            self.agreement >= self.thresholds.min_agreement
        )

    def line(self) -> str:
        """One human-readable line: figures, thresholds and PASS/FAIL."""
        t = self.thresholds
        return (
            f"{self.backend:>16}: max |logit diff| {self.max_abs_diff:.2e} "
            f"(logit scale {self.logit_scale:.1f}, allowed {t.max_abs_diff:.0e} x scale), "
            f"argmax agreement {100 * self.agreement:.3f}% (need >= {100 * t.min_agreement:.1f}%)"
            f" over {self.images} image(s): {'PASS' if self.passed else 'FAIL'}"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data


class ExportWrapper(torch.nn.Module):
    """What an exported graph computes: NHWC logits, or argmax train ids.

    The graph's output is ``logits`` (N, H, W, C) float32 or ``labels`` (N, H, W) uint8.
    NHWC (not NCHW) because CPU runtimes keep activations channels-last or blocked
    internally: OpenVINO spends ~35 ms at 512x1024 reordering 19-channel NCHW logits, the
    same values cost nothing in NHWC. Predictors hand NCHW views back (``runtimes``).
    Also unwraps torchvision's ``{"out": logits}``.
    """

    def __init__(self, model: torch.nn.Module, output: str = "logits"):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r}: use one of {OUTPUTS}")
        self.model = model
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        logits = logits["out"] if isinstance(logits, dict) else logits  # (N, C, H, W)
        if self.output == "labels":
            return logits.argmax(1).to(torch.uint8)  # (N, H, W)
        return logits.permute(0, 2, 3, 1)  # (N, H, W, C)


def export_onnx(
    model,
    path: str | Path,
    size: tuple[int, int],
    *,
    dynamic: bool = False,
    output: str = "logits",
    opset: int = OPSET,
) -> Path:
    """Export ``model`` to ONNX at input size ``size`` and validate it with ``onnx.checker``.

    Args:
        model: a module mapping (1, 3, H, W) float32 to logits (1, C, H, W).
        path: destination ``.onnx`` file (written to a temporary name, then renamed).
        size: (H, W) of the traced input.
        dynamic: make batch, height and width dynamic (only valid with ``global`` pooling,
            since the paper's pooling kernel is fixed at export time).
        output: ``logits`` (N, H, W, C) float32 or ``labels`` (N, H, W) uint8 (argmax in
            the graph: ~6 ms in ONNX Runtime at 512x1024 against ~25 ms in NumPy).
        opset: ONNX opset, >= 17.

    Returns:
        The path of the exported model, input ``image`` (N, 3, H, W) float32.
    """
    import onnx

    if opset < 17:
        raise UserError(f"--opset {opset}: use 17 or newer")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.partial.onnx")
    wrapped = ExportWrapper(model, output).eval()
    example = torch.zeros(1, 3, *size)  # (1, 3, H, W)
    axes = {
        "image": {0: "batch", 2: "height", 3: "width"},
        output: {0: "batch", 1: "height", 2: "width"},  # NHWC / NHW
    }
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (example,),
                str(temporary),
                opset_version=opset,
                input_names=["image"],
                output_names=[output],
                dynamic_axes=axes if dynamic else None,
                do_constant_folding=True,
                dynamo=False,
            )
        onnx.checker.check_model(str(temporary), full_check=True)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def export_openvino(onnx_path: str | Path, xml_path: str | Path) -> Path:
    """Convert an ONNX file to OpenVINO IR (``.xml`` + ``.bin``) with fp32 weights."""
    import openvino as ov

    xml_path = Path(xml_path)
    with preserved_signal_stack():
        ov_model = ov.convert_model(str(onnx_path))
        ov.save_model(
            ov_model, str(xml_path), compress_to_fp16=False
        )  # default would halve weights
    return xml_path


def check_parity(
    reference: EagerPredictor,
    candidate: Predictor,
    images: list[np.ndarray],
    size: tuple[int, int] | None,
    thresholds: ParityThresholds = ParityThresholds(),
) -> ParityReport:
    """Compare ``candidate`` with eager PyTorch on real BGR images.

    Args:
        reference: the eager fp32 model.
        candidate: the exported runtime.
        images: BGR uint8 frames (e.g. from the synthetic set).
        size: network input (H, W) the export was made for; None = each image's own size.
        thresholds: pass criteria.
    """
    worst, scale, agree, total = 0.0, 0.0, 0, 0
    for image in images:
        batch = to_input(image, size)  # (1, 3, H, W)
        expected = reference.logits(batch)  # (1, C, H, W)
        actual = candidate.logits(batch)
        worst = max(worst, float(np.abs(expected - actual).max()))
        scale = max(scale, float(np.abs(expected).max()))
        agree += int((expected.argmax(1) == actual.argmax(1)).sum())
        total += expected.shape[0] * expected.shape[2] * expected.shape[3]
    return ParityReport(
        candidate.name, len(images), worst, scale, agree / max(total, 1), thresholds
    )
