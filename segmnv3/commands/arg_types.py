"""argparse ``type=`` helpers shared by the subcommands: bad numbers are refused at parsing.

argparse turns the ``ArgumentTypeError`` of a ``type=`` callable into one usage line and
exit status 2 (``argument --repeats: ... (got 0)``), before any model is built or any
file written. Each helper says the valid range in its message and in its ``__name__``
(argparse shows the name for a plain ``ValueError``).

Example::

    parser.add_argument("--repeats", type=positive_int, default=10)
    parser.add_argument("--warmup", type=int_at_least(0), default=2)
    parser.add_argument("--resolution", type=resolution)

Nothing here imports torch: ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

from segmnv3.core.contract import EVAL_SCALE_RANGE, MIN_INPUT_SIZE

MAX_RESOLUTION_SIDE = 8192
"""Largest side ``--resolution`` accepts: 4x Cityscapes' 2048 (about 67 MP at 8192x8192)."""


def int_at_least(minimum: int) -> Callable[[str], int]:
    """A ``type=`` that reads an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


positive_int = int_at_least(1)
"""``type=`` for counts that must be at least 1 (threads, repeats, images, frames)."""

non_negative_int = int_at_least(0)
"""``type=`` for counts that may be 0 (warm-up runs)."""


def port(text: str) -> int:
    """``type=`` for a TCP port: 0 (any free one) to 65535."""
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free one), got {value}")
    return value


def positive_float(text: str) -> float:
    """``type=`` for a finite number > 0 (frame rates)."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {value:g}")
    return value


def scale_factor(text: str) -> float:
    """``type=`` for a test-time scale factor in ``EVAL_SCALE_RANGE`` (1 = the image as is)."""
    value = _finite_float(text)
    low, high = EVAL_SCALE_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"a scale must lie in [{low:g}, {high:g}] (1 = full resolution), got {value:g}"
        )
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def resolution(text: str) -> tuple[int, int]:
    """``type=`` for ``HxW`` (``512x1024``): each side in [MIN_INPUT_SIZE, MAX_RESOLUTION_SIDE]."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        height, width = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH, e.g. 512x1024, got {text!r}"
        ) from None
    low, high = MIN_INPUT_SIZE, MAX_RESOLUTION_SIDE
    if not (low <= height <= high and low <= width <= high):
        raise argparse.ArgumentTypeError(
            f"both sides must be between {low} and {high} pixels, got {height}x{width}"
        )
    return height, width


_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+|mps|xpu|xpu:\d+)$")


def torch_device(text: str) -> str:
    """``type=`` for a torch device name: ``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``xpu[:N]``.

    Only the spelling is checked here (without importing torch); whether the device exists
    is ``segmnv3.deploy.runtimes.check_device``'s job, before any work.
    """
    if not _DEVICE.match(text.strip().lower()):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}; use cpu, cuda, cuda:N (N-th GPU), mps or xpu"
        )
    return text.strip().lower()
