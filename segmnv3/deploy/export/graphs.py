"""Export to ONNX and OpenVINO IR; every file appears whole or not at all.

The paper's LR-ASPP gate pools with a kernel derived from the feature-map size, so an
export is made for one fixed input size (the graph bakes the kernel in); with ``global``
pooling the height and width may also be dynamic. ``parity`` proves an exported graph
matches PyTorch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from segmnv3.core.files import atomic_path
from segmnv3.deploy.export.fold_pads import fold_pads_into_convs
from segmnv3.deploy.quiet_openvino import import_openvino
from segmnv3.deploy.signal_stack import preserved_signal_stack

OPSET = 17
OUTPUTS = ("logits", "labels", "head_logits")


class HeadLogits(torch.nn.Module):
    """A ``Segmenter`` without its final upsample: (N, 3, H, W) -> (N, C, H/8, W/8) logits
    (R-ASPP: H/OS), the input of ``inference.upsample_labels.labels_from_logits``.

    Raises:
        ValueError: a model without ``head_logits`` (torchvision's, a baseline's).
    """

    graph_output = "head_logits"  # what an EagerPredictor of it returns (``runtimes``)

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        if not hasattr(model, "head_logits"):
            raise ValueError(
                f"{type(model).__name__} has no head_logits: only segmnv3's Segmenter "
                "exports a graph that ends before the final upsample"
            )
        self.model = model
        self.align_corners = bool(getattr(model, "align_corners", False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.head_logits(x)


class ExportWrapper(torch.nn.Module):
    """What an exported graph computes: NHWC logits, argmax train ids, or NHWC head logits.

    The graph's output is ``logits`` (N, H, W, C) float32, ``labels`` (N, H, W) uint8 or
    ``head_logits`` (N, H/8, W/8, C) float32 (the logits before the final upsample).
    NHWC (not NCHW) because CPU runtimes keep activations channels-last or blocked
    internally: OpenVINO spends ~35 ms at 512x1024 reordering 19-channel NCHW logits, the
    same values cost nothing in NHWC. Predictors hand NCHW views back (``runtimes``).
    Also unwraps torchvision's ``{"out": logits}``.
    """

    def __init__(self, model: torch.nn.Module, output: str = "logits"):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r}: use one of {OUTPUTS}")
        self.model = HeadLogits(model) if output == "head_logits" else model
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        logits = logits["out"] if isinstance(logits, dict) else logits  # (N, C, H, W)
        nhwc = logits.permute(0, 2, 3, 1)  # (N, H, W, C)
        if self.output == "labels":  # over the contiguous axis once runtimes go NHWC
            return nhwc.argmax(-1).to(torch.uint8)  # (N, H, W)
        return nhwc


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
        path: destination ``.onnx`` file (written to a temporary name, then published).
        size: (H, W) of the traced input.
        dynamic: make batch, height and width dynamic (only valid with ``global`` pooling,
            since the paper's pooling kernel is fixed at export time).
        output: ``logits`` (N, H, W, C) float32, ``labels`` (N, H, W) uint8 (argmax in
            the graph: ~6 ms in ONNX Runtime at 512x1024 against ~25 ms in NumPy) or
            ``head_logits`` (N, H/8, W/8, C) float32 (no final upsample: labels at any
            size come from ``labels_from_logits``).
        opset: ONNX opset, >= 17.

    Returns:
        The path of the exported model, input ``image`` (N, 3, H, W) float32.
    """
    import onnx

    if opset < 17:
        raise ValueError(f"ONNX opset {opset}: use 17 or newer")
    path = Path(path)
    wrapped = ExportWrapper(model, output).eval()
    example = torch.zeros(1, 3, *size)  # (1, 3, H, W)
    low = "head_" if output == "head_logits" else ""  # head logits: H/8, not H
    axes = {
        "image": {0: "batch", 2: "height", 3: "width"},
        output: {0: "batch", 1: f"{low}height", 2: f"{low}width"},  # NHWC / NHW
    }
    with atomic_path(path) as temporary:
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
        graph = onnx.load(str(temporary))
        if fold_pads_into_convs(graph):  # tf_same padding: Pad + Conv -> one Conv
            onnx.save(graph, str(temporary))
        onnx.checker.check_model(str(temporary), full_check=True)
    return path


def export_openvino(onnx_path: str | Path, xml_path: str | Path) -> Path:
    """Convert an ONNX file to OpenVINO IR (``.xml`` + ``.bin``) with fp32 weights."""
    ov = import_openvino()
    with preserved_signal_stack():
        ov_model = ov.convert_model(str(onnx_path))
    return save_openvino_ir(ov_model, xml_path)


def save_openvino_ir(ov_model, xml_path: str | Path) -> Path:
    """Write an OpenVINO model as ``.xml`` + ``.bin`` (fp32 weights), both atomically.

    OpenVINO names the weights file after the XML, so the two temporaries are
    ``.<stem>.tmp<PID>.xml`` / ``.bin``; the weights are published first, then the XML
    that refers to them.
    """
    ov = import_openvino()
    xml_path = Path(xml_path)
    with (
        atomic_path(xml_path) as xml_temporary,
        atomic_path(xml_path.with_suffix(".bin")),
        preserved_signal_stack(),
    ):  # compress_to_fp16 (the default) would halve the weights
        ov.save_model(ov_model, str(xml_temporary), compress_to_fp16=False)
    return xml_path
