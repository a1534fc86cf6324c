"""Benchmark helpers (timing, CPU peak, targets), typed results and the `bench --quick` report."""

from __future__ import annotations

import json
import time

import pytest

from segmnv3.cli import main
from segmnv3.deploy.bench.results import (
    BenchmarkResult,
    CpuInfo,
    LatencyResult,
    MemoryResult,
    ModelResult,
    Timing,
    VideoResult,
)
from segmnv3.deploy.bench.subjects import OUR_BACKENDS, TORCHVISION
from segmnv3.deploy.bench.targets import TARGETS, assess_targets
from segmnv3.deploy.bench.timing import cpu_peak, time_interleaved
from segmnv3.deploy.runtimes.backend import (
    EAGER,
    LITERT_INT8,
    ONNXRUNTIME,
    ONNXRUNTIME_INT8,
    OPENVINO,
    OPENVINO_BF16,
    OPENVINO_INT8,
    Backend,
)


def test_time_interleaved_orders_runners_by_duration():
    runners = {("a", "fast"): lambda: time.sleep(0.002), ("a", "slow"): lambda: time.sleep(0.012)}
    timings = time_interleaved(runners, warmup=1, repeats=5)
    assert {k: t.runs for k, t in timings.items()} == {("a", "fast"): 5, ("a", "slow"): 5}
    assert 2.0 <= timings["a", "fast"].median_ms < timings["a", "slow"].median_ms
    assert timings["a", "slow"].median_ms >= 12.0
    assert all(t.p90_ms >= t.median_ms >= t.min_ms for t in timings.values())


def test_cpu_peak_is_units_times_lanes_times_clock():
    peak = cpu_peak(fma_units=2)
    expected = 2 * peak.fp32_lanes * peak.mhz * 1e6 / 1e9
    assert peak.peak_fp32_gmacs == pytest.approx(expected)
    assert peak.fp32_lanes in (4, 8, 16)
    assert cpu_peak(fma_units=1).peak_fp32_gmacs == pytest.approx(expected / 2)


def _latency(model: str, backend: Backend, resolution: str, ms: float, agree: float = 1.0):
    return LatencyResult(
        model=model,
        backend=backend,
        resolution=resolution,
        size=(512, 1024) if resolution == "half" else (1024, 2048),
        timing=Timing(ms, ms * 1.1, ms * 0.9, 10),
        ratio_to_torchvision_eager=ms / 200.0,
        gmacs_per_s=1.0,
        pct_fp32_peak=2.0,
        agreement_with_eager=agree,
    )


def fake_result() -> BenchmarkResult:
    """A hand-made result: fastest fp32 = openvino 30 ms, tuned int8 = 20 ms; phone rows:
    litert 35 ms, litert-int8 24 ms, executorch 45 ms, executorch-int8 40 ms."""
    ms = (100.0, 40.0, 30.0, 25.0, 22.0, 20.0, 21.0, 50.0, 45.0, 35.0, 36.0, 45.0, 24.0, 40.0)
    ms = dict(zip(OUR_BACKENDS, ms, strict=True))
    latency = [_latency("row8", b, "half", v, 0.995) for b, v in ms.items()]
    latency.append(_latency("row8", OPENVINO, "full", 120.0))
    latency.append(_latency(TORCHVISION, EAGER, "half", 200.0))
    cpu = CpuInfo("test cpu", 2000.0, 2, 16, True, False, 64.0, 256.0, "2 x 16 x 2000 MHz")
    return BenchmarkResult(
        cpu=cpu,
        threads=1,
        warmup=2,
        repeats=10,
        sizes={"half": (512, 1024), "full": (1024, 2048)},
        load_average={"before": (0.5, 0.4, 0.3), "after": (0.6, 0.5, 0.4)},
        calibration_images=8,
        agreement_images=2,
        models=[ModelResult("row8", False, 1_510_000, {"half": 2_480_000_000}, OUR_BACKENDS)],
        latency=latency,
        memory=[MemoryResult("row8", EAGER, (1024, 2048), 1000.0, 0.5)],
        video=VideoResult(ONNXRUNTIME, (512, 1024), 8, 10.0, 9.0, 0.9),
    )


def test_assess_targets_hand_computed():
    targets = assess_targets(fake_result())
    assert targets.fastest_fp32_backend == OPENVINO
    assert targets.int8_backend == OPENVINO_INT8
    assert targets.results["fastest_fp32_vs_torchvision_eager_half"].value == pytest.approx(0.15)
    assert targets.results["int8_vs_fastest_fp32_half"].value == pytest.approx(20 / 30)
    assert targets.results["full_vs_half_fastest_fp32"].value == pytest.approx(4.0)
    assert targets.results["int8_agreement_half"].met is True
    assert targets.results["eager_peak_rss_mb"].met is True
    assert targets.xnnpack_int8_backend == LITERT_INT8  # 24 / 35 beats 40 / 45
    assert targets.results["xnnpack_int8_vs_fp32_half"].value == pytest.approx(24 / 35)
    assert targets.results["xnnpack_int8_vs_fp32_half"].met is True
    assert targets.results["xnnpack_int8_agreement_half"].value == pytest.approx(0.995)
    assert targets.results["video_end_to_end_vs_model_only"].met is True
    result = fake_result()
    result.memory[0] = MemoryResult("row8", EAGER, (1024, 2048), 1300.0, 0.5)
    assert assess_targets(result).results["eager_peak_rss_mb"].met is False


def test_floor_and_app_targets_hand_computed():
    from segmnv3.deploy.bench.app import AppLatency
    from segmnv3.deploy.bench.roofline import RooflineResult

    result = fake_result()
    assert assess_targets(result).results["app_vs_model_only_half"].value is None  # not run
    assert assess_targets(result).results["fastest_fp32_vs_cache_floor_half"].met is None
    roofline = RooflineResult(
        model="row8",
        resolution="half",
        size=(512, 1024),
        runs=3,
        rows=[],
        profiled_ms=90.0,
        counted_macs=1,
        model_macs=1,
        floor_cache_ms=60.0,
        floor_dram_ms=70.0,
        fastest_backend="openvino",
        fastest_ms=81.0,
    )
    frame, net = (1024, 2048), (512, 1024)
    app = [  # model, backend, output, sizes, preprocess, inference, argmax, back, total
        AppLatency("row8", ONNXRUNTIME, "logits", frame, net, 2.0, 80.0, 11.0, 1.0, 94.0, 5, 1.0),
        AppLatency("row8", ONNXRUNTIME, "labels", frame, net, 2.0, 81.0, 0.0, 1.0, 84.0, 5, 1.0),
        AppLatency("row8", OPENVINO, "logits", frame, net, 2.0, 70.0, 11.0, 1.0, 85.0, 5, 1.0),
    ]
    result = BenchmarkResult(**{**result.__dict__, "rooflines": [roofline], "app": app})
    targets = assess_targets(result).results
    assert targets["fastest_fp32_vs_cache_floor_half"].value == pytest.approx(81 / 60)
    assert targets["fastest_fp32_vs_cache_floor_half"].met is False  # > 1.25
    # the fastest app path (ONNX Runtime labels, 84 ms) over ONNX Runtime's logits
    # inference (80 ms): more than 0.85
    assert targets["app_vs_model_only_half"].value == pytest.approx(84 / 80)
    assert targets["app_vs_model_only_half"].met is False
    head = AppLatency(
        "row8", OPENVINO, "head_logits", frame, net, 2.0, 58.0, 1.5, 0.0, 62.0, 5, 0.98, 1.0, 0.3
    )
    result = BenchmarkResult(**{**result.__dict__, "app": [*app, head]})
    targets = assess_targets(result).results
    assert targets["app_vs_model_only_half"].value == pytest.approx(62 / 80)  # vs ORT's
    assert targets["app_vs_model_only_half"].met is True


def test_results_round_trip_through_json():
    result = fake_result()
    result = BenchmarkResult(**{**result.__dict__, "targets": assess_targets(result)})
    text = json.dumps(result.to_dict())
    again = BenchmarkResult.from_dict(json.loads(text))
    assert again == result
    assert json.loads(text)["latency"][0]["backend"] == "eager"  # names in JSON, as before


@pytest.mark.slow
def test_quick_benchmark_json_has_every_field(tmp_path, synthetic_root):
    assert (
        main(["bench", "--quick", "--output", str(tmp_path), "--data-root", str(synthetic_root)])
        == 0
    )
    raw = json.loads((tmp_path / "bench.json").read_text())
    assert {
        "cpu",
        "threads",
        "sizes",
        "load_average",
        "models",
        "latency",
        "memory",
        "video",
        "targets",
        "quick",
        "roofs",
        "rooflines",
    } <= set(raw)
    result = BenchmarkResult.from_dict(raw)
    assert result.to_dict() == raw
    names = [m.name for m in result.models]
    assert names == [
        "table7_row11_v3small_rf2_lraspp_f128_os16",
        "torchvision-lraspp",
        "smp-deeplabv3plus-tu-mobilenetv3_large_100",
    ]
    assert result.models[0].paper.cpu_half_ms == 327
    assert all(m.madds["half"] < m.madds["full"] for m in result.models)
    ours = {(r.backend, r.resolution) for r in result.latency if r.model == names[0]}
    phone = {b for b in OUR_BACKENDS if b.is_mobile}  # --quick leaves them out
    assert ours == {(b, res) for b in OUR_BACKENDS if b not in phone for res in ("half", "full")}
    assert all(r.median_ms > 0 and r.timing.runs == 2 for r in result.latency)
    reference = [r for r in result.latency if r.model == names[1] and r.backend == EAGER]
    assert all(r.ratio_to_torchvision_eager == pytest.approx(1.0) for r in reference)
    memory = {m.backend: m.peak_rss_mb for m in result.memory}
    assert set(memory) == {
        EAGER,
        ONNXRUNTIME,
        OPENVINO,
        OPENVINO_BF16,
        ONNXRUNTIME_INT8,
        OPENVINO_INT8,
    }
    assert all(20 < mb < 20000 for mb in memory.values())  # MB, whole process
    assert {t.name for t in TARGETS} == set(result.targets.results)
    assert result.video.frames > 0 and result.video.end_to_end_fps > 0
    assert result.roofs.fp32_gmacs > 0 and result.roofs.dram_gbps > 0
    assert [(r.model, r.resolution) for r in result.rooflines] == [
        (names[0], "half"),
        (names[0], "full"),
    ]
    assert all(0 < r.floor_cache_ms <= r.fastest_ms for r in result.rooflines)
    for name in ("bench.md", "latency_vs_madds.png", "latency_half_full.png", "roofline.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*tmp*"))  # every report file was published whole


def test_chart_labels_of_lines_closer_than_five_percent_are_joined():
    from segmnv3.deploy.bench.charts import _close_together

    every = [
        (700, "r11", "half"),
        (9_460, "smp", "half"),
        (9_470, "r8", "full"),
        (15_950, "tv", "full"),
    ]
    assert _close_together(every) == [
        (700, ["r11 (half)"]),
        (9_460, ["smp (half)", "r8 (full)"]),  # 0.1% apart: one label, not two overprinted
        (15_950, ["tv (full)"]),
    ]
