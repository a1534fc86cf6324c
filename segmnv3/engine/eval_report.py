"""Evaluate a checkpoint on a split and report it: table, JSON and a per-class IoU chart."""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from pathlib import Path

import torch

from segmnv3.core.errors import ConfigError, UserError
from segmnv3.core.files import atomic_path, write_text_atomic
from segmnv3.core.label_set import LabelSet
from segmnv3.core.optional import pyplot
from segmnv3.data.build import build_dataset, check_label_sets_match, data_config_for_root
from segmnv3.data.metrics import SegmentationScores
from segmnv3.engine.checkpoint import load_labelled_model
from segmnv3.engine.data_loop import build_eval_loader
from segmnv3.engine.distributed import DistributedContext, resolve_device
from segmnv3.engine.evaluator import evaluate
from segmnv3.engine.predictions import PredictionWriter


@dataclasses.dataclass
class EvalRequest:
    """What ``segmnv3 eval`` was asked for (see its --help)."""

    checkpoint: str
    config: str | None = None
    data_root: str | None = None
    split: str = "val"
    half_res: bool = False
    flip: bool | None = None
    scales: list[float] | None = None
    save_predictions: str | None = None
    json_path: str | None = None
    device: str = "auto"
    max_images: int | None = None
    progress: bool = True


def evaluate_checkpoint(request: EvalRequest) -> tuple[SegmentationScores, dict]:
    """Run the evaluation; returns the scores and the JSON report (also written to disk).

    The per-class table, JSON and chart name the checkpoint's classes; data whose label
    set differs (class count or names) is refused before anything runs.
    """
    json_path = Path(request.json_path or default_json_path(request))
    check_output_folder(json_path.parent, "the JSON report")  # before minutes of evaluation
    device = resolve_device(request.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed-size full images: fastest kernels
    model, config, labels = load_labelled_model(
        request.checkpoint, config=request.config, map_location=device
    )
    data = config.data
    if request.data_root is not None:
        data = data_config_for_root(request.data_root, data)
    if request.max_images is not None and request.max_images < 1:
        raise UserError(f"max_images must be None or >= 1, got {request.max_images}")
    scales = list(
        dataclasses.replace(config.eval, scales=request.scales or config.eval.scales).scales
    )
    if request.half_res:
        scales = [0.5 * s for s in scales]  # half-resolution input, logits upsampled
    flip = config.eval.flip if request.flip is None else request.flip
    dataset = build_dataset(dataclasses.replace(data, cache=False), request.split)
    check_label_sets_match(
        labels, dataset.labels, model_source=str(request.checkpoint), data_root=str(data.root)
    )
    context = DistributedContext(0, 1, 0, device)
    batch_size = config.eval.batch_size
    loader = build_eval_loader(
        dataset,
        context,
        batch_size=batch_size,
        num_workers=min(data.num_workers, 2),
        max_images=request.max_images,
    )
    writer = None
    if request.save_predictions:
        writer = PredictionWriter(
            request.save_predictions, dataset.pairs, batch_size, labels, dataset.pairs[0].labels
        )
    scores = evaluate(
        model,
        loader,
        num_classes=config.model.num_classes,
        device=device,
        scales=scales,
        flip=flip,
        amp="bf16" if device.type == "cuda" else "none",
        channels_last=device.type == "cuda",
        progress=request.progress,
        on_batch=writer,
    )
    report = {
        "checkpoint": str(request.checkpoint),
        "data_root": str(data.root),
        "split": request.split,
        "images": len(loader.dataset),
        "scales": scales,
        "flip": flip,
        "normalisation": {"mean": list(data.mean), "std": list(data.std)},
        "labels": labels.name,
        "classes": list(labels.names),
        **scores.to_dict(labels.names),
    }
    write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    plot_class_iou(scores, list(labels.names), json_path.with_suffix(".png"))
    report["json"] = str(json_path)
    if writer is not None:
        report["predictions"] = str(writer.mask_root)
    return scores, report


def check_output_folder(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and prove it writable now, not after the evaluation.

    Raises:
        UserError: a part of the path is a file, or the folder cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (FileExistsError, NotADirectoryError):
        raise UserError(
            f"cannot write {what} into {folder}: a part of that path is a file, not a folder"
        ) from None
    except OSError as error:
        raise UserError(
            f"cannot write {what} into {folder}: {error.strerror}; choose a writable folder"
        ) from None


def check_class_count(config, labels: LabelSet) -> None:
    """ConfigError unless ``model.num_classes`` equals the data's label set."""
    if config.model.num_classes != labels.num_classes:
        raise ConfigError(
            f"model.num_classes={config.model.num_classes}, but the {config.data.dataset} data "
            f"at {config.data.root} has {labels.num_classes} classes (label set {labels.name}: "
            f"{', '.join(labels.names[:6])}{' ...' if labels.num_classes > 6 else ''}); "
            f"set model.num_classes={labels.num_classes} (train --num-classes {labels.num_classes})"
        )


def default_json_path(request: EvalRequest) -> Path:
    """``<checkpoint stem>_eval_<split>.json`` beside the checkpoint."""
    checkpoint = Path(request.checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}_eval_{request.split}.json")


def plot_class_iou(scores: SegmentationScores, names: list[str], path: Path) -> Path | None:
    """Horizontal bar chart of the per-class IoU with the mIoU as a line.

    Returns None (with a warning saying how to install it) without matplotlib.
    """
    plt = pyplot()
    if plt is None:
        return None
    values = [0.0 if math.isnan(v) else 100 * v for v in scores.iou]
    figure, axis = plt.subplots(figsize=(7, 0.3 * len(names) + 1.2))
    axis.barh(range(len(names)), values, color="tab:blue")
    axis.set_yticks(range(len(names)), names)
    axis.invert_yaxis()
    if not math.isnan(scores.miou):
        axis.axvline(100 * scores.miou, color="tab:red", label=f"mIoU {100 * scores.miou:.2f}")
        axis.legend(loc="lower right")
    axis.set(xlabel="IoU (%)", xlim=(0, 100), title="per-class IoU")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
    return path
