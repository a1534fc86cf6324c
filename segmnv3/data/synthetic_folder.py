"""The synthetic street scenes written as a folder dataset with a label set of their own.

``generate_synthetic_folder(root)`` renders the same scenes as ``segmnv3.data.synthetic``
(``render_sample``) and writes them in the folder format (``segmnv3.data.layout_folder``)::

    root/labels.yaml
    root/images/<split>/<town>/<street>/<stem>.jpg     # JPEG photos, two nesting levels
    root/masks/<split>/<town>/<street>/<stem>.png

with 6 classes merged from the renderer's Cityscapes label ids (:data:`FOLDER_CLASSES`):
road; sidewalk; building (+ wall, fence); vegetation (+ terrain); vehicle (car, truck, bus,
train, motorcycle, bicycle); person (+ rider). Everything else the renderer draws (sky,
poles, traffic lights and signs, void ids) is ignored: it is not one of the 6 classes.

Two mask encodings (``mask_format``):

* ``color`` (default): RGB PNGs holding each class's colour; ignored pixels are black,
  listed in ``ignore_colors``.
* ``index``: 8-bit PNGs holding the renderer's raw Cityscapes label ids; ``labels.yaml``
  merges several ids into one class with ``values:`` and lists the rest in
  ``ignore_values``.

Both decode to the same train ids. Every file depends only on ``(seed, split, index)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmnv3.core.cityscapes_labels import LABELS, NAME_TO_LABEL
from segmnv3.core.contract import IGNORE_INDEX
from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import LABELS_FILENAME
from segmnv3.core.label_set import ClassSpec, LabelSet, MaskFormat, Rgb
from segmnv3.data.parallel import parallel_map
from segmnv3.data.synthetic import CITIES, _check_size, render_sample, sample_name

LABEL_SET_NAME = "synthetic-folder"
IGNORE_COLOR: Rgb = (0, 0, 0)
JPEG_QUALITY = 95
STREETS = 2  # street folders per town: the second nesting level

# (class name, RGB colour, the renderer's Cityscapes classes merged into it), train-id order.
FOLDER_CLASSES: tuple[tuple[str, Rgb, tuple[str, ...]], ...] = (
    ("road", (128, 64, 128), ("road",)),
    ("sidewalk", (244, 35, 232), ("sidewalk",)),
    ("building", (70, 70, 70), ("building", "wall", "fence")),
    ("vegetation", (107, 142, 35), ("vegetation", "terrain")),
    ("vehicle", (0, 0, 142), ("car", "truck", "bus", "train", "motorcycle", "bicycle")),
    ("person", (220, 20, 60), ("person", "rider")),
)


def synthetic_folder_label_set(mask_format: MaskFormat = "color") -> LabelSet:
    """The label set :func:`generate_synthetic_folder` writes to ``labels.yaml``.

    Args:
        mask_format: ``color`` (class colours, black ignored) or ``index`` (Cityscapes label
            ids merged with ``values``; every other Cityscapes id ignored).
    """
    if mask_format == "color":
        classes = tuple(ClassSpec(name, color) for name, color, _ in FOLDER_CLASSES)
        return LabelSet(
            classes, ignore_colors=(IGNORE_COLOR,), mask_format="color", name=LABEL_SET_NAME
        )
    if mask_format != "index":
        raise DatasetError(f"mask_format={mask_format!r} is not one of ['color', 'index']")
    classes = tuple(
        ClassSpec(name, color, tuple(NAME_TO_LABEL[source].id for source in sources))
        for name, color, sources in FOLDER_CLASSES
    )
    used = {v for spec in classes for v in spec.values}
    ignored = sorted({label.id % 256 for label in LABELS} - used)
    return LabelSet(classes, ignore_values=tuple(ignored), mask_format="index", name=LABEL_SET_NAME)


def label_id_to_train_id() -> np.ndarray:
    """(256,) uint8: the renderer's Cityscapes label id -> train id of the 6 classes or 255."""
    table = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for train_id, (_, _, sources) in enumerate(FOLDER_CLASSES):
        for source in sources:
            table[NAME_TO_LABEL[source].id] = train_id
    return table


def sample_path(split: str, index: int) -> str:
    """``<town>/<street>/<stem>`` of the ``index``-th sample of ``split`` (no suffix)."""
    town, stem = sample_name(split, index)
    street = f"street{(index // len(CITIES[split])) % STREETS}"
    return f"{town}/{street}/{stem}"


def label_file_text(labels: LabelSet) -> str:
    """``labels.yaml`` for ``labels`` in the format of ``segmnv3.core.label_file``."""
    lines = [
        "# Written by `segmnv3 synth --format folder`: 6 classes merged from the synthetic",
        "# scenes' Cityscapes label ids; sky, poles, traffic lights / signs and void are ignored.",
        f"name: {labels.name}",
        f"mask_format: {labels.mask_format}",
        "classes:                      # train-id order: output channel i is classes[i]",
    ]
    if labels.mask_format == "index":
        lines.insert(
            2, "# values: the Cityscapes label ids stored in the masks, several per class."
        )
    for spec in labels.classes:
        entry = f"  - {{name: {json.dumps(spec.name)}, color: {list(spec.color)}"
        if labels.mask_format == "index":
            entry += f", values: {list(spec.values)}"
        lines.append(entry + "}")
    if labels.ignore_values:
        lines.append(f"ignore_values: {list(labels.ignore_values)}")
    if labels.ignore_colors:
        lines.append(f"ignore_colors: {[list(c) for c in labels.ignore_colors]}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Job:
    root: Path
    split: str
    index: int
    seed: int
    size: tuple[int, int]
    mask_format: MaskFormat


def render_folder_sample(
    seed: int, split: str, index: int, size: tuple[int, int], mask_format: MaskFormat = "color"
) -> tuple[np.ndarray, np.ndarray]:
    """(image BGR uint8 (H, W, 3), mask as stored: RGB (H, W, 3) or label ids (H, W))."""
    image, label_ids, _ = render_sample(seed, split, index, size)
    if mask_format == "index":
        return image, label_ids
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(FOLDER_CLASSES)] = [color for _, color, _ in FOLDER_CLASSES]
    palette[IGNORE_INDEX] = IGNORE_COLOR
    return image, palette[label_id_to_train_id()[label_ids]]


def _run_job(job: _Job) -> None:
    import cv2

    cv2.setNumThreads(1)
    image, mask = render_folder_sample(job.seed, job.split, job.index, job.size, job.mask_format)
    key = sample_path(job.split, job.index)
    if mask.ndim == 3:
        mask = np.ascontiguousarray(mask[..., ::-1])  # RGB -> BGR for OpenCV
    _write(
        job.root / "images" / job.split / f"{key}.jpg",
        image,
        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
    )
    _write(job.root / "masks" / job.split / f"{key}.png", mask, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def _write(path: Path, array: np.ndarray, params: list[int]) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array, params):
        raise DatasetError(f"could not write {path}; check that the disk is writable and not full")


def generate_synthetic_folder(
    root: str | Path,
    *,
    num_train: int = 40,
    num_val: int = 10,
    num_test: int = 0,
    size: tuple[int, int] = (512, 1024),
    seed: int = 0,
    mask_format: MaskFormat = "color",
    workers: int | None = None,
    progress: bool = False,
) -> Path:
    """Write a synthetic folder dataset with 6 classes under ``root`` and return ``root``.

    Args:
        root: output folder (created; existing files of the same names are overwritten).
        num_train / num_val / num_test: images per split (a split with 0 is not written).
        size: (H, W) of every image.
        seed: the whole dataset is a pure function of the seed.
        mask_format: ``color`` (RGB class colours) or ``index`` (raw label ids merged by
            ``values:`` in labels.yaml).
        workers: processes (None = all CPU cores).
        progress: show a tqdm bar.

    Raises:
        DatasetError: a bad size, count or mask format, or an unwritable ``root``.
    """
    height, width = _check_size(size)
    labels = synthetic_folder_label_set(mask_format)
    counts = {"train": num_train, "val": num_val, "test": num_test}
    if min(counts.values()) < 0:
        raise DatasetError("image counts must be >= 0 (num_train, num_val, num_test)")
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / LABELS_FILENAME).write_text(label_file_text(labels), encoding="utf-8")
    except OSError as error:
        raise DatasetError(
            f"cannot write to output folder {root}: {error.strerror}; choose another path"
        ) from None
    jobs = [
        _Job(root, split, i, seed, (height, width), mask_format)
        for split, n in counts.items()
        for i in range(n)
    ]
    parallel_map(
        _run_job,
        jobs,
        workers=workers or os.cpu_count() or 1,
        desc="synthetic folder images",
        progress=progress,
    )
    return root
