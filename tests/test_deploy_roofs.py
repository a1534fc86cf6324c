"""Measured roofs (GEMM rates, copy bandwidth, CPU identity) on tiny sizes: structure and
sanity, not figures (those are benchmark output)."""

from __future__ import annotations

import math

import pytest

from segmnv3.core import schema
from segmnv3.deploy.bench.roofs import (
    BF16_FLAGS,
    INT8_FLAGS,
    Roofs,
    copy_rate,
    cpu_identity,
    gemm_gmacs,
    measure_roofs,
    roofs_lines,
)

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse avx2 fma avx512f avx512_bf16 avx512_vnni

processor\t: 1
vendor_id\t: SomethingElse
"""


def test_cpu_identity_reads_the_first_core():
    cpu = cpu_identity(CPUINFO)
    assert (cpu.vendor, cpu.family, cpu.model) == ("AuthenticAMD", 25, 17)
    assert cpu.model_name == "AMD EPYC 9B14"
    assert cpu.isa == ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16")
    assert cpu_identity("").vendor == "unknown" and cpu_identity("").isa == ()


def test_copy_counts_read_and_written_bytes():
    rate = copy_rate(1 << 16, repeats=2)
    assert rate.buffer_bytes == 1 << 16 and rate.bytes_moved == 2 << 16
    assert rate.gbps == pytest.approx(rate.bytes_moved / rate.seconds / 1e9)
    assert math.isfinite(rate.gbps) and rate.gbps > 0


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "int8"])
def test_gemm_rate_is_positive_and_finite_and_keeps_threads(dtype):
    import torch

    threads = torch.get_num_threads()
    rate = gemm_gmacs(dtype, 32, repeats=1)
    assert math.isfinite(rate) and rate > 0
    assert torch.get_num_threads() == threads  # one thread only while measuring


def test_measure_roofs_follows_the_isa_and_round_trips():
    roofs = measure_roofs(gemm_size=32, cache_bytes=1 << 12, dram_bytes=1 << 16)
    has = set(roofs.cpu.isa)
    assert (roofs.bf16_gmacs is not None) == bool(has & set(BF16_FLAGS))
    assert (roofs.int8_gmacs is not None) == bool(has & set(INT8_FLAGS))
    assert roofs.fp32_gmacs > 0 and roofs.cache_gbps > 0 and roofs.dram_gbps > 0
    assert schema.from_dict(Roofs, schema.to_plain(roofs)) == roofs
    text = "\n".join(roofs_lines(roofs))
    assert roofs.cpu.model_name in text and f"{roofs.fp32_gmacs:.1f} GMAC/s" in text


def test_mlas_gemm_rate_is_positive_and_finite():
    from segmnv3.deploy.bench.roofs import mlas_gemm_gmacs

    rate = mlas_gemm_gmacs(32, repeats=1)
    assert math.isfinite(rate) and rate > 0


def test_fp32_roof_is_the_faster_gemm_library(monkeypatch):
    from segmnv3.deploy.bench import roofs as module

    monkeypatch.setattr(module, "gemm_gmacs", lambda dtype, size: {"fp32": 10.0}.get(dtype, 1.0))
    monkeypatch.setattr(module, "mlas_gemm_gmacs", lambda size: 12.5)
    roofs = module.measure_roofs(gemm_size=32, cache_bytes=1 << 12, dram_bytes=1 << 16)
    assert roofs.fp32_gmacs == 12.5  # a runtime's own GEMM beating the roof is no roof
    assert "torch.mm (10.0) and ONNX Runtime MatMul (12.5 GMAC/s)" in roofs.method
