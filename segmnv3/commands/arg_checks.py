"""argparse ``type=`` functions that reject out-of-range numbers with the valid range.

A bad value then fails at parse time (usage line + one error line, exit 2) instead of
producing an empty result or a library error much later. Nothing heavy is imported here:
``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import math

# Test-time scales the evaluator accepts: below 1/4 the network sees a few pixels, above 4
# a 1024x2048 frame becomes 4096x8192. Mirrors segmnv3.engine.config.SCALE_RANGE.
SCALE_RANGE = (0.25, 4.0)


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _int_at_least(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number > 0")
    return value


def scale_factor(text: str) -> float:
    """A test-time scale factor in ``SCALE_RANGE`` (1 = the image as it is)."""
    value = _finite_float(text)
    low, high = SCALE_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a scale must lie in [{low:g}, {high:g}] (1 = full resolution)"
        )
    return value


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= {minimum}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number")
    return value
