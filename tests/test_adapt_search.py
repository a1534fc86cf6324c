"""`segmnv3 adapt` (NetAdapt) end to end on a tiny folder dataset."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from segmnv3.cli import main

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
SIZE = (64, 128)


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory):
    from segmnv3.data.synthetic_folder import generate_synthetic_folder

    root = tmp_path_factory.mktemp("adapt_data")
    return generate_synthetic_folder(root, num_train=6, num_val=2, size=SIZE, workers=1)


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    """A per-layer ONNX Runtime table of the seed: a deterministic latency source."""
    from segmnv3.deploy.latency.table import measure_table
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    model = build_model_from_config(load_config(ROW11, ["model.num_classes=6"]).model)
    table = measure_table(model, 0.0, SIZE, "test machine")
    table.rest_ms = 0.0  # the convs alone: every unit's cut shows in the prediction
    return table.save(tmp_path_factory.mktemp("table") / "table.json")


def adapt_args(root, out_dir, *extra: str) -> list[str]:
    return [
        "adapt", "--config", ROW11, "--dataset", "folder", "--data-root", str(root),
        "--set", "model.num_classes=6", "--set", "data.crop_size=[64,128]",
        "--set", "data.num_workers=0", "--size", "64x128", "--iterations", "1",
        "--batch-size", "2", "--heldout", "2", "--out-dir", str(out_dir), *extra,
    ]  # fmt: skip


def table_run(root, out_dir, table, *extra: str) -> list[str]:
    return adapt_args(
        root, out_dir, "--latency-table", str(table), "--delta", "0.05",
        "--target-ratio", "0.5", "--max-steps", "2", *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference_run(folder_root, table_path, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("reference")
    assert main(table_run(folder_root, out_dir, table_path)) == 0
    return out_dir


def steps(out_dir) -> list[dict]:
    records = [json.loads(line) for line in (out_dir / "adapt.jsonl").read_text().splitlines()]
    return [r for r in records if r["event"] == "step"]


def test_a_run_saves_a_model_each_step_with_its_log_and_chart(reference_run):
    records = steps(reference_run)
    assert [r["step"] for r in records] == [1, 2]
    seed_ms = json.loads((reference_run / "adapt.jsonl").read_text().splitlines()[0])["ms"]
    # each step saves at least delta (5%) of the seed's latency, by the table
    assert records[0]["from_ms"] - records[0]["ms"] >= 0.05 * seed_ms - 1e-9
    assert records[1]["from_ms"] == pytest.approx(records[0]["ms"])
    config = yaml.safe_load((reference_run / "adapted.yaml").read_text())
    assert config["model"]["channels"] == records[-1]["model"]["channels"]
    assert (reference_run / "adapt.png").stat().st_size > 0

    from segmnv3.models.loading import load_model

    model, stored = load_model(reference_run / "adapted.pt")  # ready for --init-weights
    assert stored["model"] == config["model"]


def test_sigint_then_rerun_gives_the_same_final_table(
    folder_root, table_path, reference_run, tmp_path
):
    out_dir = tmp_path / "interrupted"
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from segmnv3.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, *table_run(folder_root, out_dir, table_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and child.poll() is None:
        if (out_dir / "adapt.jsonl").exists() and steps(out_dir):
            break
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    output = child.communicate(timeout=120)[0]
    assert child.returncode in (2, 130), output
    assert not (out_dir / "adapted.yaml").exists(), output
    assert "run the same command again to continue" in output
    assert main(table_run(folder_root, out_dir, table_path)) == 0
    assert (out_dir / "adapted.yaml").read_text() == (reference_run / "adapted.yaml").read_text()
    assert [r["unit"] for r in steps(out_dir)] == [r["unit"] for r in steps(reference_run)]


def test_two_workers_choose_what_one_process_chooses(
    folder_root, table_path, reference_run, tmp_path
):
    out_dir = tmp_path / "workers"
    assert main(table_run(folder_root, out_dir, table_path, "--workers", "2")) == 0
    assert (out_dir / "adapted.yaml").read_text() == (reference_run / "adapted.yaml").read_text()


def test_one_measured_step_lowers_the_measured_latency(folder_root, tmp_path):
    from segmnv3.deploy.latency.meter import LatencyMeter
    from segmnv3.models.loading import load_model

    out_dir = tmp_path / "measured"
    args = adapt_args(folder_root, out_dir, "--delta", "0.05", "--target-ratio", "0.5",
                      "--max-steps", "1", "--size", "128x256", "--iterations", "0")  # fmt: skip
    assert main(args) == 0
    step = steps(out_dir)[0]
    assert step["predicted_ms"] is not None  # the seed's per-layer table predicted it
    seed_ms = json.loads((out_dir / "adapt.jsonl").read_text().splitlines()[0])["ms"]
    assert step["from_ms"] - step["ms"] >= 0.05 * seed_ms  # measured in the same rounds
    assert json.loads((out_dir / "latency_table.json").read_text())["runtime"] == "onnxruntime"
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    adapted = load_model(out_dir / "adapted.pt")[0]
    seed = build_model_from_config(load_config(ROW11, ["model.num_classes=6"]).model)
    ms = LatencyMeter("onnxruntime", (128, 256), repeats=40).measure(
        {"seed": seed, "adapted": adapted}
    )
    assert ms["adapted"] < 0.985 * ms["seed"], ms  # accepted at >= 5%, timed again here


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target-ratio", "1.0"], "nothing to do"),
        (["--target-ms", "10000"], "at or above the seed model's"),
        (["--target-ratio", "0.5", "--delta", "0.6"], "cannot be reached"),
        (["--target-ratio", "0.5", "--runtime", "openvino"], "holds latencies of onnxruntime"),
        (["--target-ratio", "0.5", "--size", "128x256"], "at 64x128, but this run targets"),
    ],
)
def test_bad_requests_are_one_line_and_write_no_final_files(
    folder_root, table_path, tmp_path, capsys, extra, message
):
    out_dir = tmp_path / "bad"
    assert main(adapt_args(folder_root, out_dir, "--latency-table", str(table_path), *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (out_dir / "adapted.yaml").exists() and not (out_dir / "adapted.pt").exists()


def test_a_runtime_not_installed_names_its_extra(monkeypatch):
    import importlib.util

    from segmnv3.core.errors import UserError
    from segmnv3.deploy.latency.meter import LatencyMeter

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "openvino" else real(n, *a)
    )
    with pytest.raises(UserError, match=r'pip install "segmnv3\[openvino\]"'):
        LatencyMeter("openvino", SIZE)


def test_data_without_labels_is_one_line(folder_root, table_path, tmp_path, capsys):
    root = tmp_path / "unlabelled"
    shutil.copytree(folder_root, root)
    shutil.rmtree(root / "masks")
    args = adapt_args(
        root, tmp_path / "out", "--latency-table", str(table_path), "--target-ratio", "0.5"
    )
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "mask" in err and len(err.splitlines()) == 1, err
    written = sorted(os.listdir(tmp_path / "out")) if (tmp_path / "out").exists() else []
    assert "adapted.yaml" not in written and "adapted.pt" not in written, written
    assert "state.pt" not in written, written  # stopped before any step
