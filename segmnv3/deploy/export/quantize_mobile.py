"""int8 for the phone runtimes on XNNPACK: LiteRT (ai-edge-quantizer) and ExecuTorch (PT2E).

Both calibrate on N training images at the export size (normalised with the model's own
mean / std, as ``quantize``), weights int8 symmetric per output channel, activations
int8 per tensor. The named recipes are measured side by side by ``segmnv3 bench``:

* ``naive``: the library defaults (everything the quantizer supports is int8).
* ``tuned``: our choices, with the reason beside each in ``LITERT_RECIPES`` / ``EXECUTORCH_RECIPES``: optional
  ``float_ops`` (LiteRT op types), ``float_regex`` (LiteRT op output names) and
  ``float_modules`` (ExecuTorch submodule names) are left in float.

int8 files keep the fp32 files' float32 input and output and their layouts
(``formats.TFLITE`` / ``formats.PTE``): the quantize / dequantize at either end run inside the graph, in
XNNPACK, so an app feeds the same buffer to every precision.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from segmnv3.core.files import write_bytes_atomic
from segmnv3.core.optional import require
from segmnv3.data.config import DataConfig
from segmnv3.deploy.export.mobile import (
    MobileWrapper,
    example_input,
    export_executorch,
    quiet,
)
from segmnv3.deploy.export.quantize import calibration_batches, recipe_of
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA
from segmnv3.deploy.runtimes.backend import Recipe


@dataclass(frozen=True)
class LiteRTRecipe:
    """ai-edge-quantizer choices.

    Attributes:
        float_ops: LiteRT op types left in float (``INPUT`` / ``OUTPUT``: the graph's ends).
        float_regex: ops whose output names match one of these are left in float.
    """

    float_ops: tuple[str, ...]
    float_regex: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecuTorchRecipe:
    """PT2E ``XNNPACKQuantizer`` choices.

    Attributes:
        per_channel: one weight scale per output channel.
        float_modules: submodule names left in float.
    """

    per_channel: bool
    float_modules: tuple[str, ...] = ()


LITERT_RECIPES: dict[Recipe, LiteRTRecipe] = {
    # Library defaults, except the float32 input / output every file here keeps
    # (INPUT / OUTPUT are ai-edge-quantizer's names for the graph's ends).
    "naive": LiteRTRecipe(float_ops=("INPUT", "OUTPUT")),
    # XNNPACK's LiteRT delegate has no int8 HARD_SWISH: left int8, each of the 20
    # falls back to LiteRT's reference kernel and splits the graph into 21 delegate
    # partitions (1.6x slower than fp32 at 512x1024). In float they stay in XNNPACK.
    # The stem (the first conv, on the image) stays float too: min-max int8 of its
    # 3-channel input is the coarsest step of the graph (trained row 8: argmax
    # agreement 99.13% -> 99.31%, same speed). Everything else is int8: convs, SE /
    # gate MUL, MEAN, ADD, the resizes. Names match the module path (``stem``).
    "tuned": LiteRTRecipe(float_ops=("INPUT", "OUTPUT", "HARD_SWISH"), float_regex=(".*_stem.*",)),
}
EXECUTORCH_RECIPES: dict[Recipe, ExecuTorchRecipe] = {
    "naive": ExecuTorchRecipe(per_channel=False),
    # Per-channel weights: depthwise filters differ in range by orders of magnitude
    # per channel; one scale per tensor rounds the small ones to zero. The quantizer
    # makes convs (+ReLU), ADD, MUL (SE / gate), CAT and adaptive pooling int8
    # (histogram-calibrated activations); hard-swish, hard-sigmoid, the paper's
    # avg_pool2d and the bilinear resizes stay float inside XNNPACK.
    "tuned": ExecuTorchRecipe(per_channel=True),
}


def quantize_litert(
    fp32_path: Path,
    int8_path: Path,
    images: list[Path],
    size: tuple[int, int],
    recipe: Recipe = "tuned",
    data: DataConfig = DEFAULT_DATA,
) -> Path:
    """Static int8 ``.tflite`` from the fp32 one, calibrated on ``images`` (train split)."""
    require("ai_edge_quantizer", package="litert-torch", feature="LiteRT int8")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import algorithm_manager, quantizer
    from ai_edge_quantizer import recipe as recipes

    options = recipe_of(LITERT_RECIPES, recipe)
    signatures = Interpreter(model_path=str(fp32_path)).get_signature_list()
    signature, inputs = next((name, s["inputs"]) for name, s in signatures.items())
    samples = [
        {inputs[0]: np.ascontiguousarray(batch.transpose(0, 2, 3, 1))}  # NCHW -> NHWC
        for batch in calibration_batches(images, size, data)
    ]
    int8 = quantizer.Quantizer(str(fp32_path))
    int8.load_quantization_recipe(recipes.static_wi8_ai8())
    for op in options.float_ops:
        int8.update_quantization_recipe(
            ".*", op, algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE
        )
    for regex in options.float_regex:  # every op whose output name matches
        int8.update_quantization_recipe(
            regex, "*", algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE
        )
    with quiet():  # it prints sizes and progress bars
        ranges = int8.calibrate({signature: samples}, num_threads=1)
        model = int8.quantize(ranges).quantized_model
    return write_bytes_atomic(int8_path, bytes(model))


def quantize_executorch(
    model: torch.nn.Module,
    int8_path: Path,
    images: list[Path],
    size: tuple[int, int],
    recipe: Recipe = "tuned",
    data: DataConfig = DEFAULT_DATA,
) -> Path:
    """PT2E int8 with ``XNNPACKQuantizer``, calibrated on ``images``, lowered to ``.pte``."""
    require("executorch", package="executorch", feature="ExecuTorch int8")
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    options = recipe_of(EXECUTORCH_RECIPES, recipe)
    config = get_symmetric_quantization_config(is_per_channel=options.per_channel)
    quantizer = XNNPACKQuantizer().set_global(config)
    for name in options.float_modules:  # submodules left in float
        quantizer.set_module_name(name, None)
    wrapped = MobileWrapper(model, nhwc=False).eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        graph = torch.export.export(wrapped, (example_input("executorch", size),)).module()
        graph = prepare_pt2e(graph, quantizer)
        for batch in calibration_batches(images, size, data):
            graph(torch.from_numpy(batch))
        graph = convert_pt2e(graph)
    return export_executorch(graph, int8_path, size, wrap=False)
