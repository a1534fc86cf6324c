"""`segmnv3 prepare`: verify a dataset (Cityscapes or folder); optionally write labelTrainIds
PNGs or the frame cache."""

from __future__ import annotations

import argparse

from segmnv3.commands.arg_types import positive_int

SUMMARY = (
    "Verify a dataset, Cityscapes or your own folder (counts, pairs, sizes, mask values, "
    "class shares); optionally write labelTrainIds PNGs or the frame cache."
)
EXAMPLES = """examples:
  segmnv3 prepare --root datasets/cityscapes                     # check 2975/500/1525 pairs
  segmnv3 prepare --root datasets/cityscapes --write-train-ids --workers 8
  segmnv3 prepare --root datasets/synthetic --any-count          # a subset or synthetic set
  segmnv3 prepare --root datasets/cityscapes --headers-only      # seconds: skip decoding
  segmnv3 prepare --root datasets/cityscapes --cache             # decode once (~25 GB for train)
  segmnv3 prepare --root datasets/warehouse                      # a folder dataset (labels.yaml)

After the fast checks (names, counts, sizes from the PNG headers) every file is decoded
on all cores, which finds truncated files and mask values outside the label set (each file
is named: Cityscapes ids become ignore with a warning, a folder dataset's are errors unless
its labels.yaml says on_unknown: warn), and prints each class's share of the labelled
pixels. A root with labels.yaml (or images/) is a folder dataset. See datasets/README.md. Train-id PNGs are optional: the loader
maps label ids on the fly, but reading pre-converted files skips that lookup.
--cache decodes train and val once into raw arrays (<root>/.segmnv3_cache, or --cache-dir);
training reads them with data.cache=true, about 4x faster per loader worker than PNGs.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        default="datasets/cityscapes",
        help="dataset root (leftImg8bit/ and gtFine/, or a folder dataset with labels.yaml)",
    )
    parser.add_argument(
        "--splits",
        nargs="+",
        default=None,
        help="splits to verify (default: train val test for Cityscapes, all of a folder dataset)",
    )
    parser.add_argument(
        "--any-count", action="store_true", help="skip the official image-count check"
    )
    parser.add_argument(
        "--headers-only",
        action="store_true",
        help="skip decoding every file (truncated files and foreign label ids go unnoticed)",
    )
    parser.add_argument(
        "--write-train-ids",
        action="store_true",
        help="write *_gtFine_labelTrainIds.png (train, val)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes for decoding, --write-train-ids and --cache (default: all cores)",
    )
    _add_cache_arguments(parser)


def _add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        action="store_true",
        help="decode train and val once into the frame cache read by data.cache=true "
        "(frames already cached and unchanged are kept)",
    )
    parser.add_argument(
        "--cache-dir", default=None, help="where --cache writes (default: ROOT/.segmnv3_cache)"
    )


def run(args: argparse.Namespace) -> int:
    import time

    from segmnv3.data.prepare import verify, verify_decoding, write_train_ids

    start = time.perf_counter()
    counts = verify(args.root, args.splits, check_counts=not args.any_count)
    summary = ", ".join(f"{split} {n}" for split, n in counts.items())
    decoded = " (headers only)"
    if not args.headers_only:
        report = verify_decoding(args.root, args.splits, workers=args.workers)
        _warn(report.unknown_ids)
        decoded = f", all {report.files} files decode"
        shares = "  ".join(f"{name} {100 * share:.1f}%" for name, share in report.class_shares())
        print(f"labelled pixels per class ({report.labels.name}): {shares}")
    seconds = time.perf_counter() - start
    print(
        f"{args.root}: complete image/label pairs, sizes agree ({summary}){decoded} "
        f"[{seconds:.1f} s]"
    )
    if args.write_train_ids:
        splits = [
            s for s in args.splits or ["train", "val"] if s != "test"
        ]  # test labels are placeholders
        written, notes = write_train_ids(args.root, splits, workers=args.workers)
        if args.headers_only:
            _warn(notes)  # otherwise verify_decoding reported the same files already
        print(f"wrote {written} *_gtFine_labelTrainIds.png files for {', '.join(splits)}")
    if args.cache:
        from segmnv3.commands.interrupts import run_until_interrupted

        return run_until_interrupted(
            lambda: _build_cache(args) or 0,
            "the frames cached so far are kept (the manifest lists them); rerun the same "
            "command to cache the rest",
        )
    return 0


def _warn(lines: list[str]) -> None:
    import sys

    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _build_cache(args: argparse.Namespace) -> None:
    from segmnv3.data.cache import build_cache, cache_dir_for

    cache_dir = cache_dir_for(args.root, args.cache_dir)
    from segmnv3.data.layouts import open_layout
    from segmnv3.data.prepare import default_splits

    splits = args.splits or default_splits(open_layout(args.root))
    for split in (s for s in splits if s != "test"):  # test labels are placeholders
        report = build_cache(args.root, split, cache_dir=cache_dir, workers=args.workers)
        print(
            f"frame cache {cache_dir / split}: {report.written} frames decoded, "
            f"{report.kept} unchanged kept, {report.bytes / 1e9:.2f} GB"
        )
    setting = "--set data.cache=true" + (
        f" --set data.cache_dir={cache_dir}" if args.cache_dir else ""
    )
    print(f"train with {setting}")
