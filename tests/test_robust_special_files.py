"""Nothing hangs, nothing explodes: FIFOs, devices, folders and symlink loops where a file is
expected, `**` globs over loops, and images whose header promises gigabytes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from segmnv3.cli import main
from segmnv3.core.checkpoint import load_checkpoint
from segmnv3.core.errors import CheckpointError, DatasetError, UserError
from segmnv3.core.image_header import check_pixel_limit, image_header_size
from segmnv3.core.safe_io import safe_glob, walk_files

ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
SMOKE = ["--random-init", "--config", ROW11]
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def deadline(seconds: int = 30):
    """Fail instead of hanging: SIGALRM interrupts a blocked open() or a runaway walk."""

    def expired(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def image(path: Path, size=(24, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((*size, 3), 90, np.uint8))
    return path


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` (the pixel data is one tiny chunk)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + b"\x00\x00\x00\x00IDAT\x00\x00\x00\x00")
    return path


# -- special files where a file is expected ----------------------------------------------


def test_a_fifo_as_the_video_input_is_refused_at_once(tmp_path):
    fifo = tmp_path / "drive.mp4"
    os.mkfifo(fifo)
    code = f"from segmnv3.cli import main; raise SystemExit(main({['infer', str(fifo), *SMOKE]!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"error: input {fifo} is a named pipe (FIFO)" in done.stderr  # was: blocked in open()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO): reading it would wait"),
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (lambda p: p.symlink_to(p), "is a symlink loop"),
        (lambda p: p.symlink_to("/dev/zero"), "is a character device, not a file"),
    ],
)
def test_weights_that_are_no_file_say_what_they_are(tmp_path, make, expected, capsys):
    weights = tmp_path / "best.pt"
    make(weights)
    with deadline():
        with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {weights} {expected}")):
            load_checkpoint(weights)  # was: "does not exist" (and /dev/zero read forever)
        photo = image(tmp_path / "in" / "a.png")
        args = ["infer", str(photo), "--weights", str(weights), "--output", str(tmp_path)]
        assert main(args) == 2
    assert expected in capsys.readouterr().err


def test_fifo_and_self_symlink_in_an_image_folder_are_skipped_with_one_line(tmp_path, capsys):
    folder = tmp_path / "in"
    image(folder / "a.png")
    os.mkfifo(folder / "b.png")
    (folder / "c.png").symlink_to(folder / "c.png")
    out = tmp_path / "out"
    with deadline():
        assert main(["infer", str(folder), *SMOKE, "--output", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a_overlay.png", "legend.png"]
    err = capsys.readouterr().err
    assert f"skipping {folder / 'b.png'}: image {folder / 'b.png'} is a named pipe" in err
    assert f"skipping {folder / 'c.png'}: image {folder / 'c.png'} is a symlink loop" in err
    assert "Traceback" not in err


def test_a_fifo_in_the_training_data_is_a_dataset_error(synthetic_root, tmp_path):
    from segmnv3.data.build import open_dataset

    root = tmp_path / "root"
    shutil.copytree(synthetic_root / "leftImg8bit" / "val", root / "leftImg8bit" / "val")
    shutil.copytree(synthetic_root / "gtFine" / "val", root / "gtFine" / "val")
    victim = sorted((root / "leftImg8bit" / "val").rglob("*.png"))[0]
    victim.unlink()
    os.mkfifo(victim)
    with deadline(), pytest.raises(DatasetError, match=f"image {victim} is a named pipe"):
        open_dataset(root, "val")


# -- symlink loops in globs and walks -----------------------------------------------------


def _looped_tree(tmp_path: Path, loops: int) -> Path:
    top = tmp_path / "tree"
    image(top / "x.png")
    image(top / "sub" / "y.png")
    for number in range(loops):
        (top / "sub" / f"loop{number}").symlink_to(top)  # sub/loopN -> tree: a cycle
    return top


def test_a_double_star_glob_over_symlink_loops_visits_each_image_once(tmp_path):
    top = _looped_tree(tmp_path, loops=3)  # glob.glob grows as 3^depth: it never ended
    with deadline():
        found = safe_glob(str(top / "**" / "*.png"))
        walked = list(walk_files(top))
    assert found == [top / "sub" / "y.png", top / "x.png"]
    assert sorted(walked) == found


def test_infer_with_a_double_star_glob_over_a_loop_segments_each_image_once(tmp_path):
    top = _looped_tree(tmp_path, loops=1)  # one loop: glob.glob listed x.png dozens of times
    out = tmp_path / "out"
    with deadline(120):
        assert main(["infer", str(top / "**" / "*.png"), *SMOKE, "--output", str(out)]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["legend.png", "sub/y_overlay.png", "x_overlay.png"]


# -- the pixel limit, from the header, before decoding ------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp"])
def test_image_header_size_reads_the_size_without_decoding(tmp_path, suffix):
    path = image(tmp_path / f"odd{suffix}", size=(37, 53))
    assert image_header_size(path) == (37, 53)


def test_the_limit_names_the_size_the_memory_and_the_override(tmp_path, monkeypatch):
    bomb = png_header(tmp_path / "bomb.png", 20000, 20000)
    message = (
        f"image {bomb} is 20000x20000 (400 MP, 1.1 GiB decoded): above the 100 MP limit; "
        "downscale it, or allow it with SEGMNV3_MAX_IMAGE_PIXELS=400000000"
    )
    with pytest.raises(UserError) as caught:
        check_pixel_limit(bomb)
    assert str(caught.value) == message
    monkeypatch.setenv("SEGMNV3_MAX_IMAGE_PIXELS", "400000000")
    assert check_pixel_limit(bomb) == (20000, 20000)


def test_a_pixel_bomb_is_refused_before_decoding_in_infer_train_prepare_and_export(
    tmp_path, capsys
):
    from segmnv3.core.cityscapes_labels import CITYSCAPES_LABELIDS
    from segmnv3.data.decode import read_image, read_mask_file
    from segmnv3.data.layout import Pair
    from segmnv3.data.prepare import _decode
    from segmnv3.deploy.export.quantize import calibration_batches
    from segmnv3.deploy.images import read_bgr

    bomb = png_header(tmp_path / "bomb.png", 20000, 20000)
    out = tmp_path / "out"
    assert main(["infer", str(bomb), *SMOKE, "--output", str(out)]) == 2
    assert "bomb.png is 20000x20000 (400 MP" in capsys.readouterr().err
    for reader in (read_image, read_mask_file):  # training and eval data
        with pytest.raises(DatasetError, match="above the 100 MP limit"):
            reader(bomb)
    undecodable, _, problem, _ = _decode(Pair(bomb, bomb, "bomb", CITYSCAPES_LABELIDS))
    assert undecodable == [] and "above the 100 MP limit" in problem  # prepare's check
    with pytest.raises(UserError, match="photo .*above the 100 MP limit"):
        read_bgr(bomb, what="photo")  # export --photos
    with pytest.raises(UserError, match="calibration image .*above the 100 MP limit"):
        next(calibration_batches([bomb], (32, 64)))


# -- archives: members size-checked and read only as far as the index points --------------


class _Zeros:
    """A file object of ``size`` zero bytes, for tarfile.addfile without the bytes in memory."""

    def __init__(self, size: int):
        self.left = size

    def read(self, count: int = -1) -> bytes:
        count = self.left if count < 0 else min(count, self.left)
        self.left -= count
        return bytes(count)


def _tarball(path: Path, members: dict[str, int | bytes]) -> Path:
    import tarfile

    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = content if isinstance(content, int) else len(content)
            data = (
                _Zeros(content) if isinstance(content, int) else __import__("io").BytesIO(content)
            )
            archive.addfile(info, data)
    return path


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (  # a garbage index beside a 300 MB data member: the member was read whole first
            {
                "m/model.ckpt.index": b"not a table" * 10,
                "m/model.ckpt.data-00000-of-00001": 300 << 20,
            },
            "is not a TensorFlow checkpoint index",
        ),
        ({"m/model.ckpt.index": 80 << 20}, "model.ckpt.index is larger than 64 MB: not the index"),
    ],
)
def test_a_tarball_with_a_huge_member_is_refused_without_reading_it(tmp_path, members, expected):
    import tracemalloc

    from segmnv3.models.deeplab.tf_checkpoint import read_tf_checkpoint

    path = _tarball(tmp_path / "bomb.tar.gz", members)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=expected):
            read_tf_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"peak {peak / 2**20:.0f} MB"


def test_a_fifo_or_folder_as_the_config_says_what_it_is(tmp_path, capsys):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    (tmp_path / "d.yaml").mkdir()
    with deadline():
        assert main(["profile", "--config", str(fifo)]) == 2
        assert main(["profile", "--config", str(tmp_path / "d.yaml")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: config file {fifo} is a named pipe (FIFO): reading it would wait for a writer "
        "forever; give a YAML file",
        f"error: config file {tmp_path / 'd.yaml'} is a folder, not a file; give a YAML file",
    ]  # was: "does not exist and is not a shipped config name"
