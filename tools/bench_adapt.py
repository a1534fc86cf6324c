"""NetAdapt benchmark (README "Fit a latency budget"): layer-wise vs uniform width.

    python tools/bench_adapt.py [OUT] [--iterations N] [--tune T]

1. trains row 11 (V3-Small LR-ASPP) on the synthetic set at 256x512 crops (the seed),
2. `segmnv3 adapt` to 0.7x its ONNX Runtime latency (1 thread, 256x512),
3. trains the adapted config and the uniform-width row 11 whose measured latency is
   closest to it from scratch for the same iterations,
4. prints val mIoU and latencies measured side by side (interleaved), and the wall times.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from segmnv3.cli import main as _cli


def segmnv3(argv: list[str]) -> None:
    if _cli(argv):
        raise SystemExit(f"segmnv3 {argv[0]} failed")


ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"
SIZE = (256, 512)


def train(out: Path, name: str, config: str, data: list[str], iterations: int, extra=()) -> Path:
    run = out / name
    segmnv3(
        ["train", "--config", config, *data, "--iterations", str(iterations), "--batch-size", "4",
         "--out-dir", str(run), "--no-progress", "--set", "train.val_interval=0",
         "--set", "train.base_lr=0.05", "--set", "train.cpu_threads=1", *extra]
    )  # fmt: skip
    return run / "last.pt"


def miou(checkpoint: Path) -> float:
    json_path = checkpoint.with_suffix(".eval.json")
    segmnv3(["eval", str(checkpoint), "--no-progress", "--json", str(json_path)])
    report = json.loads(json_path.read_text())
    return report["miou"] if "miou" in report else report["scores"]["miou"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="runs/bench_adapt")
    parser.add_argument("--iterations", type=int, default=300, help="training iterations")
    parser.add_argument("--tune", type=int, default=10, help="fine-tune steps per proposal")
    parser.add_argument("--delta", type=float, default=0.03)
    args = parser.parse_args()
    out = Path(args.out)
    data = ["--dataset", "synthetic", "--data-root", str(out / "synthetic"),
            "--set", f"data.crop_size=[{SIZE[0]},{SIZE[1]}]"]  # fmt: skip
    seed = train(out, "seed", ROW11, data, args.iterations)
    started = time.perf_counter()
    segmnv3(
        ["adapt", "--checkpoint", str(seed), "--target-ratio", "0.7", "--size", "256x512",
         "--iterations", str(args.tune), "--delta", str(args.delta), "--out-dir",
         str(out / "adapt")]
    )  # fmt: skip
    adapt_seconds = time.perf_counter() - started
    adapted = train(out, "adapted", str(out / "adapt" / "adapted.yaml"), data, args.iterations)
    ms = latencies(seed, adapted)
    width = min((0.5, 0.75), key=lambda w: abs(ms[f"uniform {w}"] - ms["adapted"]))
    uniform = train(out, f"uniform_{width}", ROW11, data, args.iterations,
                    ("--set", f"model.width_mult={width}"))  # fmt: skip
    rows = {"seed (row 11)": seed, "adapted": adapted, f"uniform {width}": uniform}
    print(f"\nadapt wall time: {adapt_seconds / 60:.1f} min; training: {args.iterations} its each")
    print(f"{'model':<18}{'latency ms':>12}{'val mIoU':>10}")
    for name, checkpoint in rows.items():
        key = name if name in ms else "seed"
        print(f"{name:<18}{ms[key]:>12.2f}{100 * miou(checkpoint):>10.2f}")


def latencies(seed: Path, adapted: Path) -> dict[str, float]:
    """ONNX Runtime, 1 thread, 256x512: seed, adapted and uniform widths, interleaved."""
    import dataclasses

    from segmnv3.deploy.latency.meter import LatencyMeter
    from segmnv3.models.loading import load_model
    from segmnv3.models.segmenter import build_model_from_config

    seed_model, stored = load_model(seed)
    from segmnv3.core.schema import from_dict
    from segmnv3.models.config import ModelConfig

    row11 = from_dict(ModelConfig, stored["model"])
    models = {"seed": seed_model, "adapted": load_model(adapted)[0]}
    for width in (0.5, 0.75):
        models[f"uniform {width}"] = build_model_from_config(
            dataclasses.replace(row11, width_mult=width)
        )
    ms = LatencyMeter("onnxruntime", SIZE, repeats=40).measure(models)
    print("latency (ms, ONNX Runtime, 1 thread, 256x512, interleaved):", ms)
    return ms


if __name__ == "__main__":
    main()
