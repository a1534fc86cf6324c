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
    from segmnv3.deploy.loading import add_model_arguments
    from segmnv3.deploy.runtimes import BACKENDS

    parser.add_argument("input", help="video file, image, folder, glob pattern or webcam index")
    add_model_arguments(parser)
    parser.add_argument("--backend", choices=BACKENDS, default="eager", help="runtime")
    parser.add_argument("--device", default="cpu", help="torch device (eager backend only)")
    parser.add_argument("--output", default="outputs/infer", help="output folder")
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay weight of the colours")
    parser.add_argument("--save-mask", action="store_true", help="also write label PNGs")
    parser.add_argument("--show", action="store_true", help="display frames (needs a GUI)")
    parser.add_argument("--max-frames", type=int, help="stop after N frames (webcams)")


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from segmnv3.core.errors import UserError
    from segmnv3.deploy.loading import load_deploy_model
    from segmnv3.deploy.preprocess import parse_resolution
    from segmnv3.deploy.sinks import ImageSink, VideoSink, check_gui, check_writable
    from segmnv3.deploy.sources import open_source
    from segmnv3.deploy.video import PredictorCache, segment_stream

    if not 0.0 <= args.alpha <= 1.0:
        raise UserError(f"--alpha {args.alpha}: use a value between 0 and 1")
    if args.backend != "eager" and args.device != "cpu":
        raise UserError(f"--device {args.device}: only the eager backend runs off the CPU")
    size = parse_resolution(args.resolution)
    source = open_source(args.input)
    out_dir = check_writable(Path(args.output))
    if args.show:
        check_gui()
    model, _ = load_deploy_model(args.weights, args.config, args.random_init)
    with tempfile.TemporaryDirectory(prefix="segmnv3-infer-") as workdir:
        runtimes = PredictorCache(model, args.backend, workdir, device=args.device,
                                  threads=args.threads)  # fmt: skip
        if size or source.size:
            runtimes(size or source.size)  # export / warm up before the clock starts
        if source.kind == "images":
            sink = ImageSink(out_dir, args.alpha, args.save_mask, args.show)
        else:
            masks = out_dir / f"{source.name}_masks" if args.save_mask else None
            sink = VideoSink(out_dir / f"{source.name}_overlay.mp4", source.fps, source.size,
                             args.alpha, masks, args.show)  # fmt: skip
        try:
            stats = segment_stream(source.frames(), runtimes, sink, size=size,
                                   total=source.count, max_frames=args.max_frames)  # fmt: skip
        except KeyboardInterrupt:
            if source.kind != "webcam":
                sink.discard()
                raise
            stats = None  # a webcam stream is ended with Ctrl-C: keep what was recorded
        except BaseException:
            sink.discard()
            raise
        written = sink.commit()
    if stats is not None:
        print(
            f"{stats.frames} frame(s) on {args.backend}: model-only {stats.model_fps:.2f} FPS, "
            f"end-to-end {stats.end_to_end_fps:.2f} FPS "
            f"({100 * stats.end_to_end_fps / max(stats.model_fps, 1e-9):.0f}% of model-only)"
        )
    for path in written[:5]:
        print(f"wrote {path}")
    if len(written) > 5:
        print(f"... and {len(written) - 5} more in {out_dir}")
    return 0
