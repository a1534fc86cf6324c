"""Where ``segmnv3 infer`` writes: an overlay video, overlay images, label PNGs.

Nothing appears under its final name before it is complete (``segmnv3.core.files``): a
video is written to its atomic temporary and published by ``commit``; each image PNG is
written atomically; a mask folder is filled under a staging name
(``.<name>_masks.tmp<PID>``, recognisable by ``core.files.stale_temporaries``) and swapped
in by ``commit``. ``discard`` drops a partial video and its masks and returns what it
dropped; images already written are complete and stay (``written``).
"""

from __future__ import annotations

import os
import shutil
from contextlib import AbstractContextManager
from pathlib import Path

import cv2
import numpy as np

from segmnv3.core.cityscapes_labels import CITYSCAPES
from segmnv3.core.errors import UserError
from segmnv3.core.files import atomic_path, temporary_path
from segmnv3.core.label_set import LabelSet
from segmnv3.data.labels import legend_image, overlay
from segmnv3.deploy.inference.preprocess import resize_labels

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mov": "mp4v", ".mkv": "mp4v"}


def check_writable(folder: Path) -> Path:
    """Create ``folder`` and prove a file can be written there, else UserError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(folder / "write-test")  # stale_temporaries knows the name
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"output folder {folder} is not writable ({error.strerror}); choose another folder"
        ) from None
    return folder


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write a PNG atomically; UserError when OpenCV cannot."""
    with atomic_path(path) as temporary:
        if not cv2.imwrite(str(temporary), image):
            raise UserError(f"cannot write {path} (disk full or not writable?)")
    return path


class _Discarded(Exception):
    """Thrown into a staged file's context to drop it instead of publishing it."""


LEGEND_NAME = "legend.png"


def write_legend(folder: Path, labels: LabelSet) -> Path:
    """``folder/legend.png``: the colour and name of every class of ``labels``."""
    return write_png(folder / LEGEND_NAME, legend_image(labels))


def encode_mask(labels: LabelSet, train_ids: np.ndarray) -> np.ndarray:
    """A prediction in the label set's stored form, as OpenCV writes it (colours in BGR)."""
    stored = labels.from_train_ids(train_ids)
    return np.ascontiguousarray(stored[..., ::-1]) if stored.ndim == 3 else stored


class _Masks:
    """Optional mask PNGs (the label set's stored values) in a staging folder swapped in at
    the end."""

    def __init__(self, folder: Path | None, labels: LabelSet = CITYSCAPES):
        self.folder, self.labels = folder, labels
        self.partial = None if folder is None else temporary_path(folder)
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial.mkdir(parents=True)

    def write(self, name: str, labels: np.ndarray) -> None:
        if self.partial is not None:
            write_png(self.partial / f"{name}.png", encode_mask(self.labels, labels))

    def commit(self) -> None:
        if self.partial is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            os.replace(self.partial, self.folder)

    def discard(self) -> None:
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)


def odd_size(size: tuple[int, int]) -> bool:
    """True when a side is odd: FFmpeg's encoders (via OpenCV) drop the last row/column."""
    return size[0] % 2 == 1 or size[1] % 2 == 1


def video_path(folder: Path, name: str, size: tuple[int, int]) -> Path:
    """``<name>_overlay.mp4``; ``.avi`` for odd frame sizes, which only OpenCV's own MJPEG
    writer keeps exactly (every FFmpeg codec rounds them down to even)."""
    return folder / f"{name}_overlay{'.avi' if odd_size(size) else '.mp4'}"


def _video_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(path.suffix.lower(), "mp4v"))
    if odd_size(size):  # OpenCV's built-in MJPEG writer: exact size (.avi only)
        return cv2.VideoWriter(
            str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), fps, size[::-1]
        )
    return cv2.VideoWriter(str(path), fourcc, fps, (size[1], size[0]))


class VideoSink:
    """Overlay video with the input's fps and frame size (+ optional mask folder).

    Args:
        path: final video path (``.mp4`` -> mp4v, ``.avi`` -> MJPG); for an odd frame
            size it must be ``.avi`` (``video_path`` picks it).
        fps: frames per second of the input.
        size: (H, W) of the input frames.
        alpha: weight of the colour mask in the overlay.
        masks: folder for mask PNGs, or None.
        show: also display each frame (``cv2.imshow``).
        labels: the model's label set: overlay colours and the masks' stored values.
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        alpha: float,
        masks: Path | None = None,
        show: bool = False,
        labels: LabelSet = CITYSCAPES,
    ):
        self.path, self.alpha, self.size, self.show = path, alpha, size, show
        self.labels = labels
        self._staged: AbstractContextManager[Path] = atomic_path(path)
        if odd_size(size) and path.suffix.lower() != ".avi":
            raise UserError(
                f"video {path}: frames of {size[1]}x{size[0]} pixels have an odd side, which "
                "the FFmpeg codecs would crop by one; name an .avi output (written as MJPEG "
                "at the exact size)"
            )
        temporary = self._staged.__enter__()  # published by commit, dropped by discard
        self.writer = _video_writer(temporary, fps, size)
        if not self.writer.isOpened():
            self._drop()
            raise UserError(
                f"OpenCV cannot write video {path} (codec for {path.suffix!r} unavailable or "
                "folder not writable); try an .avi or .mp4 name"
            )
        self.masks = _Masks(masks, labels)
        self.written: list[Path] = []  # filled by commit

    def _drop(self) -> None:
        self._staged.__exit__(_Discarded, _Discarded(), None)

    def write(self, name: str, frame: np.ndarray, labels: np.ndarray) -> None:
        labels = resize_labels(labels, frame.shape[:2])  # (H, W) uint8
        blended = overlay(frame, labels, self.alpha, self.labels)
        self.writer.write(blended)
        self.masks.write(name, labels)
        if self.show:
            show_frame(blended)

    def commit(self) -> list[Path]:
        self.writer.release()
        self._staged.__exit__(None, None, None)
        self.masks.commit()
        self.written = [self.path] + ([self.masks.folder] if self.masks.folder else [])
        return self.written

    def discard(self) -> list[Path]:
        """Drop the partial video (and masks); returns the final names not published."""
        self.writer.release()
        self._drop()
        self.masks.discard()
        return [self.path] + ([self.masks.folder] if self.masks.folder else [])


class ImageSink:
    """``<name>_overlay.png`` (and ``<name>_mask.png`` with masks) per input image.

    ``name`` may hold ``/`` (an input's sub-path, ``sources.output_names``): the output
    then goes to the same sub-folder of ``folder``. Masks hold the label set's stored
    values (train ids for Cityscapes, a folder dataset's own values or colours).
    """

    def __init__(
        self,
        folder: Path,
        alpha: float,
        save_masks: bool,
        show: bool = False,
        labels: LabelSet = CITYSCAPES,
    ):
        self.folder, self.alpha, self.save_masks, self.show = folder, alpha, save_masks, show
        self.labels = labels
        self.written: list[Path] = []
        self.images = 0  # inputs whose outputs are all written

    def write(self, name: str, frame: np.ndarray, labels: np.ndarray) -> None:
        labels = resize_labels(labels, frame.shape[:2])
        blended = overlay(frame, labels, self.alpha, self.labels)
        outputs = (blended, encode_mask(self.labels, labels))
        for path, image in zip(self.targets(name), outputs, strict=False):
            self.written.append(write_png(path, image))
        self.images += 1
        if self.show:
            show_frame(blended)

    def commit(self) -> list[Path]:
        return self.written

    def discard(self) -> list[Path]:
        """Each image is complete once published: those of a failed run stay (``written``)."""
        return []

    def targets(self, name: str) -> list[Path]:
        """The files ``write`` publishes for ``name``."""
        paths = [self.folder / f"{name}_overlay.png"]
        return paths + ([self.folder / f"{name}_mask.png"] if self.save_masks else [])


def check_gui() -> None:
    """UserError when this OpenCV build cannot open windows (opencv-python-headless)."""
    try:
        cv2.namedWindow("segmnv3")
    except cv2.error:
        raise UserError(
            "showing frames: this OpenCV build has no GUI support (opencv-python-headless is "
            "installed); open the written files instead, or install opencv-python in its place"
        ) from None


def show_frame(image: np.ndarray) -> None:
    cv2.imshow("segmnv3", image)
    cv2.waitKey(1)
