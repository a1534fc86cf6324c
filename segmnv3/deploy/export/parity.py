"""Does an exported graph compute what PyTorch computes? Thresholds and the check.

Every fp32 export is followed by a parity check on real images: the largest absolute
logit difference and the argmax agreement against eager PyTorch, with thresholds stated
in ``ParityThresholds``. A graph that ends in labels (``labels-`` formats) has no logits
to compare: its labels must agree with PyTorch's argmax as closely.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from segmnv3.data.config import DataConfig
from segmnv3.deploy.inference.preprocess import DEFAULT_DATA, to_input
from segmnv3.deploy.runtimes import Predictor


@dataclass(frozen=True)
class ParityThresholds:
    """Pass criteria of an export against eager fp32 PyTorch.

    Attributes:
        max_abs_diff: largest |logit difference| allowed, relative to the logits' scale
            (``max |logit|``, at least 1): 1e-3 for fp32 runtimes.
        min_agreement: fraction of pixels whose argmax must match: 99.9% for fp32.
    """

    max_abs_diff: float = 1e-3
    min_agreement: float = 0.999


@dataclass
class ParityReport:
    """Outcome of comparing one runtime with eager PyTorch on ``images`` images."""

    backend: str
    images: int
    max_abs_diff: float | None  # None: the graph ends in labels
    logit_scale: float
    agreement: float
    thresholds: ParityThresholds

    @property
    def passed(self) -> bool:
        """Within both thresholds; a NaN or inf anywhere (``max_abs_diff`` inf) fails.
        A labels graph: within the agreement threshold (a NaN pixel never agrees)."""
        if not math.isfinite(self.logit_scale):
            return False
        if self.max_abs_diff is None:
            return self.agreement >= self.thresholds.min_agreement
        if not math.isfinite(self.max_abs_diff):
            return False
        relative = self.max_abs_diff / max(1.0, self.logit_scale)
        return relative <= self.thresholds.max_abs_diff and (
            self.agreement >= self.thresholds.min_agreement
        )

    def line(self) -> str:
        """One human-readable line: figures, thresholds and PASS/FAIL."""
        t = self.thresholds
        logits = (
            "labels graph (no logits to compare)"
            if self.max_abs_diff is None
            else f"max |logit diff| {self.max_abs_diff:.2e} (logit scale "
            f"{self.logit_scale:.1f}, allowed {t.max_abs_diff:.0e} x scale)"
        )
        return (
            f"{self.backend:>18}: {logits}, argmax agreement {100 * self.agreement:.3f}% "
            f"(need >= {100 * t.min_agreement:.1f}%) over {self.images} image(s): "
            f"{'PASS' if self.passed else 'FAIL'}"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def check_parity(
    reference: Predictor,
    candidate: Predictor,
    images: list[np.ndarray],
    size: tuple[int, int] | None,
    thresholds: ParityThresholds = ParityThresholds(),
    data: DataConfig = DEFAULT_DATA,
) -> ParityReport:
    """Compare ``candidate`` with eager PyTorch on real BGR images.

    Args:
        reference: the eager fp32 model.
        candidate: the exported runtime; one whose graph ends in labels (``output``
            ``labels``) is compared by argmax agreement alone.
        images: BGR uint8 frames (e.g. from the synthetic set).
        size: network input (H, W) the export was made for; None = each image's own size.
        thresholds: pass criteria.
        data: the model's data config (normalisation).
    """
    labels_only = candidate.output == "labels"
    worst, scale, agree, total = 0.0, 0.0, 0, 0
    for image in images:
        batch = to_input(image, size, data)  # (1, 3, H, W)
        expected = reference.logits(batch)  # (1, C, H, W)
        scale = max(scale, largest_difference(expected, np.zeros_like(expected)))
        if labels_only:
            wanted = finite_labels(expected)
            agree += int(((candidate.predict(batch) == wanted) & (wanted >= 0)).sum())
        else:
            actual = candidate.logits(batch)
            worst = max(worst, largest_difference(expected, actual))
            agree += int(agreeing_pixels(expected, actual).sum())
        total += expected.shape[0] * expected.shape[2] * expected.shape[3]
    kind = {"labels": " labels", "head_logits": " head"}.get(candidate.output, "")
    return ParityReport(
        candidate.name + kind,
        len(images),
        None if labels_only else worst,
        scale,
        agree / max(total, 1),
        thresholds,
    )


def largest_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b|``, inf when either holds a NaN or inf (``max`` with a NaN would
    silently keep the other operand)."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, reported as inf
        difference = np.abs(a - b)
    return float(difference.max()) if np.isfinite(difference).all() else math.inf


def finite_labels(logits: np.ndarray) -> np.ndarray:
    """(N, C, H, W) logits -> (N, H, W) argmax, -1 where a pixel's logits are not finite."""
    labels = logits.argmax(axis=1).astype(np.int16)
    labels[~np.isfinite(logits).all(axis=1)] = -1
    return labels


def agreeing_pixels(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """(N, H, W) bool: same argmax and finite logits in both (a NaN pixel never agrees)."""
    expected, actual = finite_labels(reference), finite_labels(candidate)
    return (expected == actual) & (expected >= 0)
