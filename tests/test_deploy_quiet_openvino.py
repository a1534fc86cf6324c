"""OpenVINO import, conversion, int8 and inference start no telemetry sender process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("openvino")


def test_openvino_paths_start_no_process(tmp_path):
    # A fresh interpreter, without pytest loaded and without CI=true (both of which turn some
    # of the telemetry off by themselves), with a home that has no consent file (as on a new
    # machine, where OpenVINO's telemetry is on): every process start is counted.
    script = textwrap.dedent(f"""
        import multiprocessing.process
        starts = []
        original_start = multiprocessing.process.BaseProcess.start
        def counting_start(self):
            starts.append(self)
            return original_start(self)
        multiprocessing.process.BaseProcess.start = counting_start

        import cv2
        import numpy as np
        import torch
        from segmnv3.deploy.export.graphs import export_onnx, export_openvino
        from segmnv3.deploy.export.quantize import quantize_openvino
        from segmnv3.deploy.runtimes.backend import OPENVINO
        from segmnv3.deploy.runtimes.predictors import OpenVinoPredictor

        model = torch.nn.Conv2d(3, 19, 1).eval()
        onnx_path = export_onnx(model, {str(tmp_path / "m.onnx")!r}, (32, 32))
        xml = export_openvino(onnx_path, {str(tmp_path / "m.xml")!r})
        image = {str(tmp_path / "a.png")!r}
        cv2.imwrite(image, np.zeros((32, 32, 3), np.uint8))
        quantize_openvino(xml, {str(tmp_path / "q.xml")!r}, [image], (32, 32), recipe="naive")
        OpenVinoPredictor(xml, backend=OPENVINO)
        print("process starts", len(starts))
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NNCF_CI")}
    env["HOME"] = str(tmp_path / "home")
    os.makedirs(env["HOME"])
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "process starts 0" in result.stdout, result.stdout
