"""Training throughput vs data-loader rate: which one bounds training on this machine?

    python -m segmnv3.engine.throughput --out outputs/throughput          # GPU, paper sizes
    python -m segmnv3.engine.throughput --quick --out /tmp/throughput     # CPU smoke run

Model step: the config's model (default Table 7 row 8, V3-Large RF2 LR-ASPP F=128 OS16)
on device-resident random batches (batch 16, 769x769), SGD + cross-entropy exactly as the
trainer builds them, AMP (bf16) + channels_last on CUDA, with and without ``torch.compile``.
Loader: the real train transform (random scale, 769 crop, flip) over synthetic
1024x2048 Cityscapes images with all cores. Prints a table, writes JSON and a PNG chart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import torch
from torch import nn

from segmnv3.core.files import atomic_path, write_text_atomic
from segmnv3.core.optional import pyplot
from segmnv3.engine.config import Config, load_config
from segmnv3.engine.evaluator import autocast_context
from segmnv3.engine.losses import build_loss
from segmnv3.engine.optim import build_optimizer


def model_images_per_second(
    config: Config, device: torch.device, *, compile_model: bool, steps: int, warmup: int
) -> tuple[float, float]:
    """Training images/s of one device; returns (rate, seconds spent warming up/compiling)."""
    from segmnv3.models.segmenter import build_model_from_config

    options = config.train
    cuda = device.type == "cuda"
    memory_format = (
        torch.channels_last if cuda and options.channels_last else torch.contiguous_format
    )
    model = build_model_from_config(config.model).to(device, memory_format=memory_format).train()
    step_model: nn.Module = torch.compile(model) if compile_model else model
    loss_fn = build_loss(options, config.model.num_classes).to(device)
    optimizer = build_optimizer(model, options, world_size=1)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and options.amp == "fp16")
    amp = options.amp if cuda else "none"
    height, width = config.data.crop_size
    images = torch.randn(options.batch_size, 3, height, width, device=device)
    images = images.contiguous(memory_format=memory_format)  # (B, 3, H, W)
    masks = torch.randint(0, config.model.num_classes, (options.batch_size, height, width))
    masks = masks.to(device)  # (B, H, W)

    def step() -> None:
        with autocast_context(device, amp):
            logits = step_model(images)  # (B, C, H, W)
        scaler.scale(loss_fn(logits, masks)).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    started = time.perf_counter()
    for _ in range(warmup):
        step()
    _synchronize(device)
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return steps * options.batch_size / (time.perf_counter() - started), warm_seconds


def loader_images_per_second(config: Config, root: Path, *, workers: int, batches: int) -> float:
    """Images/s delivered by a DataLoader with the training transform and ``workers``."""
    from torch.utils.data import DataLoader

    from segmnv3.data.build import build_dataset

    dataset = build_dataset(
        dataclasses.replace(config.data, root=str(root)), config.data.train_split, train=True
    )
    loader = DataLoader(
        dataset,
        batch_size=config.train.batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    iterator, fetched = iter(loader), 0
    next(iterator)  # worker start-up is not part of the steady rate
    started = time.perf_counter()
    while fetched < batches:
        try:
            next(iterator)
        except StopIteration:
            iterator = iter(loader)
            continue
        fetched += 1
    return batches * config.train.batch_size / (time.perf_counter() - started)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="YAML config (default: paper defaults, Table 7 row 8)")
    parser.add_argument("--quick", action="store_true", help="tiny CPU sizes (smoke test)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile run")
    parser.add_argument("--out", default="outputs/throughput", help="output folder")
    args = parser.parse_args(argv)
    quick = ["model.backbone=mobilenet_v3_small", "data.crop_size=[96,96]", "train.batch_size=2"]
    config = load_config(args.config, quick if args.quick else ["data.crop_size=[769,769]"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps, warmup = (3, 1) if args.quick else (30, 10)
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    results["batch"], results["crop"] = config.train.batch_size, list(config.data.crop_size)
    results["amp"] = config.train.amp if device.type == "cuda" else "none"
    for compiled in (False, True) if not args.no_compile else (False,):
        rate, warm = model_images_per_second(
            config, device, compile_model=compiled, steps=steps, warmup=warmup
        )
        key = "train_compiled" if compiled else "train_eager"
        results[key] = {"images_per_s": rate, "warmup_s": warm}
        print(f"{key:>15}: {rate:8.1f} images/s  (warm-up/compile {warm:.1f} s)")
    results["loader"] = _measure_loader(config, args.quick, Path(args.out))
    print(
        f"{'loader':>15}: {results['loader']['images_per_s']:8.1f} images/s "
        f"({results['loader']['workers']} workers)"
    )
    best_model = max(v["images_per_s"] for k, v in results.items() if k.startswith("train_"))
    results["bound_by"] = (
        "data loader" if results["loader"]["images_per_s"] < best_model else "model"
    )
    print(f"training is bound by the {results['bound_by']}")
    _write(results, Path(args.out))
    return 0


def _measure_loader(config: Config, quick: bool, out_dir: Path) -> dict:
    from segmnv3.data.synthetic import generate_synthetic

    workers = max(1, (os.cpu_count() or 1) - 1)
    size, count = ((128, 256), 4) if quick else ((1024, 2048), 48)
    counts = {"num_train": count, "num_val": 0, "num_test": 0}
    root = generate_synthetic(
        out_dir / "synthetic", **counts, size=size, workers=workers, video=False
    )
    batches = 2 if quick else 30
    rate = loader_images_per_second(config, root, workers=workers, batches=batches)
    return {"images_per_s": rate, "workers": workers, "source_size": list(size)}


def _write(results: dict, out_dir: Path) -> None:
    write_text_atomic(out_dir / "throughput.json", json.dumps(results, indent=2) + "\n")
    plt = pyplot()
    if plt is None:
        print(f"wrote {out_dir / 'throughput.json'}")
        return
    names = [k for k in ("train_eager", "train_compiled", "loader") if k in results]
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.barh(names, [results[n]["images_per_s"] for n in names], color="tab:blue")
    axis.set(
        xlabel="images / s",
        title=f"{results['device']}, batch {results['batch']}, "
        f"crop {results['crop'][0]}x{results['crop'][1]}",
    )
    figure.tight_layout()
    with atomic_path(out_dir / "throughput.png") as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
    print(f"wrote {out_dir / 'throughput.json'} and throughput.png")


if __name__ == "__main__":
    raise SystemExit(main())
