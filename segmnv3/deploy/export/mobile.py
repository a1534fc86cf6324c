"""Export to the files a phone app loads: LiteRT (``.tflite``) and ExecuTorch (``.pte``).

Both runtimes run their CPU graphs on XNNPACK, the kernel library phones use; the same
library runs on x86, so these files are timed here as the closest proxy of the paper's
Pixel 3 column. Like ``graphs``, an export is made for one input size (the paper's
pooling kernel is baked in) and every file appears whole or not at all.

Layouts (``formats.TFLITE`` / ``formats.PTE``; an app should not have to transpose what the
file could take as it comes):

* ``.tflite``: input ``(1, H, W, 3)`` float32 NHWC, output logits ``(1, H, W, C)``
  float32 NHWC. LiteRT is NHWC throughout and so is an Android ``Bitmap`` (interleaved
  RGB pixels): the app writes normalised pixels straight into the input buffer. The
  converter cancels our NHWC -> NCHW permute against its own NCHW -> NHWC one (measured:
  same latency as an NCHW-input file at 512x1024).
* ``.pte``: input ``(1, 3, H, W)`` float32 NCHW, output logits ``(1, C, H, W)`` float32
  NCHW: PyTorch's order, which ExecuTorch keeps (``Tensor.fromBlob`` with an NCHW shape,
  ``TensorImageUtils.bitmapToFloat32Tensor``). The XNNPACK delegate computes NHWC inside
  and converts once at each end; an explicit permute is not folded into those
  conversions, so other layouts cost more (row 8 at 512x1024, one pinned core: NHWC
  output 133 ms against 97 ms NCHW; NHWC input ~+15%, an earlier, noisier measurement).

The train ids are the argmax over the channel axis: the last for ``.tflite``, axis 1
for ``.pte``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from segmnv3.core.files import atomic_path, write_bytes_atomic
from segmnv3.core.optional import require


class MobileWrapper(torch.nn.Module):
    """What a phone file computes: NHWC in and out (LiteRT), or NCHW (ExecuTorch).

    Args:
        model: a module mapping (N, 3, H, W) to logits (N, C, H, W) (or ``{"out": ...}``).
        nhwc: take (N, H, W, 3) and return (N, H, W, C) logits instead of NCHW both.
    """

    def __init__(self, model: torch.nn.Module, *, nhwc: bool):
        super().__init__()
        # A copy in the default memory format: an EagerPredictor turns the shared module
        # channels_last in place, and XNNPACK's layout pass refuses channels_last weights.
        model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
        self.model, self.nhwc = model.eval(), nhwc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
        logits = self.model(x)
        logits = logits["out"] if isinstance(logits, dict) else logits  # (N, C, H, W)
        return logits.permute(0, 2, 3, 1) if self.nhwc else logits  # (N, H, W, C) / NCHW


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence ai-edge-quantizer's prints, progress bars and warnings around a call."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def example_input(runtime: str, size: tuple[int, int]) -> torch.Tensor:
    """A zero batch in the layout the ``runtime``'s file takes."""
    height, width = size
    return torch.zeros(1, height, width, 3) if runtime == "litert" else torch.zeros(1, 3, *size)


def export_litert(model: torch.nn.Module, path: str | Path, size: tuple[int, int]) -> Path:
    """Convert ``model`` to a float32 ``.tflite`` at input size ``size`` (H, W).

    Raises:
        UserError: the ``mobile`` extra (litert-torch) is not installed.
    """
    litert_torch = require("litert_torch", package="litert-torch", feature="LiteRT export")
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")  # one line per pass otherwise
    wrapped = MobileWrapper(model, nhwc=True).eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        converted = litert_torch.convert(wrapped, (example_input("litert", size),))
    with atomic_path(path) as temporary:
        converted.export(str(temporary))
    return Path(path)


def export_executorch(
    model: torch.nn.Module, path: str | Path, size: tuple[int, int], *, wrap: bool = True
) -> Path:
    """Lower ``model`` to an XNNPACK-delegated ``.pte`` at input size ``size`` (H, W).

    Args:
        model: the network, or with ``wrap=False`` a module that already computes what
            ``MobileWrapper`` does (the converted int8 module of ``quantize_mobile``).
        path: destination ``.pte``.
        size: network input (H, W).
        wrap: wrap ``model`` in ``MobileWrapper`` (NCHW in and out).

    Raises:
        UserError: the ``mobile`` extra (executorch) is not installed.
    """
    require("executorch", package="executorch", feature="ExecuTorch export")
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    module = MobileWrapper(model, nhwc=False).eval() if wrap else model
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.export.export(module, (example_input("executorch", size),))
        lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
        buffer = lowered.to_executorch().buffer
    return write_bytes_atomic(path, buffer)


def litert_fp16(fp32_path: str | Path, path: str | Path) -> Path:
    """A ``.tflite`` with fp16 weights (half the file; XNNPACK computes in fp32 on x86,
    in fp16 on phone cores that have it), made from the fp32 file by ai-edge-quantizer.
    """
    require("ai_edge_quantizer", package="litert-torch", feature="LiteRT fp16 weights")
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer

    fp16 = quantizer.Quantizer(str(fp32_path))
    fp16.add_weight_only_config(
        ".*",
        qtyping.TFLOperationName.ALL_SUPPORTED,
        16,
        algorithm_key=algorithm_manager.AlgorithmName.FLOAT_CASTING,
    )
    with quiet():
        model = fp16.quantize().quantized_model
    return write_bytes_atomic(path, bytes(model))
