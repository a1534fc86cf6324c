"""`segmnv3 synth`: write a synthetic Cityscapes (street scenes, exact layout) and a clip."""

from __future__ import annotations

import argparse

from segmnv3.commands.arg_types import non_negative_int, positive_float, positive_int

SUMMARY = (
    "Generate a synthetic Cityscapes-format dataset (street scenes, 19 classes) and an mp4 clip,"
    " or the same scenes as a 6-class folder dataset (--format folder)."
)
EXAMPLES = """examples:
  segmnv3 synth datasets/synthetic                      # 40/10/10 images at 1024x2048 + clip.mp4
  segmnv3 synth datasets/synthetic_small --num-train 300 --num-val 50 --size 256x512 --workers 2
  segmnv3 synth /tmp/clip_only --video-only --video-frames 96 --video-size 512x1024
  segmnv3 train --config configs/demo_synthetic.yaml --data-root datasets/synthetic  # then
  segmnv3 synth datasets/synthetic_folder --format folder --num-train 200 --size 256x512
  segmnv3 synth datasets/synthetic_index --format folder --mask-format index
  segmnv3 train --config configs/demo_synthetic.yaml --set data.dataset=folder \\
      --set data.root=datasets/synthetic_folder --set model.num_classes=6  # then

The output has leftImg8bit/ and gtFine/ (_labelIds, _color, _instanceIds PNGs) like the
real dataset, so every command that reads Cityscapes reads it too. Images depend only on
--seed (not on --workers). Void label ids 1 (ego vehicle), 9 (parking), 10 (rail track)
and 255 (license plate, id -1 as a byte) are drawn too and map to the ignore index.

--format folder writes labels.yaml, images/<split>/<town>/<street>/<name>.jpg and
masks/<split>/<town>/<street>/<name>.png (the folder format, datasets/README.md) with 6
classes merged from the scene: road, sidewalk, building (+ wall, fence), vegetation
(+ terrain), vehicle (car, truck, bus, train, motorcycle, bicycle), person (+ rider);
sky, poles, traffic lights / signs and void are ignored. Masks hold the class colours
(--mask-format color, ignore = black) or the raw Cityscapes label ids, merged into the 6
classes by `values:` in labels.yaml (--mask-format index). --num-test defaults to 0 there.
"""


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for ``HxW`` (e.g. ``512x1024``): returns (H, W)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected HEIGHTxWIDTH, e.g. 512x1024"
        ) from None
    from segmnv3.core.contract import MIN_INPUT_SIZE

    if min(height, width) < MIN_INPUT_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r}: both sides must be >= {MIN_INPUT_SIZE} pixels")
    return height, width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="output dataset root (created)")
    parser.add_argument("--num-train", type=non_negative_int, default=40, help="training images")
    parser.add_argument("--num-val", type=non_negative_int, default=10, help="validation images")
    parser.add_argument(
        "--num-test",
        type=non_negative_int,
        default=None,
        help="test images (default: 10; 0 with --format folder)",
    )
    parser.add_argument(
        "--size", type=size_arg, default=(1024, 2048), metavar="HxW", help="image size"
    )
    parser.add_argument("--seed", type=int, default=0, help="the dataset is a function of the seed")
    parser.add_argument(
        "--workers", type=positive_int, default=None, help="processes (default: all cores)"
    )
    video = parser.add_mutually_exclusive_group()
    video.add_argument("--no-video", action="store_true", help="skip clip.mp4")
    video.add_argument("--video-only", action="store_true", help="write only clip.mp4")
    parser.add_argument("--video-frames", type=positive_int, default=48, help="frames in clip.mp4")
    parser.add_argument(
        "--video-size", type=size_arg, default=(512, 1024), metavar="HxW", help="clip size"
    )
    parser.add_argument("--fps", type=positive_float, default=12.0, help="clip frame rate")
    parser.add_argument(
        "--format",
        choices=("cityscapes", "folder"),
        default="cityscapes",
        help="cityscapes: the Cityscapes layout, 19 classes (default); folder: the folder "
        "format with its own 6-class labels.yaml and JPEG images",
    )
    parser.add_argument(
        "--mask-format",
        choices=("color", "index"),
        default="color",
        help="--format folder masks: color (RGB class colours, default) or index (Cityscapes "
        "label ids merged by values: in labels.yaml)",
    )


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from segmnv3.data.synthetic import TRAIN_CLASSES, generate_synthetic, write_clip

    start = time.perf_counter()
    root = Path(args.out_dir)
    video = {"frames": args.video_frames, "size": args.video_size, "fps": args.fps}
    if args.video_only:
        write_clip(root / "clip.mp4", seed=args.seed, progress=True, **video)
        print(f"wrote {root / 'clip.mp4'} in {time.perf_counter() - start:.1f} s")
        return 0
    if args.format == "folder":
        return _run_folder(args, root, video, start)
    args.num_test = 10 if args.num_test is None else args.num_test
    generate_synthetic(
        root,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        video=not args.no_video,
        video_frames=args.video_frames,
        video_size=args.video_size,
        video_fps=args.fps,
        progress=True,
    )
    total = args.num_train + args.num_val + args.num_test
    height, width = args.size
    print(
        f"wrote {total} images ({args.num_train} train / {args.num_val} val / {args.num_test} test) "
        f"at {height}x{width} to {root} in {time.perf_counter() - start:.1f} s"
        + ("" if args.no_video else f", plus {root / 'clip.mp4'}")
    )
    print(f"classes drawn ({len(TRAIN_CLASSES)}): {', '.join(TRAIN_CLASSES)}")
    return 0


def _run_folder(args: argparse.Namespace, root, video: dict, start: float) -> int:
    import time

    from segmnv3.data.synthetic import write_clip
    from segmnv3.data.synthetic_folder import generate_synthetic_folder, synthetic_folder_label_set

    num_test = args.num_test or 0
    generate_synthetic_folder(
        root,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=num_test,
        size=args.size,
        seed=args.seed,
        mask_format=args.mask_format,
        workers=args.workers,
        progress=True,
    )
    if not args.no_video:
        write_clip(root / "clip.mp4", seed=args.seed, progress=True, **video)
    height, width = args.size
    labels = synthetic_folder_label_set(args.mask_format)
    print(
        f"wrote {args.num_train + args.num_val + num_test} images ({args.num_train} train / "
        f"{args.num_val} val / {num_test} test) at {height}x{width}, {args.mask_format} masks, "
        f"to {root} in {time.perf_counter() - start:.1f} s"
        + ("" if args.no_video else f", plus {root / 'clip.mp4'}")
    )
    print(f"classes ({labels.num_classes}, {root / 'labels.yaml'}): {', '.join(labels.names)}")
    return 0
