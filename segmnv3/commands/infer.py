"""`segmnv3 infer`: segment a video, images, a folder/glob or a webcam; write overlays."""

from __future__ import annotations

import argparse

SUMMARY = "Segment a video, image(s) or webcam; write colour overlays (and label PNGs)."
EXAMPLES = """examples:
  segmnv3 infer drive.mp4 --weights runs/row08/best.pt        # outputs/infer/drive_overlay.mp4
  segmnv3 infer drive.mp4 --weights best.pt --resolution 512x1024 --backend openvino
  segmnv3 infer leftImg8bit/val/frankfurt --weights best.pt --save-mask --output out/
  segmnv3 infer "photos/*.jpg" --weights best.pt --alpha 0.6
  segmnv3 infer 0 --weights best.pt --show --max-frames 300   # webcam 0
  segmnv3 infer datasets/synthetic/clip.mp4 --random-init     # smoke test, no weights

The video keeps the input's fps and frame size. --save-mask writes train-id PNGs (0..18).
Decoding, inference and encoding run in parallel threads; the summary prints model-only
and end-to-end FPS. Outputs get their final names only once complete.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segmnv3.commands.model_args import add_model_arguments
    from segmnv3.deploy.runtimes.backend import FP32_BACKENDS

    parser.add_argument("input", help="video file, image, folder, glob pattern or webcam index")
    add_model_arguments(parser)
    backends = [backend.name for backend in FP32_BACKENDS]
    parser.add_argument("--backend", choices=backends, default="eager", help="runtime")
    parser.add_argument("--device", default="cpu", help="torch device (eager backend only)")
    parser.add_argument("--output", default="outputs/infer", help="output folder")
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay weight of the colours")
    parser.add_argument("--save-mask", action="store_true", help="also write label PNGs")
    parser.add_argument("--show", action="store_true", help="display frames (needs a GUI)")
    parser.add_argument("--max-frames", type=int, help="stop after N frames (webcams)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segmnv3.commands.model_args import load_deploy_model, parse_resolution
    from segmnv3.core.errors import UserError
    from segmnv3.deploy.inference.pipeline import InferSettings, segment_source
    from segmnv3.deploy.inference.sinks import check_gui, check_writable
    from segmnv3.deploy.inference.sources import open_source
    from segmnv3.deploy.runtimes import Backend

    if not 0.0 <= args.alpha <= 1.0:
        raise UserError(f"--alpha {args.alpha}: use a value between 0 and 1")
    if args.backend != "eager" and args.device != "cpu":
        raise UserError(f"--device {args.device}: only the eager backend runs off the CPU")
    settings = InferSettings(
        output=Path(args.output),
        backend=Backend.from_name(args.backend),
        size=parse_resolution(args.resolution),
        device=args.device,
        threads=args.threads,
        alpha=args.alpha,
        save_mask=args.save_mask,
        show=args.show,
        max_frames=args.max_frames,
    )
    source = open_source(args.input)
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
    return 0
