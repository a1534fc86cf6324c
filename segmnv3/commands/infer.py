"""`segmnv3 infer`: segment a video, images, a folder/glob or a webcam; write overlays."""

from __future__ import annotations

import argparse
import sys

SUMMARY = "Segment a video, image(s) or webcam; write colour overlays (and label PNGs)."
EXAMPLES = """examples:
  segmnv3 infer drive.mp4 --weights runs/row08/best.pt        # outputs/infer/drive_overlay.mp4
  segmnv3 infer drive.mp4 --weights best.pt --resolution 512x1024 --backend openvino
  segmnv3 infer drive.mp4 --weights best.pt --resolution 512x1024 --backend litert
  segmnv3 infer leftImg8bit/val/frankfurt --weights best.pt --save-mask --output out/
  segmnv3 infer "photos/*.jpg" --weights best.pt --alpha 0.6
  segmnv3 infer 0 --weights best.pt --show --max-frames 300   # webcam 0
  segmnv3 infer datasets/synthetic/clip.mp4 --random-init     # smoke test, no weights

The video keeps the input's fps and frame size (an odd-sized one is written as
<name>_overlay.avi in MJPEG: the mp4 codecs would crop a row and a column).
Overlays use the checkpoint's class colours, and legend.png names them. --save-mask writes
mask PNGs in the checkpoint's label set: train ids (0..18) for Cityscapes models, a folder
dataset's own mask values (or RGB colours, for colour masks) for models trained on one.
Decoding, inference and encoding run in parallel threads; the summary prints model-only
and end-to-end FPS. Outputs get their final names only once complete.

Image outputs keep the input's sub-path below the folder (or the glob's common folder);
files that differ only by extension keep it (e.g. a.jpg_overlay.png). Unreadable images
are skipped with a warning (exit status 2 at the end). Without --resolution, an image
smaller than 32 px is run at 32 px and one above 4.2 MP (2048x2048) is scaled down to it
(about 200 bytes of memory per network pixel); labels always come back at the input size.
Ctrl-C or SIGTERM keeps the finished images (a partial video is discarded) and says so;
temporaries of a killed run are removed by the next run into the same folder.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segmnv3.commands.arg_types import positive_int, torch_device
    from segmnv3.commands.model_args import add_model_arguments
    from segmnv3.deploy.runtimes.backend import FP32_BACKENDS, MOBILE_FP32

    parser.add_argument("input", help="video file, image, folder, glob pattern or webcam index")
    add_model_arguments(parser)
    backends = [backend.name for backend in (*FP32_BACKENDS, *MOBILE_FP32)]
    parser.add_argument(
        "--backend",
        choices=backends,
        default="eager",
        help="runtime (litert / executorch: XNNPACK, as on a phone; the mobile extra)",
    )
    parser.add_argument(
        "--device",
        type=torch_device,
        default="cpu",
        help="torch device: cpu, cuda, cuda:N, mps (eager backend only)",
    )
    parser.add_argument("--output", default="outputs/infer", help="output folder")
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay weight of the colours")
    parser.add_argument(
        "--save-mask",
        action="store_true",
        help="also write mask PNGs (the label set's stored values)",
    )
    parser.add_argument("--show", action="store_true", help="display frames (needs a GUI)")
    parser.add_argument(
        "--max-frames", type=positive_int, metavar="N", help="stop after N frames (webcams)"
    )


def run(args: argparse.Namespace) -> int:
    from segmnv3.commands.interrupts import terminate_as_interrupt
    from segmnv3.deploy.inference.pipeline import InferInterrupted

    with terminate_as_interrupt() as interrupts:
        try:
            return _run(args)
        except InferInterrupted as interrupted:
            print(f"{interrupts.name}: {_kept(interrupted.result)}", file=sys.stderr)
            return interrupts.exit_code
        except KeyboardInterrupt:
            print(f"{interrupts.name} before any output was written", file=sys.stderr)
            return interrupts.exit_code


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segmnv3.commands.model_args import load_deploy_model
    from segmnv3.core.errors import UserError
    from segmnv3.deploy.inference.pipeline import InferSettings, segment_source
    from segmnv3.deploy.inference.sinks import check_gui, check_writable
    from segmnv3.deploy.inference.sizing import check_memory
    from segmnv3.deploy.inference.sources import open_source
    from segmnv3.deploy.runtimes import Backend, check_device

    if not 0.0 <= args.alpha <= 1.0:
        raise UserError(f"--alpha {args.alpha}: use a value between 0 and 1")
    if args.backend != "eager" and args.device != "cpu":
        raise UserError(f"--device {args.device}: only the eager backend runs off the CPU")
    try:
        check_device(args.device)
    except UserError as error:
        raise UserError(f"--device: {error}") from None
    if args.resolution:
        check_memory(args.resolution, what="--resolution")
    settings = InferSettings(
        output=Path(args.output),
        backend=Backend.from_name(args.backend),
        size=args.resolution,
        device=args.device,
        threads=args.threads,
        alpha=args.alpha,
        save_mask=args.save_mask,
        show=args.show,
        max_frames=args.max_frames,
    )
    source = open_source(args.input)
    if source.left_out:
        shown = ", ".join(p.name for p in source.left_out[:3])
        more = ", ..." if len(source.left_out) > 3 else ""
        print(
            f"note: {len(source.left_out)} file(s) in {args.input} are not images read here "
            f"and are left out ({shown}{more}); convert them to PNG or JPEG to segment them",
            file=sys.stderr,
        )
    try:
        check_writable(settings.output)
    except UserError as error:
        raise UserError(f"--output: {error}") from None
    if args.show:
        try:
            check_gui()
        except UserError as error:
            raise UserError(f"--show: {error}") from None
    result = segment_source(load_deploy_model(args), source, settings)
    if result.stats is not None:
        print(result.summary())
    for path in result.written[:5]:
        print(f"wrote {path}")
    if len(result.written) > 5:
        print(f"... and {len(result.written) - 5} more in {settings.output}")
    if result.skipped:
        names = ", ".join(map(str, result.skipped[:3])) + (
            ", ..." if len(result.skipped) > 3 else ""
        )
        raise UserError(
            f"{len(result.skipped)} of {len(source.paths)} image(s) could not be read and were "
            f"skipped ({names}); the others were segmented"
        )
    return 0


def _kept(result) -> str:
    """What an interrupted run leaves: the finished images' files, not an unfinished video."""
    if not result.total:  # a video: it is whole or not at all
        dropped = " and ".join(map(str, result.discarded))
        return f"discarded the unfinished {dropped} (a partial video is not kept)"
    kept = (
        f"kept the outputs of {result.completed} of {result.total} image(s) "
        f"({len(result.written)} file(s))"
    )
    if result.written:
        folders = sorted({str(path.parent) for path in result.written})
        kept += f" in {', '.join(folders[:3])}{', ...' if len(folders) > 3 else ''}"
    return kept
