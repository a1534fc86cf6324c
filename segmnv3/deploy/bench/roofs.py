"""Measured roofs of one core: GEMM rates and memory copy bandwidth, and what the CPU is.

An assumed peak (FMA pipes x SIMD lanes x clock) is wrong wherever the microarchitecture
differs from the assumption (Zen 4 runs AVX-512 on 256-bit pipes: half the assumed
rate). So the roofs are measured, on one thread, through the libraries the runtimes
use:

* ``fp32``: a square fp32 matmul through ``torch.mm`` (MKL / oneDNN sgemm) and through
  ONNX Runtime's ``MatMul`` (MLAS), the faster of the two: a roof that a runtime's own
  GEMM beats is no roof (on AMD Zen 4, MLAS's 1x1 convs ran ~10% above torch.mm);
* ``bf16`` / ``int8``: the same in bf16 (``torch.mm``) and int8 x int8 -> int32
  (``torch._int_mm``), only where the CPU has those instructions (``avx512_bf16`` /
  ``amx_bf16``; ``avx512_vnni`` / ``avx_vnni`` / ``amx_int8`` in /proc/cpuinfo);
* memory: ``numpy.copyto`` of a buffer that fits in cache (~4 MB) and of one that does
  not (~256 MB); a copy of N bytes moves 2N (read N, write N).

Each figure is the best of a few runs (the least disturbed on a shared machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ISA_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_bf16",
    "amx_int8",
)
"""The instruction sets that decide the kernels a runtime picks (reported when found)."""
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
CACHE_BYTES = 4 << 20
DRAM_BYTES = 256 << 20


@dataclass(frozen=True)
class CpuIdentity:
    """What /proc/cpuinfo says about the first core (``unknown`` / -1 where absent)."""

    vendor: str
    family: int
    model: int
    model_name: str
    isa: tuple[str, ...]  # the ``ISA_FLAGS`` found
    torch_capability: str  # torch.backends.cpu.get_cpu_capability(): the ISA torch's kernels use


@dataclass(frozen=True)
class Roofs:
    """Measured one-thread roofs (GMAC/s: one multiply-accumulate per output element and
    inner-dimension step; GB/s: bytes read + written per second)."""

    cpu: CpuIdentity
    fp32_gmacs: float
    bf16_gmacs: float | None
    int8_gmacs: float | None
    cache_gbps: float
    dram_gbps: float
    gemm_size: int
    cache_bytes: int
    dram_bytes: int
    method: str


def cpu_identity(cpuinfo: str | None = None) -> CpuIdentity:
    """The first core's vendor, family / model, name and ISA flags."""
    import torch

    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first core's block ends at the first blank line
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    return CpuIdentity(
        vendor=fields.get("vendor_id", "unknown"),
        family=int(fields.get("cpu family", -1)),
        model=int(fields.get("model", -1)),
        model_name=fields.get("model name", "unknown"),
        isa=tuple(f for f in ISA_FLAGS if f in flags),
        torch_capability=torch.backends.cpu.get_cpu_capability(),
    )


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The shortest of ``repeats`` timed calls of ``run``, after one untimed call."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_gmacs(dtype: str, size: int, repeats: int = 3) -> float:
    """One-thread rate of a ``size`` x ``size`` x ``size`` torch matmul in ``dtype``, GMAC/s.

    Args:
        dtype: ``fp32``, ``bf16`` or ``int8`` (int8 x int8 -> int32, ``torch._int_mm``).
        size: the square matrices' side (``size**3`` MACs per call).
        repeats: timed calls (the best counts).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(0)
        if dtype == "int8":
            a, b = (
                torch.randint(-128, 128, (size, size), dtype=torch.int8, generator=generator)
                for _ in range(2)
            )
            run = lambda: torch._int_mm(a, b)  # noqa: E731
        else:
            torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
            a, b = (torch.randn(size, size, generator=generator).to(torch_dtype) for _ in range(2))
            run = lambda: torch.mm(a, b)  # noqa: E731
        with torch.inference_mode():
            seconds = best_seconds(run, repeats)
    finally:
        torch.set_num_threads(threads)
    return size**3 / seconds / 1e9


def mlas_gemm_gmacs(size: int, repeats: int = 3) -> float:
    """One-thread rate of a ``size``-cubed fp32 ``MatMul`` in ONNX Runtime (MLAS sgemm,
    the constant operand prepacked as for a conv's weights), GMAC/s."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    generator = np.random.default_rng(0)
    a, b = (generator.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    seconds = best_seconds(lambda: session.run(None, {"a": a}), repeats)
    return size**3 / seconds / 1e9


@dataclass(frozen=True)
class CopyRate:
    """One copy measurement: ``bytes_moved`` (read + written) per call, and the rate."""

    buffer_bytes: int
    bytes_moved: int
    seconds: float

    @property
    def gbps(self) -> float:
        return self.bytes_moved / self.seconds / 1e9


def copy_rate(buffer_bytes: int, repeats: int = 5) -> CopyRate:
    """``numpy.copyto`` of a ``buffer_bytes`` buffer into another: 2x the bytes move."""
    source = np.ones(buffer_bytes, dtype=np.uint8)
    target = np.empty_like(source)
    seconds = best_seconds(lambda: np.copyto(target, source), repeats)
    return CopyRate(buffer_bytes, 2 * source.nbytes, seconds)


def measure_roofs(
    *, gemm_size: int = 2048, cache_bytes: int = CACHE_BYTES, dram_bytes: int = DRAM_BYTES
) -> Roofs:
    """Every roof of this CPU (about 2 s at the default sizes).

    Args:
        gemm_size: side of the square GEMMs (large enough to reach the library's rate).
        cache_bytes: buffer of the cache-resident copy.
        dram_bytes: buffer of the DRAM copy (far beyond the last-level cache).
    """
    cpu = cpu_identity()
    has = set(cpu.isa)
    bf16 = gemm_gmacs("bf16", gemm_size) if has & set(BF16_FLAGS) else None
    int8 = gemm_gmacs("int8", gemm_size) if has & set(INT8_FLAGS) else None
    torch_fp32, mlas_fp32 = gemm_gmacs("fp32", gemm_size), mlas_gemm_gmacs(gemm_size)
    return Roofs(
        cpu=cpu,
        fp32_gmacs=max(torch_fp32, mlas_fp32),
        bf16_gmacs=bf16,
        int8_gmacs=int8,
        cache_gbps=copy_rate(cache_bytes).gbps,
        dram_gbps=copy_rate(dram_bytes, repeats=3).gbps,
        gemm_size=gemm_size,
        cache_bytes=cache_bytes,
        dram_bytes=dram_bytes,
        method=(
            f"1 thread, best of a few runs: {gemm_size}^3 fp32 the faster of torch.mm "
            f"({torch_fp32:.1f}) and ONNX Runtime MatMul ({mlas_fp32:.1f} GMAC/s), torch.mm "
            f"bf16, torch._int_mm int8; numpy.copyto of {cache_bytes >> 20} MB and "
            f"{dram_bytes >> 20} MB (bytes read + written)"
        ),
    )


def roofs_lines(roofs: Roofs) -> list[str]:
    """The roofs as a few lines of text (the bench report and ``profile --roofs``)."""
    cpu = roofs.cpu

    def rate(value: float | None, unit: str) -> str:
        return "- (no such instructions)" if value is None else f"{value:.1f} {unit}"

    return [
        f"CPU: {cpu.model_name} ({cpu.vendor}, family {cpu.family} model {cpu.model}); "
        f"ISA: {' '.join(cpu.isa) or '-'}; torch kernels: {cpu.torch_capability}",
        f"fp32 GEMM {rate(roofs.fp32_gmacs, 'GMAC/s')}, bf16 GEMM "
        f"{rate(roofs.bf16_gmacs, 'GMAC/s')}, int8 GEMM {rate(roofs.int8_gmacs, 'GMAC/s')}",
        f"copy bandwidth: cache-resident {roofs.cache_gbps:.1f} GB/s, DRAM "
        f"{roofs.dram_gbps:.1f} GB/s",
        f"({roofs.method})",
    ]
