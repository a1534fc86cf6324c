"""Training from the frame cache: the batches are the PNG path's, and no PNG is decoded."""

from __future__ import annotations

import pytest
import torch

from segmnv3.data import dataset as dataset_module
from segmnv3.data.cache import build_cache
from segmnv3.data.config import DataConfig
from segmnv3.engine.data_loop import BatchStream, build_datasets
from segmnv3.engine.distributed import DistributedContext

CPU = DistributedContext(0, 1, 0, torch.device("cpu"))


@pytest.fixture(scope="module")
def cache_dir(synthetic_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("frame_cache")
    for split in ("train", "val"):
        build_cache(synthetic_root, split, cache_dir=folder, workers=1, progress=False)
    return folder


def _first_batches(data: DataConfig, count: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    train_set, _ = build_datasets(data)
    stream = BatchStream(train_set, batch_size=4, context=CPU, seed=3, num_workers=0)
    return [next(stream) for _ in range(count)]


def _no_png_decoding(monkeypatch) -> None:
    def refuse(path):
        raise AssertionError(f"decoded {path} although it is cached")

    monkeypatch.setattr(dataset_module, "read_image", refuse)
    monkeypatch.setattr(dataset_module, "read_mask_file", refuse)


def test_batches_from_the_cache_equal_the_png_batches(synthetic_root, cache_dir, monkeypatch):
    settings = {"root": str(synthetic_root), "crop_size": (64, 128), "dataset": "synthetic"}
    png = _first_batches(DataConfig(**settings))
    _no_png_decoding(monkeypatch)
    cached = _first_batches(DataConfig(**settings, cache=True, cache_dir=str(cache_dir)))
    for (image_png, mask_png), (image_cached, mask_cached) in zip(png, cached, strict=True):
        assert image_png.shape == (4, 3, 64, 128) and image_png.dtype == torch.float32
        assert image_png.equal(image_cached) and mask_png.equal(mask_cached)


def test_normalize_on_device_gives_the_same_batches(synthetic_root, cache_dir):
    settings = {"root": str(synthetic_root), "crop_size": (64, 128), "cache": True}
    reference = _first_batches(DataConfig(**settings, cache_dir=str(cache_dir)))
    on_device = _first_batches(
        DataConfig(**settings, cache_dir=str(cache_dir), normalize_on_device=True)
    )
    for (image, mask), (image_device, mask_device) in zip(reference, on_device, strict=True):
        assert image_device.dtype == torch.float32 and mask_device.dtype == torch.int64
        assert image_device.shape == image.shape
        assert image_device.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(image_device, image, rtol=0, atol=1e-5)
        assert mask_device.equal(mask)


def test_a_training_run_reads_only_cached_frames(synthetic_root, cache_dir, tmp_path, monkeypatch):
    from segmnv3.engine.config import load_config
    from segmnv3.engine.trainer import train

    _no_png_decoding(monkeypatch)
    config = load_config(
        None,
        [
            "model.backbone=mobilenet_v3_small",
            "data.dataset=synthetic",
            f"data.root={synthetic_root}",
            "data.crop_size=[64,128]",
            "data.num_workers=0",
            "data.cache=true",
            f"data.cache_dir={cache_dir}",
            "data.normalize_on_device=true",
            "eval.scales=[0.5]",
            "train.batch_size=4",
            "train.iterations=2",
            "train.cpu_threads=1",
            "train.tensorboard=false",
            f"train.out_dir={tmp_path}",
        ],
    )
    result = train(config, progress=False)  # validates at the end: val is cached too
    assert result.step == 2
