"""Labels at any size straight from low-resolution logits: bilinear upsample + argmax, exact,
without computing the upsampled logits.

The rule that makes it cheap: when the four logit vectors around an output pixel (a *cell*
of the low-resolution grid) share one argmax ``c``, every bilinear mix of them (weights
>= 0) has argmax ``c`` too, so the whole cell is ``c``. In a cell whose corners disagree, a
channel can win only where it is not beaten at all four corners by one of the corners'
winners, so only those few candidates are interpolated (along an output row, a channel is
linear in x: one multiply-add per candidate and pixel). The result equals
``F.interpolate(logits, size, mode="bilinear", align_corners=...)`` then ``argmax`` (ties
to the first channel, as torch) except where two channels tie within float32 rounding.

Compiled with numba (a loop over cells; NumPy gathers of the same rule cost 30-60 ms at
1024x2048, more than OpenCV's full resize). The first call compiles (cached on disk).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba import njit

from segmnv3.core.errors import NonFiniteError

__all__ = ["labels_from_logits", "source_coordinates"]


def source_coordinates(
    in_size: int, out_size: int, align_corners: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Torch's bilinear sampling positions along one axis, in its float32 arithmetic.

    Returns:
        (index0, index1, weight1) for each output position: the two input positions it
        mixes (``index1`` = ``index0`` at the last row or column) and the weight of
        ``index1`` (``1 - weight1`` is that of ``index0``).
    """
    return _source_coordinates(int(in_size), int(out_size), bool(align_corners))


@lru_cache(maxsize=64)
def _source_coordinates(in_size: int, out_size: int, align_corners: bool):
    f32 = np.float32
    position = np.arange(out_size, dtype=f32)
    if align_corners:
        scale = f32(in_size - 1) / f32(out_size - 1) if out_size > 1 else f32(0)
        source = scale * position
    else:
        scale = f32(in_size) / f32(out_size)
        source = np.maximum(scale * (position + f32(0.5)) - f32(0.5), f32(0))
    index0 = np.minimum(source.astype(np.int32), in_size - 1)
    index1 = np.where(index0 < in_size - 1, index0 + 1, index0).astype(np.int32)
    weight1 = np.clip(source - index0.astype(f32), f32(0), f32(1)).astype(f32)
    for array in (index0, index1, weight1):
        array.setflags(write=False)
    return index0, index1, weight1


class _Band(NamedTuple):
    """The disagreeing cells of one band (compiled code reads it as a tuple of arrays)."""

    disagree: np.ndarray  # (cells,) int32: the run of output columns of each cell
    first: np.ndarray  # (cells + 1,) int32: its candidates are first[n]..first[n + 1]
    channel: np.ndarray  # (candidates,) int32: their channels, in channel order
    corner: np.ndarray  # (candidates, 4) float32: their values at the 4 corners


def labels_from_logits(
    logits: np.ndarray, out_size: tuple[int, int], *, align_corners: bool = False
) -> np.ndarray:
    """(C, h, w) logits -> (H, W) uint8 labels: bilinear upsample to ``out_size``, then argmax.

    Args:
        logits: (C, h, w) float32 (any strides: an NHWC buffer seen as CHW is read
            without a copy), C <= 256.
        out_size: (H, W) of the labels, any size (the frame's, not only x8).
        align_corners: that of the model's upsample (``Segmenter.align_corners``).

    Returns:
        (H, W) uint8 train ids, equal to torch's ``interpolate`` + ``argmax`` except on
        pixels where two channels tie within float32 rounding.

    Raises:
        ValueError: logits that are not (C, h, w) with 1 <= C <= 256, or an empty size.
        NonFiniteError: logits holding NaN or inf (no label is right then).
    """
    if logits.ndim != 3 or not 1 <= logits.shape[0] <= 256 or 0 in logits.shape:
        raise ValueError(f"logits must be (C, h, w) with 1 <= C <= 256, got {logits.shape}")
    height, width = int(out_size[0]), int(out_size[1])
    if height < 1 or width < 1:
        raise ValueError(f"output size must be positive, got {tuple(out_size)}")
    channels, rows, cols = logits.shape
    hwc = np.ascontiguousarray(logits.transpose(1, 2, 0), dtype=np.float32)  # (h, w, C)
    y0, y1, wy = source_coordinates(rows, height, align_corners)
    x0, x1, wx = source_coordinates(cols, width, align_corners)
    labels = np.empty((height, width), dtype=np.uint8)
    if not _labels(hwc, y0, y1, wy, x0, x1, wx, labels):
        raise NonFiniteError(
            f"the network's logits {logits.shape} hold NaN or inf: its weights or its input "
            "are broken (check the checkpoint with segmnv3 eval)"
        )
    return labels


@njit(cache=True, nogil=True, boundscheck=False)
def _argmax_grid(hwc, best):  # pragma: no cover - compiled
    """``best`` = argmax over channels (ties: the first); False if a value is NaN or inf."""
    rows, cols, channels = hwc.shape
    finite = True
    for y in range(rows):
        for x in range(cols):
            winner, top = 0, hwc[y, x, 0]
            finite &= abs(top) < np.inf  # False for NaN too
            for c in range(1, channels):
                value = hwc[y, x, c]
                finite &= abs(value) < np.inf
                if value > top:
                    winner, top = c, value
            best[y, x] = winner
    return finite


@njit(cache=True, nogil=True, boundscheck=False)
def _candidates(hwc, best, ya, yb, xa, xb, out):  # pragma: no cover - compiled
    """Channels that can win somewhere in the cell (ya..yb, xa..xb), in channel order."""
    corners = (best[ya, xa], best[ya, xb], best[yb, xa], best[yb, xb])
    count = 0
    for c in range(hwc.shape[2]):
        beaten = False
        for k in range(4):
            a = corners[k]
            if (
                hwc[ya, xa, a] > hwc[ya, xa, c]
                and hwc[ya, xb, a] > hwc[ya, xb, c]
                and hwc[yb, xa, a] > hwc[yb, xa, c]
                and hwc[yb, xb, a] > hwc[yb, xb, c]
            ):
                beaten = True
                break
        if not beaten:
            out[count] = c
            count += 1
    return count


@njit(cache=True, nogil=True, boundscheck=False)
def _labels(hwc, y0, y1, wy, x0, x1, wx, labels):  # pragma: no cover - compiled
    """Fills ``labels`` band by band (output rows between two logit rows); False if the
    logits are not all finite."""
    rows, cols, channels = hwc.shape
    height, width = labels.shape
    best = np.empty((rows, cols), dtype=np.int32)
    if not _argmax_grid(hwc, best):
        return False
    starts = _cell_runs(x0, width)
    runs = starts.size - 1
    band = _Band(  # the band's disagreeing cells: run, candidates' channels and corners
        np.empty(runs, dtype=np.int32),
        np.empty(runs + 1, dtype=np.int32),  # candidates of cell n: first[n]..first[n + 1]
        np.empty(runs * channels, dtype=np.int32),
        np.empty((runs * channels, 4), dtype=np.float32),  # (00, 01, 10, 11)
    )
    picked = np.empty(channels, dtype=np.int32)
    top = np.empty(width, dtype=np.float32)
    cells, current = 0, -1
    for i in range(height):
        if y0[i] != current:  # a new band: agreeing cells written in full, the others listed
            current = y0[i]
            cells = _classify(hwc, best, y0[i], y1[i], x0, x1, starts, labels[i], band, picked)
        else:  # agreeing cells repeat the row above
            labels[i, :] = labels[i - 1, :]
        _mix_row(wy[i], wx, starts, cells, band, labels[i], top)
    return True


@njit(cache=True, nogil=True, boundscheck=False)
def _cell_runs(x0, width):  # pragma: no cover - compiled
    """Runs of output columns that share a cell column: [starts[r], starts[r + 1])."""
    starts = np.empty(width + 1, dtype=np.int32)
    runs = 0
    for j in range(width):
        if j == 0 or x0[j] != x0[j - 1]:
            starts[runs] = j
            runs += 1
    starts[runs] = width
    return starts[: runs + 1]


@njit(cache=True, nogil=True, boundscheck=False)
def _classify(hwc, best, ya, yb, x0, x1, starts, row, band, picked):  # pragma: no cover
    """Writes the agreeing cells of the band's first ``row``; lists the others with their
    candidates' corner values in ``band``; returns how many it listed."""
    disagree, first, channel, corner = band
    cells, first[0] = 0, 0
    for r in range(starts.size - 1):
        xa, xb = x0[starts[r]], x1[starts[r]]
        c00 = best[ya, xa]
        if c00 == best[ya, xb] and c00 == best[yb, xa] and c00 == best[yb, xb]:
            row[starts[r] : starts[r + 1]] = c00
            continue
        n = first[cells]
        for k in range(_candidates(hwc, best, ya, yb, xa, xb, picked)):
            c = picked[k]
            channel[n] = c
            corner[n, 0], corner[n, 1] = hwc[ya, xa, c], hwc[ya, xb, c]
            corner[n, 2], corner[n, 3] = hwc[yb, xa, c], hwc[yb, xb, c]
            n += 1
        disagree[cells] = r
        cells += 1
        first[cells] = n
    return cells


@njit(cache=True, nogil=True, boundscheck=False)
def _mix_row(t, wx, starts, cells, band, row, top):  # pragma: no cover - compiled
    """The labels of one output row in the band's disagreeing cells (row weight ``t``)."""
    disagree, first, channel, corner = band
    s = np.float32(1) - t
    for cell in range(cells):
        r, n = disagree[cell], first[cell]
        begin, end = starts[r], starts[r + 1]
        if first[cell + 1] - n == 2:  # most cells: one boundary between two channels
            a = s * (corner[n + 1, 0] - corner[n, 0]) + t * (corner[n + 1, 2] - corner[n, 2])
            b = s * (corner[n + 1, 1] - corner[n, 1]) + t * (corner[n + 1, 3] - corner[n, 3])
            slope = b - a
            c, d = channel[n], channel[n + 1]
            for j in range(begin, end):
                row[j] = d if a + slope * wx[j] > 0 else c
            continue
        for k in range(n, first[cell + 1]):  # a running max over the run, channel by channel
            c = channel[k]
            a = s * corner[k, 0] + t * corner[k, 2]  # the row at xa
            slope = s * corner[k, 1] + t * corner[k, 3] - a  # to the row at xb
            for j in range(begin, end):
                value = a + slope * wx[j]
                if k == n or value > top[j]:
                    top[j] = value
                    row[j] = c
