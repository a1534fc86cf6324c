"""Sizes, ports and paths out of range: one clear line, never an allocation or a traceback."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.errors import ConfigError, UserError
from segmnv3.deploy.inference.sizing import MAX_NETWORK_PIXELS, network_size
from segmnv3.deploy.inference.sources import open_source
from segmnv3.deploy.segment import segment
from segmnv3.engine.config import load_config


def test_segment_refuses_an_empty_image():
    with pytest.raises(ValueError, match=r"empty image of shape \(0, 0, 3\)"):
        segment(None, np.zeros((0, 0, 3), np.uint8))  # refused before the model is used


@pytest.mark.parametrize(
    ("frame", "expected"),
    [((400000, 8), (MAX_NETWORK_PIXELS // 32, 32)), ((8, 400000), (32, MAX_NETWORK_PIXELS // 32))],
)
def test_a_thin_strip_is_run_within_the_pixel_cap(frame, expected):
    size, note = network_size(frame)
    assert size == expected and size[0] * size[1] <= MAX_NETWORK_PIXELS
    assert f"input {frame[0]}x{frame[1]}" in note


def test_a_crop_larger_than_the_image_limit_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data.crop_size 200000x200000 is 40000 MP, above"):
        load_config(None, ["data.crop_size=[200000,200000]"])


def test_serve_refuses_a_port_out_of_range(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--random-init", "--port", "70000"])
    assert exit_info.value.code == 2
    assert "argument --port: a port is 0..65535 (0: any free one), got 70000" in (
        capsys.readouterr().err
    )


def test_serve_https_where_the_certificate_cannot_be_written_names_the_folder(tmp_path):
    from segmnv3.commands.serve import bind

    blocker = tmp_path / "best.pt"  # a file where the serve folder would go (root can
    blocker.write_bytes(b"")  # write into read-only folders; not below a file)
    args = argparse.Namespace(https=True, host="127.0.0.1", port=0)
    with pytest.raises(UserError, match=r"--https: cannot write the certificate in .*best.pt"):
        bind(args, {}, blocker / "serve")


def test_profile_json_a_folder_and_roofs_with_a_config_are_refused(tmp_path, capsys):
    row = "table7_row11_v3small_rf2_lraspp_f128_os16"
    assert main(["profile", "--config", row, "--json", str(tmp_path)]) == 2
    assert f"--json {tmp_path} is a folder; give a file name" in capsys.readouterr().err
    assert main(["profile", "--roofs", "--config", row]) == 2
    assert "--roofs measures this CPU, not a config" in capsys.readouterr().err


def test_a_gif_in_an_input_folder_is_named_not_dropped_silently(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "b.gif").write_bytes(b"GIF89a")
    (tmp_path / ".hidden").write_bytes(b"")
    source = open_source(str(tmp_path))
    assert [p.name for p in source.paths] == ["a.png"]
    assert [p.name for p in source.left_out] == ["b.gif"]


SERVE_TERMINATED = """
import os, signal, sys, tempfile, time
from pathlib import Path
import segmnv3.commands.serve as serve
import segmnv3.deploy.serve.assets as assets

class Server:
    def server_close(self): print("closed")

def export(args, folder):  # stands for the export: a temporary, removed on the way out
    temporary = Path(tempfile.mkdtemp(prefix="segmnv3-export-", dir=sys.argv[1]))
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        temporary.rmdir()

assets.check_assets = lambda: {}
serve.model_folder = lambda args: Path(sys.argv[1]) / "model"
serve.bind = lambda args, routes, folder: Server()
serve.export_for_browser = export
sys.exit(serve.run(serve.argparse.Namespace(bench=False)))
"""


def test_sigterm_during_serves_start_up_export_cleans_up_and_says_so(tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SERVE_TERMINATED), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
        env=os.environ,
    )
    assert process.returncode == 143, process.stderr
    assert "terminated (SIGTERM): stopped before serving" in process.stderr
    assert process.stdout.strip() == "closed"
    assert list(tmp_path.iterdir()) == []  # the temporary was removed
