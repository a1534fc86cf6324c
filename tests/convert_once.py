"""Phone conversions made once per test module: the converters' outputs, keyed on their input.

A LiteRT or ExecuTorch conversion takes ~17 s on one core even for the tiny V3-Small
model, and the mobile tests convert the same network several times (the parity test, then
``export``, ``infer`` and ``bench`` on the same weights). ``ConversionMemo`` stands between
our code and the two converter entry points (``litert_torch.convert``,
``executorch.exir.to_edge_transform_and_lower``) and hands back the first conversion's
output when the converter is called again with an identical graph.

Everything of ours still runs on every call: the model loading, ``MobileWrapper`` (layout,
memory format), ``torch.export``, PT2E calibration, the atomic writes and every check of
the file. The key is the ``torch.export`` graph the converter would see: every node with
its target, arguments and tensor shape, dtype and strides, and every weight, buffer and
constant with its strides and bytes. A different model, size, layout, memory format (an
``EagerPredictor`` turns modules channels_last in place) or int8 calibration gives
another key, so the call converts for real.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
import torch


def _add_tensor(digest, name: str, value) -> None:
    if isinstance(value, torch.Tensor):
        value = value.detach()
        digest.update(f"{name} {value.dtype} {tuple(value.shape)} {value.stride()}".encode())
        digest.update(value.contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    else:
        digest.update(f"{name} {value!r}".encode())


def _describe(value):
    """Options by value; objects (a partitioner) by type, not by their address."""
    if isinstance(value, list | tuple):
        return [_describe(item) for item in value]
    if isinstance(value, dict):
        return {key: _describe(item) for key, item in sorted(value.items())}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return type(value).__qualname__


def program_key(program: torch.export.ExportedProgram, *options) -> str:
    """A digest of everything a converter reads from ``program`` (and its ``options``)."""
    digest = hashlib.sha256(repr(_describe(options)).encode())
    for node in program.graph.nodes:
        value = node.meta.get("val")
        tensor = value if isinstance(value, torch.Tensor) else None
        layout = None if tensor is None else (tuple(tensor.shape), tensor.dtype, tensor.stride())
        digest.update(f"{node.op} {node.name} {node.target} {node.args} {node.kwargs}".encode())
        digest.update(f" {layout}\n".encode())
    digest.update(str(program.graph_signature).encode())
    for name, value in sorted({**program.state_dict, **program.constants}.items()):
        _add_tensor(digest, name, value)
    return digest.hexdigest()


class ConversionMemo:
    """The converters' outputs (flatbuffer / program bytes) of one test module, by
    ``program_key``."""

    def __init__(self):
        self.outputs: dict[str, bytes] = {}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Route both converters through the memo for one test."""
        import executorch.exir
        import litert_torch
        from litert_torch.model import LiteRTModel

        def memo_litert(module, sample_args, *args, **kwargs):
            program = torch.export.export(module, tuple(sample_args))
            key = program_key(program, "litert", args, kwargs)
            if key not in self.outputs:
                converted = convert_litert(module, sample_args, *args, **kwargs)
                self.outputs[key] = converted.model_content()
            return LiteRTModel(self.outputs[key])

        def memo_executorch(program, *args, **kwargs):
            key = program_key(program, "executorch", args, kwargs)
            if key not in self.outputs:
                lowered = lower_executorch(program, *args, **kwargs)
                self.outputs[key] = lowered.to_executorch().buffer
            buffer = self.outputs[key]
            return SimpleNamespace(to_executorch=lambda: SimpleNamespace(buffer=buffer))

        convert_litert = litert_torch.convert
        lower_executorch = executorch.exir.to_edge_transform_and_lower
        monkeypatch.setattr(litert_torch, "convert", memo_litert)
        monkeypatch.setattr(executorch.exir, "to_edge_transform_and_lower", memo_executorch)
