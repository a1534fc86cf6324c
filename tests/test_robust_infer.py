"""`segmnv3 infer` on bad input: clashing names, corrupt, tiny and huge images, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.files import temporary_path

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
SMOKE = ["--random-init", "--config", ROW11]
REPO = Path(__file__).resolve().parents[1]


def write_images(folder: Path, names: list[str], size=(40, 56), seed=0) -> list[Path]:
    """Random BGR images at ``folder / name`` (sub-folders created)."""
    rng = np.random.default_rng(seed)
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def outputs(folder: Path) -> list[str]:
    """Files written under ``folder``, except the run's colour legend (``legend.png``)."""
    files = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(name for name in files if name != "legend.png")


# case 1: one output per input, never overwritten within a run


def test_same_stem_with_three_extensions_gives_three_pairs(tmp_path, capsys):
    write_images(tmp_path / "in", ["e_ok.png", "e_ok.jpg", "e_ok.jpeg"])
    out = tmp_path / "out"
    assert main(["infer", str(tmp_path / "in"), *SMOKE, "--save-mask", "--output", str(out)]) == 0
    assert outputs(out) == [
        f"e_ok.{ext}_{kind}.png" for ext in ("jpeg", "jpg", "png") for kind in ("mask", "overlay")
    ]
    printed = capsys.readouterr().out
    assert printed.startswith("3 frame(s)")
    wrote = [line for line in printed.splitlines() if line.startswith("wrote")]
    assert len(wrote) == len(set(wrote)) == 5 and "... and 2 more" in printed  # + legend.png


def test_glob_across_folders_keeps_the_sub_paths(tmp_path):
    write_images(tmp_path / "withsub", ["a/x.png", "b/x.png"])
    out = tmp_path / "out"
    pattern = str(tmp_path / "withsub" / "*" / "*.png")
    assert main(["infer", pattern, *SMOKE, "--save-mask", "--output", str(out)]) == 0
    assert outputs(out) == ["a/x_mask.png", "a/x_overlay.png", "b/x_mask.png", "b/x_overlay.png"]


def test_output_that_would_overwrite_an_input_is_refused(tmp_path, capsys):
    write_images(tmp_path, ["x.png", "x_overlay.png"])
    assert main(["infer", str(tmp_path), *SMOKE, "--output", str(tmp_path)]) == 2
    assert "would overwrite an input" in capsys.readouterr().err


# case 3: a corrupt image is skipped, the others are segmented, the run fails at the end


def test_corrupt_image_is_skipped_and_the_rest_are_segmented(tmp_path, capsys):
    write_images(tmp_path / "in", ["a.png", "c.png", "d.png"])
    (tmp_path / "in" / "b.png").write_bytes(b"\x89PNG garbage")
    out = tmp_path / "out"
    assert main(["infer", str(tmp_path / "in"), *SMOKE, "--output", str(out)]) == 2
    assert outputs(out) == ["a_overlay.png", "c_overlay.png", "d_overlay.png"]
    err = capsys.readouterr().err
    assert "warning: skipping" in err and "b.png" in err
    assert "error: 1 of 4 image(s) could not be read and were skipped" in err


# case 7: smaller than the network minimum


@pytest.mark.parametrize("backend", ["eager", "onnxruntime"])
def test_image_below_the_network_minimum_is_resized_up_and_back(tmp_path, capsys, backend):
    (image,) = write_images(tmp_path, ["tiny.png"], size=(20, 24))
    out = tmp_path / "out"
    argv = ["infer", str(image), *SMOKE, "--backend", backend, "--output", str(out)]
    assert main(argv) == 0
    assert cv2.imread(str(out / "tiny_overlay.png")).shape == (20, 24, 3)
    assert "smaller than the network minimum of 32 px: running it at 32x32" in (
        capsys.readouterr().err
    )


# case 8: very large inputs


def test_network_size_bounds_huge_inputs_and_leaves_normal_ones():
    from segmnv3.deploy.inference.sizing import network_size

    size, note = network_size((8000, 8000))
    assert size == (2048, 2048) and "about 12.8 GB" in note and "running it at 2048x2048" in note
    size, note = network_size((6000, 1500))
    assert size == (4096, 1024) and note is not None
    assert network_size((1024, 2048)) == (None, None)
    assert network_size((8000, 8000), (512, 512)) == ((512, 512), None)


def test_huge_image_runs_at_a_bounded_size_with_labels_at_input_size(tmp_path, capsys, monkeypatch):
    from segmnv3.deploy.inference import sizing, stream

    monkeypatch.setattr(sizing, "MAX_NETWORK_PIXELS", 64 * 96)  # stands in for 2048 x 2048
    seen = []
    original = stream.to_input

    def spy(frame, size, data):
        batch = original(frame, size, data)
        seen.append(batch.shape[2:])
        return batch

    monkeypatch.setattr(stream, "to_input", spy)
    (image,) = write_images(tmp_path, ["big.png"], size=(128, 192))
    assert main(["infer", str(image), *SMOKE, "--save-mask", "--output", str(tmp_path / "o")]) == 0
    assert seen == [(64, 96)]
    mask = cv2.imread(str(tmp_path / "o" / "big_mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (128, 192)
    assert "note: input 128x192 would need about" in capsys.readouterr().err


def test_impossible_resolution_is_refused_at_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(tmp_path), *SMOKE, "--resolution", "100000x100000"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --resolution: both sides must be between 32 and 8192 pixels" in err


def test_resolution_beyond_the_memory_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    from segmnv3.deploy.inference import sizing

    monkeypatch.setattr(sizing, "available_memory", lambda: 10**9)
    write_images(tmp_path / "in", ["a.png"])
    argv = ["infer", str(tmp_path / "in"), *SMOKE, "--resolution", "4096x4096"]
    assert main([*argv, "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--resolution 4096x4096 would need about 3.4 GB of memory, 1.0 GB is available" in err
    assert not (tmp_path / "o").exists()


# case 9: devices


@pytest.mark.parametrize("device", ["banana", "gpu0", "cuda:x"])
def test_unknown_device_is_refused_at_the_parser(tmp_path, capsys, device):
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(tmp_path), *SMOKE, "--device", device])
    assert exit_info.value.code == 2
    assert f"argument --device: unknown device {device!r}" in capsys.readouterr().err


def test_missing_gpu_is_one_line_before_any_work(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present here")
    write_images(tmp_path / "in", ["a.png"])
    argv = ["infer", str(tmp_path / "in"), *SMOKE, "--device", "cuda"]
    assert main([*argv, "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --device: device 'cuda': no cuda device is available here")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


# cases 4 and 5: Ctrl-C / SIGTERM keep finished images; stale temporaries go next time


def default_sigint() -> None:
    """In the child, before exec: Ctrl-C's default disposition. A background job (`make test
    &`, nohup) starts with SIGINT ignored, the child would inherit it and never stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def infer_process(folder: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "segmnv3.cli", "infer", str(folder), *SMOKE, "--save-mask"]
    return subprocess.Popen(
        [*argv, "--output", str(out)],
        env=env,
        preexec_fn=default_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_keeps_finished_images_and_says_so(tmp_path, signum, code):
    names = [f"img{i:02d}.png" for i in range(20)]
    write_images(tmp_path / "in", names, size=(256, 384))
    out = tmp_path / "out"
    process = infer_process(tmp_path / "in", out)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*_overlay.png"))) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "infer wrote nothing within 60 s"
        time.sleep(0.02)
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    overlays = sorted(out.glob("*_overlay.png"))
    masks = sorted(out.glob("*_mask.png"))
    assert 2 <= len(overlays) < len(names), "the run should stop early, keeping what it wrote"
    assert [p.name.replace("_mask", "_overlay") for p in masks] == [p.name for p in overlays]
    word = "interrupted" if signum == signal.SIGINT else "terminated (SIGTERM)"
    expected = f"{word}: kept the outputs of {len(overlays)} of 20 image(s) ({2 * len(overlays)}"
    assert expected in err
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_a_killed_run_are_removed_at_the_next_start(tmp_path, capsys):
    (image,) = write_images(tmp_path / "in", ["a.png"])
    out = tmp_path / "out"
    out.mkdir()
    pid = dead_pid()
    stale = [temporary_path(out / "clip_overlay.mp4", pid), temporary_path(out / "a_overlay.png")]
    stale[1] = stale[1].with_name(stale[1].name.replace(f"tmp{os.getpid()}", f"tmp{pid}"))
    masks = temporary_path(out / "clip_masks", pid)
    masks.mkdir()
    (masks / "000000.png").write_bytes(b"x")
    for path in stale:
        path.write_bytes(b"partial")
    alive = temporary_path(out / "other_overlay.png", os.getppid())  # a running writer's
    alive.write_bytes(b"in progress")
    assert main(["infer", str(image), *SMOKE, "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a_overlay.png", "legend.png", alive.name]
    )
    err = capsys.readouterr().err
    for path in [*stale, masks]:
        assert f"removed {path}, left by an earlier run that was killed" in err


# the same patterns in export and the library API


def test_export_names_a_corrupt_parity_image_instead_of_a_traceback(
    tmp_path, synthetic_root, capsys
):
    import shutil

    from segmnv3.data.build import image_paths

    root = tmp_path / "root"
    shutil.copytree(synthetic_root, root)
    broken = image_paths(root, "val")[0]
    broken.write_bytes(b"\x89PNG garbage")
    argv = ["export", *SMOKE, "--data-root", str(root), "--resolution", "64x128"]
    assert main([*argv, "--parity-images", "2", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot read parity image {broken} (corrupt or not an image)" in err


def test_segment_bounds_a_huge_image_and_returns_labels_at_its_size(monkeypatch):
    import torch

    from segmnv3.deploy import segment as api
    from segmnv3.deploy.inference import sizing
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    monkeypatch.setattr(sizing, "MAX_NETWORK_PIXELS", 64 * 96)
    model = build_model_from_config(load_config(ROW11).model).eval()
    seen = []
    # the network's input, whether segment() runs forward or head_logits (it does)
    model.backbone.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0].shape)
    )
    labels = api.segment(model, np.zeros((128, 192, 3), np.uint8))
    assert labels.shape == (128, 192) and seen == [torch.Size([1, 3, 64, 96])]


def test_sigint_on_a_video_discards_the_partial_video_and_says_so(tmp_path):
    from segmnv3.data.synthetic import write_clip

    clip = write_clip(tmp_path / "clip.mp4", frames=150, size=(256, 384))
    out = tmp_path / "out"
    process = infer_process(clip, out)
    deadline = time.monotonic() + 60
    while not list(out.glob(".clip_masks.tmp*/*.png")) and process.poll() is None:
        assert time.monotonic() < deadline, "infer wrote nothing within 60 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    expected = f"interrupted: discarded the unfinished {out / 'clip_overlay.mp4'} and "
    assert expected + f"{out / 'clip_masks'} (a partial video is not kept)" in err
    assert list(out.iterdir()) == []
