"""The size the network runs an input at, when the user gave no ``--resolution``.

An input runs at its own size unless that is impossible or unreasonable:

- smaller than ``MIN_INPUT_SIZE`` (the network's total stride) on a side: resized up to
  the minimum;
- more than ``MAX_NETWORK_PIXELS``: scaled down, keeping the aspect ratio, until it fits.
  Activations grow with the pixel count (``ESTIMATED_BYTES_PER_PIXEL``): an 8000x8000
  photo at native size needs about 13 GB, a 2048x2048 one about 0.8 GB.

Labels are always resized back to the input's size (NEAREST), so outputs keep the input
geometry either way. ``network_size`` returns a note saying what it did.
"""

from __future__ import annotations

import math

from segmnv3.core.contract import MIN_INPUT_SIZE
from segmnv3.core.errors import UserError

MAX_NETWORK_PIXELS = 2048 * 2048
"""Largest input (pixels) run at native size by default: twice a Cityscapes frame."""

ESTIMATED_BYTES_PER_PIXEL = 200
"""Peak memory per input pixel of eager inference (measured: ~180 B/px for Table 7 row 8
at 1024x2048 and 2048x2048, 1 thread), rounded up."""


def estimated_bytes(size: tuple[int, int]) -> int:
    """Memory the network needs for one input of ``size`` (H, W), roughly."""
    return size[0] * size[1] * ESTIMATED_BYTES_PER_PIXEL


def network_size(
    frame: tuple[int, int], requested: tuple[int, int] | None = None
) -> tuple[tuple[int, int] | None, str | None]:
    """(network (H, W) or None for the frame's own size, a note or None) for one input.

    Args:
        frame: (H, W) of the input.
        requested: the user's ``--resolution``; used as given.
    """
    if requested is not None:
        return requested, None
    height, width = frame
    if min(height, width) < MIN_INPUT_SIZE:
        size = _within_cap((max(height, MIN_INPUT_SIZE), max(width, MIN_INPUT_SIZE)))
        return size, (
            f"input {height}x{width} is smaller than the network minimum of {MIN_INPUT_SIZE} "
            f"px: running it at {size[0]}x{size[1]}, labels resized back"
        )
    if height * width <= MAX_NETWORK_PIXELS:
        return None, None
    scale = math.sqrt(MAX_NETWORK_PIXELS / (height * width))
    size = _within_cap(
        (max(MIN_INPUT_SIZE, int(height * scale)), max(MIN_INPUT_SIZE, int(width * scale)))
    )
    return size, (
        f"input {height}x{width} would need about {_gb(estimated_bytes(frame))} at native "
        f"size: running it at {size[0]}x{size[1]} (at most {MAX_NETWORK_PIXELS / 1e6:.1f} MP "
        "without --resolution), labels resized back"
    )


def _within_cap(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` with its longer side cut so that it holds at most ``MAX_NETWORK_PIXELS``:
    the shorter side may sit at the minimum (a 400000x8 strip), so scaling both is not enough."""
    height, width = size
    if height * width <= MAX_NETWORK_PIXELS:
        return size
    if height >= width:
        return MAX_NETWORK_PIXELS // width, width
    return height, MAX_NETWORK_PIXELS // height


def check_memory(size: tuple[int, int], *, what: str) -> None:
    """UserError when one input of ``size`` would need more memory than is available."""
    needed, available = estimated_bytes(size), available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"{what} {size[0]}x{size[1]} would need about {_gb(needed)} of memory, "
            f"{_gb(available)} is available; choose a smaller size"
        )


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB"
