"""The one way datasets are built: training, evaluation, export calibration and benchmarks.

``build_dataset(cfg, split, train=...)`` opens the layout ``cfg`` describes (Cityscapes,
the synthetic Cityscapes, or a folder dataset), finds and checks the split's pairs, picks
the reader (files, or the frame cache with ``data.cache``) and the transform. engine/ and
deploy/ call only this module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_set import LabelSet
from segmnv3.data.config import DataConfig
from segmnv3.data.dataset import SegmentationDataset, Transform
from segmnv3.data.layout import Layout, check_sizes
from segmnv3.data.layouts import detect_kind, open_layout


def layout_of(cfg: DataConfig) -> Layout:
    """The layout at ``cfg.root`` (``data.dataset``, ``data.labels``, ``data.cities``)."""
    kind = "cityscapes" if cfg.dataset == "synthetic" else cfg.dataset
    return open_layout(cfg.root, kind, labels=cfg.labels, cities=cfg.cities)


def label_set_of(cfg: DataConfig) -> LabelSet:
    """The label set of the data ``cfg`` describes (reads ``labels.yaml`` for folders)."""
    return layout_of(cfg).label_set


def build_dataset(
    cfg: DataConfig,
    split: str,
    *,
    train: bool = False,
    transform: Transform | None = None,
) -> SegmentationDataset:
    """The dataset of ``split`` described by ``cfg``, with the matching transform.

    Args:
        cfg: the data section (layout, root, labels, cache, augmentation).
        split: a split name present under the root.
        train: the training transform (augmentation); else the evaluation transform.
        transform: overrides the transform (e.g. the loader benchmark's).

    Raises:
        DatasetError: a missing root or split, unpaired or mis-sized files, a bad labels
            file; each naming the files and what to do.
    """
    layout = layout_of(cfg)
    pairs = layout.pairs(split)
    check_sizes(pairs)  # from the headers, before any decoding
    if transform is None:
        transform = _transform(cfg, train)
    reader = None
    if cfg.cache:
        from segmnv3.data.cache import CacheReader, cache_dir_for

        cache_dir = cache_dir_for(cfg.root, cfg.cache_dir)
        fingerprint = layout.label_set.fingerprint()
        reader = CacheReader(cfg.root, split, cache_dir, pairs, fingerprint)
    name = f"root={str(cfg.root)!r}, split={split!r}"
    return SegmentationDataset(pairs, layout.label_set, transform, reader, name)


def _transform(cfg: DataConfig, train: bool) -> Transform:
    from segmnv3.data.transforms import build_eval_transform, build_train_transform

    if not train:
        return build_eval_transform(cfg)
    if cfg.normalize_on_device:
        from segmnv3.data.device_normalize import build_uint8_train_transform

        return build_uint8_train_transform(cfg)
    return build_train_transform(cfg)


def data_config_for_root(root: str | Path, base: DataConfig | None = None) -> DataConfig:
    """``base`` (default: defaults) pointed at ``root``, its layout detected (``--data-root``).

    A folder dataset keeps ``base``'s normalisation; its labels come from its labels.yaml.
    """
    base = base or DataConfig()
    return dataclasses.replace(
        base, root=str(root), dataset=detect_kind(Path(root)), labels=None, cities=None
    )


def check_label_sets_match(model: LabelSet, data: LabelSet, *, model_source: str, data_root: str):
    """DatasetError when a checkpoint's classes are not the data's (count or names).

    Scores of a model on data with other classes are meaningless, so this is an error,
    never a silent mismatch.
    """
    if model.num_classes != data.num_classes:
        raise DatasetError(
            f"{model_source} predicts {model.num_classes} classes (model.num_classes="
            f"{model.num_classes}, label set {model.name}), but the data at {data_root} has "
            f"{data.num_classes} classes (label set {data.name}): its mIoU there is undefined; "
            "use data with the model's label set, or fine-tune it first (train --init-weights)"
        )
    if model.names != data.names:
        differing = [
            f"{i}: {a!r} vs {b!r}"
            for i, (a, b) in enumerate(zip(model.names, data.names, strict=True))
            if a != b
        ]
        raise DatasetError(
            f"{model_source} and the data at {data_root} name their classes differently "
            f"(train id: model vs data) {', '.join(differing[:5])}; use data with the model's "
            "classes in the same order"
        )


def open_dataset(
    root: str | Path,
    split: str,
    *,
    transform: Transform | None = None,
    cache_dir: str | Path | None = None,
    cities: list[str] | None = None,
    labels: str | None = None,
) -> SegmentationDataset:
    """The evaluation-transform dataset of ``split`` at ``root`` (layout detected), for
    scripts and notebooks; ``cache_dir`` reads the frame cache there."""
    cfg = dataclasses.replace(
        data_config_for_root(root),
        cities=cities,
        labels=labels,
        cache=cache_dir is not None,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    return build_dataset(cfg, split, transform=transform)


def image_paths(root: str | Path, split: str) -> list[Path]:
    """The image files of ``split`` at ``root`` (layout detected), in dataset order."""
    return [pair.image for pair in open_layout(root).pairs(split)]
