"""`segmnv3 export`: ONNX / OpenVINO IR / int8 files with parity and accuracy reports."""

from __future__ import annotations

import argparse

SUMMARY = (
    "Export a model to ONNX, OpenVINO IR, LiteRT, ExecuTorch and int8, with parity checks "
    "against PyTorch."
)
EXAMPLES = """examples:
  segmnv3 export --weights runs/row08/best.pt --resolution 512x1024
  segmnv3 export --weights runs/row08/best.pt --format onnx openvino int8-openvino \\
      --data-root datasets/cityscapes --calib-images 64 --val-images 500
  segmnv3 export --random-init --config configs/table7_row11_v3small_rf2_lraspp_f128_os16.yaml \\
      --resolution 256x512 --format onnx openvino     # smoke test on synthetic images
  segmnv3 export --weights runs/global/best.pt --dynamic   # a model with pooling: global
  segmnv3 export --weights runs/row08/best.pt --format litert int8-litert executorch \\
      int8-executorch            # phone files (XNNPACK); needs pip install "segmnv3[mobile]"
  segmnv3 export --weights runs/row08/best.pt --format onnx labels-onnx
      # also a graph that returns the label map (argmax inside, uint8 out)
  segmnv3 export --weights runs/row08/best.pt --format int8-litert --photos my_photos/
      # int8 agreement with fp32 also on your own (unlabelled) photographs

The fp32 files must match eager PyTorch on real images (max |logit diff| <= 1e-3 x the
logit scale, argmax agreement >= 99.9%) or the command fails. int8 files report their
argmax agreement with fp32 (target >= 99%) and the mIoU delta on the val split (and the
agreement on --photos). Exported graphs take `image` (N, 3, H, W) float32 (RGB, normalised
with the checkpoint's mean / std: `normalisation` in the report) and return
`logits` (N, H, W, C) float32 in NHWC order (free for CPU runtimes; see deploy/export/).
Phone files: .tflite is NHWC in and out ((1, H, W, 3) -> (1, H, W, C), an Android
Bitmap's order); .pte is NCHW in and out (ExecuTorch's; other layouts measured slower).
int8 files keep the float32 ends.
labels-onnx / labels-openvino end in labels instead: `labels` (N, H, W) uint8 train ids,
the argmax inside the graph at the network's size (checked by argmax agreement).
head-onnx / head-openvino end before the final upsample: `head_logits` (N, H/8, W/8, C)
float32, checked against PyTorch's pre-upsample logits; labels at any frame size come
from segmnv3.deploy.inference.upsample_labels.labels_from_logits (what infer, segment()
and the serve page do: the cheapest exact labels).
fp16-litert stores fp16 weights; the fp16 / int8 files also write their fp32 file.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segmnv3.commands.arg_types import positive_int
    from segmnv3.commands.model_args import add_model_arguments
    from segmnv3.deploy.export.formats import FORMAT_NAMES

    add_model_arguments(parser)
    parser.set_defaults(resolution="512x1024")
    parser.add_argument(
        "--format",
        nargs="+",
        default=["onnx"],
        choices=FORMAT_NAMES,
        help="files to write (ONNX is always written: the others start from it)",
    )
    parser.add_argument("--output", default="outputs/export", help="output folder")
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="dynamic batch/height/width (only for models with pooling: global)",
    )
    parser.add_argument(
        "--data-root",
        help="Cityscapes-layout images for parity, calibration and val mIoU; "
        "without it, a temporary synthetic set is generated",
    )
    parser.add_argument(
        "--parity-images", type=positive_int, default=4, help="val images for parity (>= 1)"
    )
    parser.add_argument(
        "--calib-images", type=positive_int, default=16, help="train images for int8 (>= 1)"
    )
    parser.add_argument(
        "--val-images", type=positive_int, default=50, help="val images for int8 mIoU (>= 1)"
    )
    parser.add_argument(
        "--photos",
        nargs="+",
        default=[],
        metavar="PATH",
        help="images or folders of unlabelled photographs: int8 / fp16 files also report "
        "their argmax agreement with fp32 on them",
    )
    parser.add_argument(
        "--int8-recipe",
        default="tuned",
        choices=("tuned", "naive"),
        help="int8 choices (deploy/export/quantize.py recipes)",
    )


def run(args: argparse.Namespace) -> int:
    import time

    from segmnv3.commands.interrupts import run_until_interrupted

    started = time.time()
    return run_until_interrupted(lambda: _run(args), lambda: _after_interrupt(args, started))


def _after_interrupt(args: argparse.Namespace, started: float) -> str:
    """What an interrupted export left: every file it finished (listed or not), by name."""
    from pathlib import Path

    out_dir = Path(args.output)
    finished = sorted(
        path.name
        for path in (out_dir.iterdir() if out_dir.is_dir() else [])
        if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime >= started
    )
    kept = (
        f"finished and complete in {out_dir}: {', '.join(finished)}"
        if finished
        else f"no file was finished in {out_dir}"
    )
    return f"{kept}; the one in progress was removed (nothing partial is left); rerun to redo"


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segmnv3.commands.model_args import load_deploy_model, parse_resolution
    from segmnv3.core.errors import UserError
    from segmnv3.core.files import remove_stale_temporaries
    from segmnv3.deploy.export.bundle import ExportSettings, export_bundle
    from segmnv3.deploy.inference.sizing import check_memory

    size = parse_resolution(args.resolution)
    check_memory(size, what="--resolution")
    model = load_deploy_model(args)
    pooling = getattr(getattr(model.module, "head", None), "pooling", None)
    if args.dynamic and pooling not in (None, "global"):
        raise UserError(
            "--dynamic needs a model with pooling: global (the paper's pooling "
            "kernel is fixed at export time); export one file per resolution"
        )
    out_dir = Path(args.output)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--output {out_dir}: cannot create it ({error.strerror})") from None
    for path in remove_stale_temporaries(out_dir):
        print(f"removed {path}, left by an earlier run that was killed")
    settings = ExportSettings(
        size=size,
        formats=tuple(args.format),
        data_root=Path(args.data_root) if args.data_root else None,
        dynamic=args.dynamic,
        parity_images=args.parity_images,
        calib_images=args.calib_images,
        val_images=args.val_images,
        recipe=args.int8_recipe,
        threads=args.threads,
        photos=_photos(args.photos),
    )
    result = export_bundle(model, out_dir, settings)
    for kind, path in result.files.items():
        print(f"wrote {kind}: {path}", flush=True)
    return 0


def _photos(paths: list[str]) -> tuple:
    """The image files named by ``--photos`` (folders: their images, sorted)."""
    from pathlib import Path

    from segmnv3.core.errors import UserError
    from segmnv3.deploy.inference.sources import IMAGE_SUFFIXES, folder_images

    photos = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = folder_images(path)
            if not found:
                raise UserError(f"--photos {path}: the folder holds no images")
            photos += found
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            photos.append(path)
        else:
            raise UserError(f"--photos {path}: not an image file or a folder of images")
    return tuple(photos)
