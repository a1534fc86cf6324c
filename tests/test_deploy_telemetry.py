"""Converting to OpenVINO leaves no telemetry child process that would block the exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("openvino")


def test_openvino_export_starts_no_child_process(tmp_path):
    # A fresh interpreter, without pytest loaded and without CI=true (both of which turn the
    # telemetry off by themselves): there the converter's sender would be a forked child.
    script = textwrap.dedent(f"""
        import multiprocessing
        import torch
        from segmnv3.deploy.export.graphs import export_onnx, export_openvino
        model = torch.nn.Conv2d(3, 19, 1).eval()
        onnx_path = export_onnx(model, {str(tmp_path / "m.onnx")!r}, (32, 32))
        export_openvino(onnx_path, {str(tmp_path / "m.xml")!r})
        print("children", len(multiprocessing.active_children()))
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NNCF_CI")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "children 0" in result.stdout, result.stdout
