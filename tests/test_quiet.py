"""A quiet first run: third-party log lines hidden unless --verbose, our warnings one line."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core import quiet

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
REPO = Path(__file__).resolve().parents[1]


def test_native_noise_is_dropped_and_everything_else_replayed(capfd, monkeypatch):
    monkeypatch.delenv(quiet.VERBOSE_VARIABLE, raising=False)
    with quiet.native_stderr_filtered():
        os.write(2, b"[cpuinfo_utils.cpp:87] Failed to open midr file /sys/x\n")
        os.write(2, b"I0000 00:00:1796169386.643264   22884 port.cc:153] oneDNN custom ops\n")
        os.write(2, b"libpng error: IDAT: CRC error\n")
        os.write(2, b"E0000 00:00:1.5 7 real.cc:1] a real error\n")
        os.write(2, b"something of our own\n")
    assert (
        capfd.readouterr().err
        == "E0000 00:00:1.5 7 real.cc:1] a real error\nsomething of our own\n"
    )
    monkeypatch.setenv(quiet.VERBOSE_VARIABLE, "1")
    with quiet.native_stderr_filtered():
        os.write(2, b"libpng error: IDAT: CRC error\n")
    assert capfd.readouterr().err == "libpng error: IDAT: CRC error\n"


def test_a_corrupt_png_gives_our_line_only(tmp_path, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    good = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert cv2.imwrite(str(folder / "a.png"), good)
    data = (folder / "a.png").read_bytes()
    (folder / "b.png").write_bytes(data[:-20] + bytes(20))  # IDAT CRC broken: libpng prints
    args = ["infer", str(folder), "--random-init", "--config", ROW11]
    assert main([*args, "--output", str(tmp_path / "out")]) == 2
    err = capfd.readouterr().err
    assert "libpng" not in err  # was "libpng error: IDAT: CRC error" before our line
    assert f"warning: skipping {folder / 'b.png'}: cannot read image" in err


def test_our_warnings_print_as_one_line_and_others_only_when_verbose(monkeypatch):
    monkeypatch.delenv(quiet.VERBOSE_VARIABLE, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet.quiet_third_party()
        ours = str(REPO / "segmnv3" / "data" / "cache.py")
        warnings.warn_explicit("cache is stale", UserWarning, ours, 9, module="segmnv3.data.cache")
        warnings.warn_explicit("third-party noise", FutureWarning, "lib.py", 1, module="torch.x")
    assert [str(w.message) for w in caught] == ["cache is stale"]
    line = warnings.formatwarning(caught[0].message, caught[0].category, caught[0].filename, 3)
    assert line == f"warning: {caught[0].message}\n"  # was file:line: UserWarning: ... + source


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="a webcam is attached")
@pytest.mark.parametrize("verbose", [False, True])
def test_a_missing_webcam_is_our_line_alone_unless_verbose(verbose):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_", "SEGMNV3_"))}
    env["PYTHONPATH"] = str(REPO)
    argv = ["infer", "0", "--random-init", "--config", ROW11] + (["--verbose"] if verbose else [])
    code = f"from segmnv3.cli import main; raise SystemExit(main({argv!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: cannot open webcam 0: ")
    assert (len(lines) > 1) == verbose, done.stderr  # cap_v4l.cpp / FFMPEG lines


def test_filtered_blocks_nest(capfd, monkeypatch):
    """ExecuTorch's predictor imports through `require` (filtered) inside its own block."""
    monkeypatch.delenv(quiet.VERBOSE_VARIABLE, raising=False)
    with quiet.native_stderr_filtered():
        os.write(2, b"outer\n")
        with quiet.native_stderr_filtered():
            os.write(2, b"[threadpool.cpp:66] Resetting threadpool to 1 threads.\ninner\n")
    assert capfd.readouterr().err == "outer\ninner\n"


def test_the_serve_benchmark_media_are_written_without_opencv_notes(tmp_path, capfd):
    from segmnv3.commands.serve_bench import _media

    media = _media(tmp_path / "media")
    assert media["video"].stat().st_size > 0
    err = capfd.readouterr().err
    assert "OpenCV: FFMPEG" not in err  # was "tag 0x30385056/'VP80' is not supported ..."
