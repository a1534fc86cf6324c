"""The frame cache: bit-identical crops, invalidation, atomic manifest, prepare --cache."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np
import pytest

from segmnv3.core.errors import DatasetError
from segmnv3.core.files import stale_temporaries
from segmnv3.data import cache as cache_module
from segmnv3.data.cache import MANIFEST_NAME, build_cache, read_manifest
from segmnv3.data.cityscapes import CityscapesDataset, read_image, read_mask
from segmnv3.data.config import DataConfig
from segmnv3.data.transforms import build_eval_transform, build_train_transform


@pytest.fixture(scope="module")
def cache_dir(synthetic_root, tmp_path_factory):
    """The train and val cache of the shared synthetic set, outside its root."""
    folder = tmp_path_factory.mktemp("frame_cache")
    for split in ("train", "val"):
        build_cache(synthetic_root, split, cache_dir=folder, workers=1, progress=False)
    return folder


@pytest.fixture
def own_root(synthetic_root, tmp_path):
    """A private copy of the synthetic set's train split, free to modify."""
    root = tmp_path / "root"
    for top in ("leftImg8bit", "gtFine"):
        shutil.copytree(synthetic_root / top / "train", root / top / "train")
    return root


def _datasets(root, cache_dir, transform):
    png = CityscapesDataset(root, "train", transform=transform)
    cached = CityscapesDataset(root, "train", transform=transform, cache_dir=cache_dir)
    return png, cached


@pytest.mark.parametrize(
    "settings",
    [
        {},  # paper protocol: scale 0.5-2.0, flip
        {"scale_range": (0.2, 0.4)},  # every crop needs padding (image 0, mask 255)
        {"scale_range": (1.5, 3.0), "photometric": True},
    ],
)
def test_cached_crops_are_bit_identical_to_png_crops(synthetic_root, cache_dir, settings):
    transform = build_train_transform(DataConfig(crop_size=(64, 128), **settings))
    png, cached = _datasets(synthetic_root, cache_dir, transform)
    assert all(entry is not None for entry in cached.cached)
    for seed in range(12):  # flip p=0.5: both branches are all but certain in 12 draws
        index = seed % len(png)
        transform.seed(seed)
        image_png, mask_png = png[index]
        transform.seed(seed)
        image_cached, mask_cached = cached[index]
        assert image_png.dtype == image_cached.dtype and mask_png.dtype == mask_cached.dtype
        assert image_png.equal(image_cached) and mask_png.equal(mask_cached)
    if "scale_range" in settings and settings["scale_range"][1] < 0.5:
        assert (mask_png == 255).any()  # the padding was exercised


def test_cached_arrays_equal_the_decoded_pngs_and_serve_evaluation(synthetic_root, cache_dir):
    transform = build_eval_transform(DataConfig())
    png, cached = _datasets(synthetic_root, cache_dir, transform)
    image, mask = cached.read(3)
    assert isinstance(image, np.memmap) and image.dtype == np.uint8 and mask.ndim == 2
    assert np.array_equal(image, read_image(png.image_paths[3]))
    assert np.array_equal(mask, read_mask(png.label_paths[3]))  # train ids, lookup done
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's non-writable array warning
        a, b = png[3], cached[3]
    assert a[0].equal(b[0]) and a[1].equal(b[1])


def test_a_touched_or_changed_source_is_read_from_png_and_rebuilt(own_root, tmp_path):
    cache_dir = tmp_path / "cache"
    report = build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    assert (report.written, report.kept) == (8, 0)
    assert report.bytes == 8 * (128 * 256 * 4 + 2 * 128)
    dataset = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    touched, changed = dataset.image_paths[1], dataset.label_paths[5]
    status = touched.stat()
    os.utime(touched, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    new_mask = np.full((128, 256), 7, np.uint8)  # label id 7 = road = train id 0
    import cv2

    assert cv2.imwrite(str(changed), new_mask)
    with pytest.warns(UserWarning, match=r"2 of 8 frames of split 'train'.*prepare --root"):
        stale = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    assert [i for i, entry in enumerate(stale.cached) if entry is None] == [1, 5]
    assert (stale.read(5)[1] == 0).all()  # the new label, not the cached one
    report = build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    assert (report.written, report.kept) == (2, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    assert (fresh.read(5)[1] == 0).all() and isinstance(fresh.read(5)[1], np.memmap)


def test_a_deleted_array_is_read_from_png(own_root, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    dataset = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    dataset.cached[2].mask.unlink()
    with pytest.warns(UserWarning, match="1 of 8 frames"):
        again = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    assert again.cached[2] is None and again.cached[3] is not None


def test_an_interrupted_build_lists_the_unchanged_and_finished_frames(
    own_root, tmp_path, monkeypatch
):
    cache_dir = tmp_path / "cache"
    build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    manifest = cache_dir / "train" / MANIFEST_NAME
    before = manifest.read_bytes()
    for path in sorted((own_root / "leftImg8bit").rglob("*.png"))[:3]:
        os.utime(path, ns=(0, 10**18))
    calls = []

    def failing(job):
        calls.append(job)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return cache_module.write_entry.__wrapped__(job)

    failing.__wrapped__ = cache_module.write_entry
    monkeypatch.setattr(cache_module, "write_entry", failing)
    with pytest.raises(RuntimeError, match="killed"):
        build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    assert json.loads(before)["version"] == 1 and len(json.loads(before)["entries"]) == 8
    after = json.loads(manifest.read_bytes())["entries"]  # 5 untouched + 1 re-decoded
    assert len(after) == 6 and set(after) < set(json.loads(before)["entries"])
    assert read_manifest(cache_dir, "train") == after
    folders = {manifest.parent, *(p.parent for p in (cache_dir / "train").rglob("*.npy"))}
    assert all(stale_temporaries(folder) == [] for folder in folders)
    assert not list(cache_dir.rglob(".*.tmp*"))


def test_an_unreadable_manifest_is_ignored_with_a_warning(own_root, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(own_root, "train", cache_dir=cache_dir, workers=1, progress=False)
    (cache_dir / "train" / MANIFEST_NAME).write_text("{not json")
    with pytest.warns(UserWarning, match="ignoring the frame cache manifest"):
        assert read_manifest(cache_dir, "train") == {}
    with pytest.warns(UserWarning):
        dataset = CityscapesDataset(own_root, "train", cache_dir=cache_dir)
    assert all(entry is None for entry in dataset.cached)


def test_build_refuses_when_the_disk_is_too_full(own_root, tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)._replace(free=1000)
    monkeypatch.setattr(cache_module.shutil, "disk_usage", lambda path: usage)
    with pytest.raises(DatasetError, match="needs 0.0 GB more.*--cache-dir"):
        build_cache(own_root, "train", cache_dir=tmp_path / "cache", progress=False)


def test_prepare_cache_command(synthetic_root, tmp_path, capsys):
    from segmnv3.cli import main

    cache_dir = tmp_path / "cache"
    args = ["prepare", "--root", str(synthetic_root), "--any-count", "--workers", "2"]
    args += ["--cache", "--cache-dir", str(cache_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"frame cache {cache_dir / 'train'}: 8 frames decoded, 0 unchanged kept" in out
    assert f"frame cache {cache_dir / 'val'}: 4 frames decoded" in out
    assert f"--set data.cache=true --set data.cache_dir={cache_dir}" in out
    assert not (cache_dir / "test").exists()  # test labels are placeholders
    assert len(list((cache_dir / "train").rglob("*.npy"))) == 16
    assert main(args) == 0
    assert "0 frames decoded, 8 unchanged kept" in capsys.readouterr().out
