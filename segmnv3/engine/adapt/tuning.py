"""NetAdapt's short fine-tune of a proposal and its score on a held-out slice of the
training split (the validation split stays for the final report)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from segmnv3.core.errors import DatasetError
from segmnv3.engine.config import Config
from segmnv3.engine.data_loop import BatchStream, build_eval_loader
from segmnv3.engine.distributed import DistributedContext
from segmnv3.engine.evaluator import evaluate
from segmnv3.engine.losses import build_loss
from segmnv3.engine.optim import build_optimizer

CPU = DistributedContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


@dataclass
class TuningData:
    """The training split cut in two: images to fine-tune on, images to score on."""

    train: Dataset
    heldout: Dataset


def split_training_data(config: Config, heldout: int) -> TuningData:
    """The last ``heldout`` images of the training split (evaluation transform) are scored
    on; the others (training transform) are fine-tuned on.

    Raises:
        DatasetError: too few training images to hold ``heldout`` out and keep one batch.
    """
    from segmnv3.data.build import build_dataset

    data = config.data
    train = build_dataset(data, data.train_split, train=True)
    scoring = build_dataset(data, data.train_split, train=False)
    count = len(train)
    if count - heldout < config.train.batch_size or heldout < 1:
        raise DatasetError(
            f"the training split of {data.root} has {count} images: holding out --heldout "
            f"{heldout} must leave at least one batch ({config.train.batch_size}); lower "
            "--heldout or --batch-size"
        )
    return TuningData(
        Subset(train, range(count - heldout)), Subset(scoring, range(count - heldout, count))
    )


def fine_tune(
    model: nn.Module, config: Config, data: TuningData, iterations: int, seed: int
) -> nn.Module:
    """``iterations`` SGD steps of the run's recipe at a constant LR (in place, CPU)."""
    if iterations == 0:
        return model.eval()
    torch.manual_seed(seed)
    loss_fn = build_loss(config.train, config.model.num_classes)
    optimizer = build_optimizer(model, config.train, world_size=1)
    stream = BatchStream(data.train, batch_size=config.train.batch_size, context=CPU, seed=seed)
    model.train()
    for _ in range(iterations):
        images, masks = next(stream)
        loss = loss_fn(model(images), masks)
        if not torch.isfinite(loss):
            raise DatasetError(
                f"fine-tuning a proposal gave a {loss.item()} loss; lower train.base_lr "
                "(--set train.base_lr=...)"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def heldout_miou(model: nn.Module, config: Config, data: TuningData) -> float:
    """mIoU (0-1) of ``model`` on the held-out slice."""
    loader = build_eval_loader(data.heldout, CPU, batch_size=1)
    scores = evaluate(
        model,
        loader,
        num_classes=config.model.num_classes,
        device=CPU.device,
        progress=False,
        across_ranks=False,  # each rank scores its own proposals
    )
    return float(scores.miou)
