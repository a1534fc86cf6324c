"""A synthetic Cityscapes: procedural street scenes written in the exact Cityscapes layout.

``generate_synthetic(root)`` writes ``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png``
and ``gtFine/<split>/<city>/..._gtFine_{labelIds,color,instanceIds}.png`` for train/val/test,
plus ``root/clip.mp4``, a short drive through one scene for the inference demo. Every image
depends only on ``(seed, split, index)``, so output is identical for any number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.core.contract import MIN_INPUT_SIZE
from segmnv3.core.errors import DatasetError
from segmnv3.data.labels import ID_TO_COLOR, NAME_TO_LABEL
from segmnv3.data.parallel import parallel_map

# Cities per split (fictional, so that nobody mistakes them for real Cityscapes frames).
CITIES = {
    "train": ("synthtown", "polyburg", "renderdorf"),
    "val": ("valstadt",),
    "test": ("testheim",),
}
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2, "clip": 3}

# The classes the generator draws (names as in labels.LABELS); tests check every one appears.
TRAIN_CLASSES = (
    "road",
    "sidewalk",
    "building",
    "wall",
    "fence",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "train",
    "motorcycle",
    "bicycle",
)
VOID_CLASSES = ("ego vehicle", "parking", "rail track")  # plates: drawn, labelled as their car


@dataclass(frozen=True)
class _Job:
    root: Path
    split: str
    index: int
    seed: int
    size: tuple[int, int]


def sample_name(split: str, index: int) -> tuple[str, str]:
    """(city, Cityscapes stem ``<city>_<seq>_<frame>``) of the ``index``-th image of a split."""
    cities = CITIES[split]
    city = cities[index % len(cities)]
    return city, f"{city}_{index // len(cities):06d}_{19 + index % 7:06d}"


def render_sample(seed: int, split: str, index: int, size: tuple[int, int]):
    """Render one frame: (image BGR uint8, label ids uint8, instance ids uint16)."""
    from segmnv3.data.render import render
    from segmnv3.data.scene import sample_scene

    rng = np.random.default_rng([seed, _SPLIT_CODE[split], index])
    scene = sample_scene(rng)
    return render(scene, size, rng)


def _write_png(path: Path, array: np.ndarray, photo: bool = False) -> None:
    import cv2

    # Photos: SUB filter + Huffman-only coding encodes ~2x faster than zlib's default for
    # ~20% more bytes; flat label maps compress best with the default strategy.
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if photo:
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
        params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array, params):
        raise DatasetError(f"could not write {path}; check that the disk is writable and not full")


def _run_job(job: _Job) -> None:
    import cv2

    cv2.setNumThreads(1)
    image, label_ids, instance_ids = render_sample(job.seed, job.split, job.index, job.size)
    city, stem = sample_name(job.split, job.index)
    _write_png(
        job.root / "leftImg8bit" / job.split / city / f"{stem}_leftImg8bit.png", image, photo=True
    )
    gt = job.root / "gtFine" / job.split / city
    _write_png(gt / f"{stem}_gtFine_labelIds.png", label_ids)
    _write_png(gt / f"{stem}_gtFine_instanceIds.png", instance_ids)
    _write_png(
        gt / f"{stem}_gtFine_color.png", np.ascontiguousarray(ID_TO_COLOR[label_ids][..., ::-1])
    )


def generate_synthetic(
    root: str | Path,
    *,
    num_train: int = 40,
    num_val: int = 10,
    num_test: int = 10,
    size: tuple[int, int] = (1024, 2048),
    seed: int = 0,
    workers: int | None = None,
    video: bool = True,
    video_frames: int = 48,
    video_size: tuple[int, int] = (512, 1024),
    video_fps: float = 12.0,
    progress: bool = False,
) -> Path:
    """Write a synthetic Cityscapes-format dataset under ``root`` and return ``root``.

    Args:
        root: output folder (created; existing files of the same names are overwritten).
        num_train / num_val / num_test: images per split.
        size: (H, W) of every image; Cityscapes is (1024, 2048).
        seed: the whole dataset is a pure function of the seed.
        workers: processes (None = all CPU cores).
        video: also write ``root/clip.mp4`` (``video_frames`` frames of ``video_size`` at
            ``video_fps``) showing a drive through one scene.
        progress: show a tqdm bar.
    """
    height, width = _check_size(size)
    if min(num_train, num_val, num_test) < 0:
        raise DatasetError("image counts must be >= 0 (num_train, num_val, num_test)")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(
            f"cannot create output folder {root}: {error.strerror}; choose another path"
        ) from None
    counts = {"train": num_train, "val": num_val, "test": num_test}
    jobs = [
        _Job(root, split, i, seed, (height, width)) for split, n in counts.items() for i in range(n)
    ]
    parallel_map(
        _run_job,
        jobs,
        workers=workers or os.cpu_count() or 1,
        desc="synthetic images",
        progress=progress,
    )
    if video:
        write_clip(
            root / "clip.mp4",
            seed=seed,
            frames=video_frames,
            size=video_size,
            fps=video_fps,
            progress=progress,
        )
    return root


def _check_size(size: Iterable[int]) -> tuple[int, int]:
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < MIN_INPUT_SIZE:
        raise DatasetError(f"size must be (H, W) with both >= {MIN_INPUT_SIZE}, got {size}")
    return size


def write_clip(
    path: str | Path,
    *,
    seed: int = 0,
    frames: int = 48,
    size: tuple[int, int] = (512, 1024),
    fps: float = 12.0,
    speed: float = 9.0,
    progress: bool = False,
) -> Path:
    """Write an mp4 (mp4v) of the camera driving at ``speed`` m/s through one synthetic scene."""
    import cv2
    from tqdm import tqdm

    from segmnv3.data.render import render
    from segmnv3.data.scene import sample_scene

    height, width = _check_size(size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = frames / fps
    scene = sample_scene(
        np.random.default_rng([seed, _SPLIT_CODE["clip"]]), travel=speed * duration
    )
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise DatasetError(
            f"OpenCV cannot write the video {path} (mp4v codec); generate without the video (video=False)"
        )
    try:
        for frame in tqdm(range(frames), desc="clip frames", disable=not progress):
            t = frame / fps
            rng = np.random.default_rng([seed, _SPLIT_CODE["clip"], frame])
            image, _, _ = render(scene, (height, width), rng, camera_z=speed * t, time=t)
            writer.write(image)
    finally:
        writer.release()
    return path


# The label ids the generator can produce, for tests and docs.
PRODUCED_LABEL_IDS = tuple(NAME_TO_LABEL[n].id % 256 for n in TRAIN_CLASSES + VOID_CLASSES)
