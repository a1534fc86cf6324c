"""Datasets and loaders for training: an endless, resumable, rank-sharded batch stream.

Resuming must replay exactly what an uninterrupted run would have seen, so nothing here
keeps hidden state: the position in the stream is a function of the optimiser step, and
every sample's augmentation is seeded by ``(seed, epoch, rank, position)`` rather than by
worker processes. A resumed run therefore sees the same crops and flips as the
uninterrupted one, whatever ``num_workers`` is.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from segmnv3.core.errors import DatasetError
from segmnv3.data.config import DataConfig
from segmnv3.data.transforms import Seedable
from segmnv3.engine.distributed import DistributedContext
from segmnv3.engine.signals import ignore_sigint_in_worker

# Synthetic sets generated on demand by `train --dataset synthetic`; `segmnv3 synth` makes others.
SYNTHETIC_DEFAULTS = {"num_train": 40, "num_val": 10, "num_test": 10, "size": (512, 1024)}


def sample_seed(seed: int, epoch: int, rank: int, position: int) -> int:
    """A 32-bit seed that depends only on where the sample sits in the stream."""
    return int(np.random.SeedSequence([seed, epoch, rank, position]).generate_state(1)[0])


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (shuffled per epoch, drop_last) that can start mid-epoch.

    Yields ``(index, sample_seed)`` pairs for :class:`SeededDataset`.
    """

    def __init__(self, dataset: Dataset, context: DistributedContext, seed: int) -> None:
        super().__init__(
            dataset,
            num_replicas=context.world_size,
            rank=context.rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.start_index = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())
        for position in range(self.start_index, len(indices)):
            yield indices[position], sample_seed(self.seed, self.epoch, self.rank, position)

    def __len__(self) -> int:
        return self.num_samples - self.start_index


class SeededDataset(Dataset):
    """Runs the wrapped dataset's ``__getitem__`` under a per-sample seed.

    Seeds Python's ``random``, NumPy's global generator, torch's CPU generator (all three
    restored afterwards) and the dataset's ``transform`` when it is
    :class:`~segmnv3.data.transforms.Seedable` (it owns how it is seeded).
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                transform = getattr(self.dataset, "transform", None)
                if isinstance(transform, Seedable):
                    transform.seed(seed)
                return self.dataset[index]
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


class BatchStream:
    """Endless iterator over training batches that starts at any micro-batch count.

    Args:
        dataset: map-style dataset of (image (3, H, W), mask (H, W)) pairs.
        batch_size: per-process batch.
        context: rank and world size (each rank sees its own shard).
        seed: data-order and augmentation seed.
        start: micro-batches already consumed (``step x accumulate`` on resume).
        num_workers: loader processes.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        batch_size: int,
        context: DistributedContext,
        seed: int,
        start: int = 0,
        num_workers: int = 0,
    ) -> None:
        self.sampler = ResumableSampler(dataset, context, seed)
        self.batches_per_epoch = self.sampler.num_samples // batch_size
        if self.batches_per_epoch == 0:
            raise DatasetError(
                f"the training split has {len(dataset)} images, fewer than one batch "
                f"({batch_size} per process x {context.world_size} processes); "
                "lower --batch-size or add images"
            )
        self.epoch, offset = divmod(start, self.batches_per_epoch)
        self.sampler.set_epoch(self.epoch)
        self.sampler.start_index = offset * batch_size
        self.loader = DataLoader(
            SeededDataset(dataset),
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=num_workers,
            drop_last=True,
            pin_memory=context.device.type == "cuda",
            persistent_workers=num_workers > 0,
            worker_init_fn=ignore_sigint_in_worker,
            generator=torch.Generator().manual_seed(seed),  # keep the global RNG untouched
        )
        self.iterator = iter(self.loader)
        # a transform that leaves normalisation to the device (data.normalize_on_device)
        self.finish_batch = getattr(getattr(dataset, "transform", None), "finish_batch", None)
        self.device = context.device

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            images, masks = next(self.iterator)
        except StopIteration:
            self.epoch += 1
            self.sampler.set_epoch(self.epoch)
            self.sampler.start_index = 0
            self.iterator = iter(self.loader)
            images, masks = next(self.iterator)
        if self.finish_batch is not None:  # uint8 (B, H, W, 3) -> normalised (B, 3, H, W)
            return self.finish_batch(images, masks, self.device)
        return images, masks


def ensure_synthetic(data: DataConfig, *, announce: bool = True) -> None:
    """Generate the synthetic set at ``data.root`` when ``data.dataset`` is synthetic and absent."""
    root = Path(data.root)
    if data.dataset != "synthetic" or (root / "leftImg8bit").is_dir():
        return
    from segmnv3.data.synthetic import generate_synthetic

    if announce:
        counts = SYNTHETIC_DEFAULTS
        print(
            f"generating a synthetic Cityscapes at {root} ({counts['num_train']} train / "
            f"{counts['num_val']} val at {counts['size'][0]}x{counts['size'][1]}; "
            "`segmnv3 synth` makes other sizes)"
        )
    generate_synthetic(root, **SYNTHETIC_DEFAULTS, video=False, progress=announce)


def build_datasets(data: DataConfig) -> tuple[Dataset, Dataset]:
    """The training split (train transform) and the validation split (eval transform)."""
    from segmnv3.data.build import build_dataset

    return build_dataset(data, data.train_split, train=True), build_dataset(
        data, data.val_split, train=False
    )


def build_eval_loader(
    dataset: Dataset,
    context: DistributedContext,
    *,
    batch_size: int = 1,
    num_workers: int = 0,
    max_images: int | None = None,
) -> DataLoader:
    """In-order loader over this rank's share (rank, rank + world, ...) of the split.

    No padding: every image is evaluated exactly once over all ranks, so the summed
    confusion matrix equals a single-process one.
    """
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    shard = Subset(dataset, range(context.rank, count, context.world_size))
    return DataLoader(
        shard,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=context.device.type == "cuda",
        worker_init_fn=ignore_sigint_in_worker,
    )
