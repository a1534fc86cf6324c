"""Benchmark helpers (timing, CPU peak, targets) and the `bench --quick` report."""

from __future__ import annotations

import json
import time

import pytest

from segmnv3.cli import main
from segmnv3.deploy.benchmark import OUR_BACKENDS, cpu_peak, time_interleaved
from segmnv3.deploy.report import TARGETS, assess_targets


def test_time_interleaved_orders_runners_by_duration():
    runners = {("a", "fast"): lambda: time.sleep(0.002), ("a", "slow"): lambda: time.sleep(0.012)}
    timings = time_interleaved(runners, warmup=1, repeats=5)
    assert {k: t["runs"] for k, t in timings.items()} == {("a", "fast"): 5, ("a", "slow"): 5}
    assert 2.0 <= timings["a", "fast"]["median_ms"] < timings["a", "slow"]["median_ms"]
    assert timings["a", "slow"]["median_ms"] >= 12.0
    assert all(t["p90_ms"] >= t["median_ms"] >= t["min_ms"] for t in timings.values())


def test_cpu_peak_is_units_times_lanes_times_clock():
    peak = cpu_peak(fma_units=2)
    expected = 2 * peak["fp32_lanes"] * peak["mhz"] * 1e6 / 1e9
    assert peak["peak_fp32_gmacs"] == pytest.approx(expected)
    assert peak["fp32_lanes"] in (4, 8, 16)
    assert cpu_peak(fma_units=1)["peak_fp32_gmacs"] == pytest.approx(expected / 2)


def fake_result() -> dict:
    """A hand-made result: fastest fp32 = openvino 30 ms, tuned int8 = 20 ms."""
    ms = {"eager": 100.0, "onnxruntime": 40.0, "openvino": 30.0, "openvino-bf16": 25.0,
          "onnxruntime-int8": 22.0, "openvino-int8": 20.0, "openvino-int8-bf16": 21.0,
          "onnxruntime-int8-naive": 50.0,
          "openvino-int8-naive": 45.0}  # fmt: skip
    latency = [{"model": "row8", "backend": b, "resolution": "half", "median_ms": v,
                "agreement_with_eager": 0.995} for b, v in ms.items()]  # fmt: skip
    latency.append({"model": "row8", "backend": "openvino", "resolution": "full",
                    "median_ms": 120.0, "agreement_with_eager": 1.0})  # fmt: skip
    latency.append({"model": "torchvision-lraspp", "backend": "eager", "resolution": "half",
                    "median_ms": 200.0, "agreement_with_eager": 1.0})  # fmt: skip
    return {
        "models": [{"name": "row8", "backends": list(OUR_BACKENDS)}],
        "latency": latency,
        "memory": [{"backend": "eager", "peak_rss_mb": 1000.0}],
        "video": {"end_to_end_vs_model_only": 0.9},
    }


def test_assess_targets_hand_computed():
    targets = assess_targets(fake_result())
    assert targets["fastest_fp32_backend"] == "openvino"
    assert targets["int8_backend"] == "openvino-int8"
    assert targets["fastest_fp32_vs_torchvision_eager_half"]["value"] == pytest.approx(0.15)
    assert targets["int8_vs_fastest_fp32_half"]["value"] == pytest.approx(20 / 30)
    assert targets["full_vs_half_fastest_fp32"]["value"] == pytest.approx(4.0)
    assert targets["int8_agreement_half"]["met"] is True
    assert targets["eager_peak_rss_mb"]["met"] is True
    result = fake_result()
    result["memory"][0]["peak_rss_mb"] = 1300.0
    assert assess_targets(result)["eager_peak_rss_mb"]["met"] is False


@pytest.mark.slow
def test_quick_benchmark_json_has_every_field(tmp_path, synthetic_root):
    assert main(["bench", "--quick", "--output", str(tmp_path), "--data-root",
                 str(synthetic_root)]) == 0  # fmt: skip
    result = json.loads((tmp_path / "bench.json").read_text())
    assert {"cpu", "threads", "sizes", "load_average", "models", "latency", "memory", "video",
            "targets", "quick"} <= set(result)  # fmt: skip
    names = [m["name"] for m in result["models"]]
    assert names == ["table7_row11_v3small_rf2_lraspp_f128_os16", "torchvision-lraspp",
                     "smp-deeplabv3plus-tu-mobilenetv3_large_100"]  # fmt: skip
    assert result["models"][0]["paper"]["cpu_half_ms"] == 327
    assert all(m["madds"]["half"] < m["madds"]["full"] for m in result["models"])
    keys = {"model", "backend", "resolution", "median_ms", "p90_ms", "min_ms", "runs",
            "ratio_to_torchvision_eager", "gmacs_per_s", "pct_fp32_peak", "agreement_with_eager"}  # fmt: skip
    ours = {(r["backend"], r["resolution"]) for r in result["latency"] if r["model"] == names[0]}
    assert ours == {(b, res) for b in OUR_BACKENDS for res in ("half", "full")}
    assert all(keys <= set(r) and r["median_ms"] > 0 for r in result["latency"])
    reference = [r for r in result["latency"] if r["model"] == names[1] and r["backend"] == "eager"]
    assert all(r["ratio_to_torchvision_eager"] == pytest.approx(1.0) for r in reference)
    memory = {m["backend"]: m["peak_rss_mb"] for m in result["memory"]}
    assert set(memory) == {"eager", "onnxruntime", "openvino", "openvino-bf16",
                           "onnxruntime-int8", "openvino-int8"}  # fmt: skip
    assert all(20 < mb < 20000 for mb in memory.values())  # MB, whole process
    assert set(TARGETS) <= set(result["targets"])
    assert result["video"]["frames"] > 0 and result["video"]["end_to_end_fps"] > 0
    for name in ("bench.md", "latency_vs_madds.png", "latency_half_full.png"):
        assert (tmp_path / name).stat().st_size > 0
