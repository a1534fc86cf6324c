"""Predictors for the phone runtimes: LiteRT (``.tflite``) and ExecuTorch (``.pte``).

Both run on XNNPACK with an explicit thread count (ExecuTorch's pool is process-wide and
otherwise sized from the machine's cores). They take the project's NCHW float32 batch
and the layouts of ``deploy.export.formats`` (``TFLITE``, ``PTE``): the LiteRT file takes NHWC, so the
batch is written into its input buffer in that order (one strided copy, what an app's
pixel loop does anyway) and returns NHWC logits; the ExecuTorch file is NCHW both ways.
The runtimes are imported here, never on the default import path; a missing one is a
``UserError`` naming the ``mobile`` extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segmnv3.core.errors import UserError
from segmnv3.core.optional import require
from segmnv3.core.quiet import native_stderr_filtered
from segmnv3.deploy.runtimes.backend import EXECUTORCH, LITERT, Backend
from segmnv3.deploy.runtimes.predictors import Predictor


class LiteRTPredictor(Predictor):
    """LiteRT ``Interpreter`` with the XNNPACK delegate (its default CPU path).

    Args:
        path: a ``.tflite`` from ``segmnv3 export`` (fp32, fp16 weights or int8).
        backend: what the file is (a ``litert`` backend).
        threads: interpreter threads; 1 is the paper's single large core.
    """

    def __init__(self, path: str | Path, *, backend: Backend = LITERT, threads: int = 1):
        if backend.runtime != "litert":
            raise ValueError(f"LiteRTPredictor cannot run backend {backend.name}")
        super().__init__(backend)
        interpreter = require(
            "ai_edge_litert.interpreter", package="ai-edge-litert", feature="the litert backend"
        )
        try:
            with native_stderr_filtered():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
                self.interpreter = interpreter.Interpreter(
                    model_path=str(path), num_threads=threads
                )
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise UserError(f"LiteRT cannot load {path}: {error}") from None
        self.input_details = self.interpreter.get_input_details()[0]
        self.output_details = self.interpreter.get_output_details()[0]
        _check_nhwc(self.input_details["shape"], self.output_details["shape"], path)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> raw NHWC output, one image at a time (the file's batch is 1)."""
        outputs = []
        for image in batch:
            self.interpreter.set_tensor(
                self.input_details["index"], _quantize(image, self.input_details)
            )
            self.interpreter.invoke()
            outputs.append(self.interpreter.get_tensor(self.output_details["index"]))  # a copy
        return np.concatenate(outputs)  # (N, H, W, C)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        raw = self._run(batch)
        if raw.dtype != np.float32:  # an int8 file with quantized output
            scale, zero_point = self.output_details["quantization"]
            raw = (raw.astype(np.float32) - zero_point) * scale
        return raw.transpose(0, 3, 1, 2)  # NHWC -> (N, C, H, W) view

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._run(batch).argmax(axis=-1).astype(np.uint8)  # order survives a scale > 0


def _quantize(image: np.ndarray, details: dict) -> np.ndarray:
    """(3, H, W) float32 -> (1, H, W, 3) in the input tensor's type (quantized if int8)."""
    nhwc = image.transpose(1, 2, 0)[None]  # (1, H, W, 3) view
    if details["dtype"] == np.float32:
        return np.ascontiguousarray(nhwc)
    scale, zero_point = details["quantization"]
    info = np.iinfo(details["dtype"])
    return np.clip(np.rint(nhwc / scale + zero_point), info.min, info.max).astype(details["dtype"])


def _check_nhwc(input_shape, output_shape, path) -> None:
    if len(input_shape) != 4 or input_shape[-1] != 3 or len(output_shape) != 4:
        raise UserError(
            f"{path}: input {list(input_shape)}, output {list(output_shape)} is not a "
            "segmnv3 LiteRT export (NHWC (1, H, W, 3) in, (1, H, W, C) logits out); "
            "export the model with `segmnv3 export --format litert`"
        )


class ExecuTorchPredictor(Predictor):
    """ExecuTorch ``Runtime`` running an XNNPACK-delegated ``.pte`` method ``forward``.

    Args:
        path: a ``.pte`` from ``segmnv3 export`` (fp32 or int8).
        backend: what the file is (an ``executorch`` backend).
        threads: threads of ExecuTorch's (process-wide) pool; 1 for the paper's core.
    """

    def __init__(self, path: str | Path, *, backend: Backend = EXECUTORCH, threads: int = 1):
        if backend.runtime != "executorch":
            raise ValueError(f"ExecuTorchPredictor cannot run backend {backend.name}")
        super().__init__(backend)
        with native_stderr_filtered():  # cpuinfo "Failed to open midr file", threadpool lines
            runtime = require(
                "executorch.runtime", package="executorch", feature="the executorch backend"
            )
            from executorch.extension.pybindings import portable_lib

            portable_lib._unsafe_reset_threadpool(threads)  # else one thread per core
            try:
                program = runtime.Runtime.get().load_program(Path(path))
                self.method = program.load_method("forward")
            except (ValueError, RuntimeError) as error:
                raise UserError(f"ExecuTorch cannot load {path}: {error}") from None
        if self.method is None:
            raise UserError(f"{path}: no 'forward' method; export it with `segmnv3 export`")

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> logits (N, C, H, W), one image at a time (batch 1 file)."""
        import torch

        batch = np.ascontiguousarray(batch, dtype=np.float32)
        outputs = [self.method.execute([torch.from_numpy(image[None])])[0] for image in batch]
        return torch.cat(outputs).numpy()  # a copy: the runtime reuses its output buffer
