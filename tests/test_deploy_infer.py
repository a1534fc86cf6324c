"""`segmnv3 infer` on the synthetic clip and images: outputs, FPS summary, error cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.data.build import image_paths

ROW11 = "configs/table7_row11_v3small_rf2_lraspp_f128_os16.yaml"
SMOKE = ["--random-init", "--config", ROW11]


def video_properties(path) -> tuple[int, int, int, float]:
    """(frames counted by decoding, height, width, fps) of a video file."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames, shape = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames, shape = frames + 1, frame.shape
    capture.release()
    return frames, shape[0], shape[1], fps


def test_video_keeps_frame_count_size_and_fps(tmp_path, synthetic_root, capsys):
    clip = synthetic_root / "clip.mp4"
    assert main(["infer", str(clip), *SMOKE, "--output", str(tmp_path), "--save-mask"]) == 0
    out = tmp_path / "clip_overlay.mp4"
    assert video_properties(out) == video_properties(clip)
    masks = sorted((tmp_path / "clip_masks").glob("*.png"))
    assert len(masks) == video_properties(clip)[0]
    mask = cv2.imread(str(masks[0]), cv2.IMREAD_UNCHANGED)
    assert mask.shape == video_properties(clip)[1:3] and mask.max() < 19
    assert not list(tmp_path.glob(".*partial*"))  # temporary names are gone
    summary = capsys.readouterr().out
    assert "model-only" in summary and "end-to-end" in summary


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_video_on_exported_runtimes_with_resolution(tmp_path, synthetic_root, backend):
    clip = synthetic_root / "clip.mp4"
    args = ["infer", str(clip), *SMOKE, "--backend", backend, "--resolution", "64x128"]
    assert main([*args, "--output", str(tmp_path)]) == 0
    assert video_properties(tmp_path / "clip_overlay.mp4") == video_properties(clip)


def test_image_folder_and_glob_give_one_output_per_input(tmp_path, synthetic_root):
    images = image_paths(synthetic_root, "val")
    folder = images[0].parent
    assert main(["infer", str(folder), *SMOKE, "--output", str(tmp_path / "f"), "--save-mask"]) == 0
    overlays = sorted((tmp_path / "f").glob("*_overlay.png"))
    assert [p.name for p in overlays] == sorted(f"{p.stem}_overlay.png" for p in images)
    assert len(list((tmp_path / "f").glob("*_mask.png"))) == len(images)
    overlay = cv2.imread(str(overlays[0]))
    assert overlay.shape == cv2.imread(str(images[0])).shape
    pattern = str(folder / "*_leftImg8bit.png")
    assert main(["infer", pattern, *SMOKE, "--output", str(tmp_path / "g")]) == 0
    assert len(list((tmp_path / "g").glob("*_overlay.png"))) == len(images)
    assert main(["infer", str(images[0]), *SMOKE, "--output", str(tmp_path / "i")]) == 0
    written = sorted(p.name for p in (tmp_path / "i").iterdir())
    assert written == sorted([f"{images[0].stem}_overlay.png", "legend.png"])


def test_alpha_zero_gives_the_input_back(tmp_path, synthetic_root):
    image = image_paths(synthetic_root, "val")[0]
    assert main(["infer", str(image), *SMOKE, "--alpha", "0", "--output", str(tmp_path)]) == 0
    written = cv2.imread(str(tmp_path / f"{image.stem}_overlay.png"))
    assert np.array_equal(written, cv2.imread(str(image)))


def error_of(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_missing_input(tmp_path, capsys):
    err = error_of(capsys, ["infer", str(tmp_path / "nope.mp4"), *SMOKE])
    assert "does not exist" in err and "nope.mp4" in err


def test_unreadable_video(tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    err = error_of(capsys, ["infer", str(broken), *SMOKE, "--output", str(tmp_path / "o")])
    assert "broken.mp4" in err and ("cannot open" in err or "cannot decode" in err)
    assert not (tmp_path / "o" / "broken_overlay.mp4").exists()


def test_unreadable_image(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.png").write_bytes(b"\x89PNG garbage")
    err = error_of(capsys, ["infer", str(tmp_path / "in"), *SMOKE, "--output", str(tmp_path / "o")])
    assert "cannot read image" in err and "bad.png" in err
    assert not list((tmp_path / "o").glob("*.png"))


def test_missing_weights_is_refused(tmp_path, synthetic_root, capsys):
    err = error_of(capsys, ["infer", str(synthetic_root / "clip.mp4"), "--output", str(tmp_path)])
    assert "--weights" in err and "--random-init" in err
    err = error_of(
        capsys,
        [
            "infer",
            str(synthetic_root / "clip.mp4"),
            "--weights",
            str(tmp_path / "missing.pt"),
            "--output",
            str(tmp_path),
        ],
    )
    assert "missing.pt" in err and "does not exist" in err
    assert not list(tmp_path.glob("*.mp4"))


def test_unwritable_output(tmp_path, synthetic_root, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should be")
    err = error_of(
        capsys,
        ["infer", str(synthetic_root / "clip.mp4"), *SMOKE, "--output", str(blocker / "sub")],
    )
    assert "not writable" in err and str(blocker) in err


def test_show_without_gui_says_so(tmp_path, synthetic_root, capsys):
    if hasattr(cv2, "namedWindow"):
        try:
            cv2.namedWindow("probe")
            cv2.destroyAllWindows()
            pytest.skip("this OpenCV build has a GUI")
        except cv2.error:
            pass
    err = error_of(
        capsys,
        ["infer", str(synthetic_root / "clip.mp4"), *SMOKE, "--show", "--output", str(tmp_path)],
    )
    assert "no GUI" in err and "--show" in err


def test_failure_mid_stream_leaves_no_output(tmp_path, synthetic_root, monkeypatch):
    from segmnv3.deploy.inference import sinks

    calls = {"n": 0}
    original = sinks.VideoSink.write

    def failing_write(self, name, frame, labels):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        original(self, name, frame, labels)

    monkeypatch.setattr(sinks.VideoSink, "write", failing_write)
    with pytest.raises(OSError, match="simulated"):
        main(
            [
                "infer",
                str(synthetic_root / "clip.mp4"),
                *SMOKE,
                "--save-mask",
                "--output",
                str(tmp_path),
            ]
        )
    assert list(tmp_path.iterdir()) == []  # neither the video nor masks, not even partial
