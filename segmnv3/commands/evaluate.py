"""`segmnv3 eval`: mIoU of a checkpoint, computed as the official Cityscapes script does."""

from __future__ import annotations

import argparse

from segmnv3.commands.arg_types import positive_int, scale_factor
from segmnv3.core.contract import EVAL_SCALE_RANGE

SUMMARY = "Evaluate a checkpoint: per-class IoU, mIoU and pixel accuracy (Cityscapes rules)."
EXAMPLES = """examples:
  segmnv3 eval runs/row08/best.pt --data-root datasets/cityscapes
  segmnv3 eval runs/row08/best.pt --half-res --flip --scales 0.75 1 1.25
  segmnv3 eval weights.pt --config configs/table7_row08_v3large_rf2_lraspp_f128_os16.yaml
      # a bare state dict needs its config
  segmnv3 eval runs/row08/best.pt --split test --save-predictions outputs/test_preds
  segmnv3 eval runs/warehouse/best.pt --data-root datasets/warehouse   # a folder dataset

Single scale at full resolution without flip is the paper's protocol (the default).
--save-predictions writes labelIds/<city>/<city>_<seq>_<frame>_leftImg8bit.png (label ids,
what the Cityscapes server and CITYSCAPES_RESULTS expect) and colour overlays in overlay/;
for a model of another label set, masks/<path>/<name>.png in the dataset's own mask
values (or colours). The table, JSON and chart name the checkpoint's classes; data with
other classes is refused. The JSON (default: beside the checkpoint) gets a per-class IoU
chart with the same name.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="training checkpoint (best.pt / last.pt) or state dict")
    parser.add_argument("--config", help="YAML config; only needed for a bare state dict")
    parser.add_argument(
        "--data-root",
        help="dataset root, Cityscapes or folder (default: the checkpoint's data.root)",
    )
    parser.add_argument(
        "--split", default="val", help="split (a folder under leftImg8bit/ or images/)"
    )
    parser.add_argument(
        "--half-res", action="store_true", help="half-resolution input, logits upsampled"
    )
    parser.add_argument("--flip", action="store_true", default=None, help="add a mirrored pass")
    parser.add_argument(
        "--scales",
        type=scale_factor,
        nargs="+",
        help=f"multi-scale factors in [{EVAL_SCALE_RANGE[0]:g}, {EVAL_SCALE_RANGE[1]:g}], e.g. 0.75 1 1.25",
    )
    parser.add_argument("--save-predictions", metavar="DIR", help="write label-id PNGs + overlays")
    parser.add_argument("--json", metavar="OUT", help="report path (default beside checkpoint)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--max-images", type=positive_int, help="evaluate the first N images only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from segmnv3.engine.eval_report import EvalRequest, evaluate_checkpoint

    request = EvalRequest(
        checkpoint=args.checkpoint,
        config=args.config,
        data_root=args.data_root,
        split=args.split,
        half_res=args.half_res,
        flip=args.flip,
        scales=args.scales,
        save_predictions=args.save_predictions,
        json_path=args.json,
        device=args.device,
        max_images=args.max_images,
        progress=not args.no_progress,
    )
    scores, report = evaluate_checkpoint(request)
    if scores.valid_pixels == 0:
        return _no_labels(report, args.save_predictions)
    print(scores.format_table(report["classes"]))
    print(
        f"{report['images']} images of {report['data_root']}/{report['split']}; "
        f"scales {report['scales']}, flip {report['flip']}; report: {report['json']}"
    )
    if args.save_predictions:
        masks = "labelIds (label ids)" if "labelIds" in report["predictions"] else "masks"
        print(f"predictions: {args.save_predictions}/{masks}, .../overlay (colours)")
    return 0


def _no_labels(report: dict, predictions: str | None) -> int:
    """An all-void split (the public Cityscapes test split): say why there is no mIoU."""
    from segmnv3.core.errors import DatasetError

    why = (
        f"no mIoU: every label pixel of the {report['images']} image(s) of "
        f"{report['data_root']}/{report['split']} is void (ignored), so there is nothing to "
        "score (the public Cityscapes test split has no labels)"
    )
    if predictions:
        print(f"{why}; the predictions in {predictions} are what the Cityscapes server scores")
        return 0
    raise DatasetError(
        f"{why}; evaluate a labelled split (--split val), or write predictions for the "
        "server with --save-predictions DIR"
    )
