"""`segmnv3 convert-deeplab`: the authors' TensorFlow Cityscapes models as segmnv3 checkpoints."""

from __future__ import annotations

import argparse

SUMMARY = "Convert the authors' DeepLab MobileNetV3 Cityscapes checkpoint into a segmnv3 one."
EXAMPLES = """examples:
  segmnv3 convert-deeplab deeplab_mnv3_large_cityscapes_trainfine_2019_11_15.tar.gz \\
      --variant large --output weights/mnv3_large_deeplab.pt
  segmnv3 convert-deeplab deeplab_mnv3_small_cityscapes_trainfine/ --variant small \\
      --output-stride 16 --output weights/mnv3_small_deeplab_os16.pt
  segmnv3 convert-deeplab path/to/model.ckpt --variant small --output small.pt

CKPT is the model-zoo .tar.gz, the folder holding model.ckpt.index and
model.ckpt.data-00000-of-00001, or the model.ckpt prefix itself. The output is a normal
segmnv3 checkpoint: its config holds the authors' model (RF2, LR-ASPP, F = 128, their
padding, resizes, gate constant and BN eps) and their input normalisation (2/255 x - 1),
so eval, infer and train --init-weights use it as they use one of ours. The same weights
serve output stride 32 (as released) and 16.
"""
VARIANTS = ("large", "small")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CKPT", help="model.ckpt prefix, folder or .tar.gz")
    parser.add_argument(
        "--variant",
        required=True,
        choices=VARIANTS,
        help="MobileNetV3 variant of the checkpoint (deeplab_mnv3_<variant>_cityscapes_...)",
    )
    parser.add_argument(
        "--output-stride",
        type=int,
        choices=(32, 16),
        default=32,
        help="output stride of the model in the written config (the authors released 32)",
    )
    parser.add_argument("--output", required=True, metavar="OUT.pt", help="checkpoint to write")


def run(args: argparse.Namespace) -> int:
    import re

    from segmnv3.core.checkpoint import save_checkpoint
    from segmnv3.core.errors import CheckpointError
    from segmnv3.data.config import DataConfig
    from segmnv3.engine.config import Config
    from segmnv3.models.deeplab import convert_deeplab
    from segmnv3.models.deeplab.convert import deeplab_model_config

    try:
        converted = convert_deeplab(args.checkpoint, args.variant)
    except CheckpointError as error:
        message = re.sub(r"use variant='(\w+)'", r"use --variant \1", str(error))
        raise CheckpointError(message) from None
    config = Config(
        model=deeplab_model_config(args.variant, args.output_stride, converted.num_classes),
        # The graph's 2/255 x - 1: (x / 255 - 0.5) / 0.5 in DataConfig's [0, 1] units.
        data=DataConfig(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )
    path = save_checkpoint({"model": converted.state_dict, "config": config.to_dict()}, args.output)
    params = sum(
        tensor.numel()
        for key, tensor in converted.state_dict.items()
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    ignored = ", ".join(converted.ignored) or "none"
    print(f"ignored checkpoint variables (not model weights): {ignored}")
    print(
        f"wrote {path}: DeepLab MobileNetV3-{args.variant.capitalize()} RF2 LR-ASPP, "
        f"output stride {args.output_stride}, {params / 1e6:.3f}M params ({params:,})"
    )
    print("next:")
    print(f"  segmnv3 eval {path} --data-root datasets/cityscapes")
    print(f"  segmnv3 infer photo.jpg --weights {path}   # or a video, folder, glob, webcam")
    return 0
