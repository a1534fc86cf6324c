"""`make demo`'s pipeline at tiny sizes: the same steps, the same code path, as CI's smoke run.

The first run is ``conftest.tiny_demo`` (``segmnv3 demo --tiny`` from the installed wheel,
in an empty directory: ``test_packaging`` checks that it runs there); the second, which
must reuse its outputs, runs in-process.
"""

import json

import cv2
import pytest

from segmnv3.cli import main
from segmnv3.commands.demo_pipeline import DemoPlan, latency_table
from segmnv3.deploy.bench.results import BenchmarkResult


@pytest.mark.slow
def test_tiny_demo_runs_every_step_and_reuses_its_outputs(tiny_demo, capsys):
    out, first = tiny_demo
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    printed = first.stdout
    plan = DemoPlan.tiny(out)

    assert (plan.data / "clip.mp4").is_file()
    assert (plan.run_dir / "last.pt").is_file() and (plan.run_dir / "curves.png").is_file()
    report = json.loads((out / "eval" / "val.json").read_text())
    assert 0.0 <= report["miou"] <= 1.0 and report["images"] == plan.num_val
    assert len(list((out / "eval" / "predictions" / "overlay").rglob("*.png"))) == plan.num_val
    video = cv2.VideoCapture(str(out / "infer" / "clip_overlay.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == plan.clip_frames
    assert list((out / "export").glob("*.onnx"))
    bench = BenchmarkResult.from_dict(json.loads((out / "bench" / "bench.json").read_text()))
    assert bench.quick is True and bench.models[0].name == "demo_synthetic"
    # the short benchmark: half resolution, the runtimes a user picks first, the reference
    assert list(bench.sizes) == ["half"] and {r.resolution for r in bench.latency} == {"half"}
    ours = {r.backend.name for r in bench.latency if r.model == "demo_synthetic"}
    assert ours == {"eager", "onnxruntime", "onnxruntime-int8"}  # tiny: no phone file
    assert {r.model for r in bench.latency} == {"demo_synthetic", "torchvision-lraspp"}
    targets = bench.targets.results
    assert targets["int8_agreement_half"].met is None  # a toy model: not assessed, not False
    assert targets["full_vs_half_fastest_fp32"].value is None  # full not run
    assert targets["int8_vs_fastest_fp32_half"].value is not None
    assert "int8_agreement_half | 0.9" not in printed and "not assessed" in printed
    assert "full table (14 runtimes, half and full, baselines): segmnv3 bench" in printed
    assert "segmnv3 demo finished" in printed and "val mIoU" in printed
    assert "latency, 1 thread (median ms)" in printed

    # A second run (in-process) reuses the data and the finished training run.
    last_modified = (plan.run_dir / "last.pt").stat().st_mtime
    assert main(["demo", "--tiny", "--out", str(out), "--device", "cpu"]) == 0
    again = capsys.readouterr().out
    assert "synthetic data already in" in again
    assert again.count("already done") == 4  # eval, infer, export, bench
    assert (plan.run_dir / "last.pt").stat().st_mtime == last_modified


def test_latency_table_lists_every_backend_at_both_resolutions():
    from test_deploy_bench import _latency, fake_result

    from segmnv3.deploy.runtimes.backend import EAGER, ONNXRUNTIME

    bench = fake_result()
    bench.latency[:] = [
        _latency("m", EAGER, "half", 10.0),
        _latency("m", EAGER, "full", 41.5),
        _latency("m", ONNXRUNTIME, "half", 5.25),
        _latency("other", EAGER, "half", 99.0),
    ]
    lines = latency_table(bench, "m")
    assert "512x1024" in lines[0] and "1024x2048" in lines[0]
    assert lines[1].split() == ["eager", "10.0", "41.5"]
    assert lines[2].split() == ["onnxruntime", "5.2", "nan"]
    assert len(lines) == 3
