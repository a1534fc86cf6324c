"""`segmnv3 serve --bench`: the served page in headless Chromium against native ONNX Runtime."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_bench(args: argparse.Namespace, routes: dict) -> int:
    """Export each ``--bench-configs`` row, time it in the page and natively, take screenshots."""
    import json

    from playwright.sync_api import sync_playwright

    from segmnv3.commands.model_args import parse_resolution
    from segmnv3.commands.serve import add_settings
    from segmnv3.core.errors import UserError
    from segmnv3.core.files import write_text_atomic
    from segmnv3.deploy.serve import bench
    from segmnv3.deploy.serve.browser import launch, missing_browser
    from segmnv3.deploy.serve.model_files import browser_model
    from segmnv3.deploy.serve.server import start_server

    if (reason := missing_browser()) is not None:
        raise UserError(f"serve --bench drives Chromium: {reason}")
    size = parse_resolution(args.resolution)
    out = Path(args.output or "outputs/serve-bench")
    models = {}
    for config in args.bench_configs:
        name = Path(config).stem
        folder = out / f"{name}_random_{size[0]}x{size[1]}"
        models[name] = browser_model(_seeded_model(config), folder, size)
    if args.weights:  # the screenshots' model
        from segmnv3.deploy.model import load_deploy_model

        weights = Path(args.weights)
        model = load_deploy_model(weights)
        models["screenshots"] = browser_model(
            model, out / f"{weights.stem}_{size[0]}x{size[1]}", size
        )
    media = _media(out / "media")
    server = start_server(routes, "127.0.0.1", 0)
    add_settings(routes, server, threads=None)  # the page's ?threads=N decides
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, fake_camera=media["camera"])
            rows = [
                bench.bench_config(browser, url, routes, name, model, args.bench_iterations)
                for name, model in models.items()
                if name != "screenshots"
            ]
            shown = models.get("screenshots", list(models.values())[-1])
            routes["/model.onnx"], routes["/model.json"] = shown.onnx, shown.meta
            shots = bench.screenshots(browser, url, media, out / "screenshots")
            versions = _versions(browser)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    machine = bench.machine_line()
    print(bench.report(rows, machine, versions))
    text = json.dumps(bench.to_dict(rows, machine, versions), indent=2)
    path = write_text_atomic(out / "serve_bench.json", text + "\n")
    print(f"wrote {path}; screenshots: {', '.join(str(p) for p in shots)}")
    return 0


def _seeded_model(config: str):
    """Random-init model of ``config`` (seed 0: the same file every run)."""
    import torch

    from segmnv3.core.label_file import stored_label_set
    from segmnv3.deploy.model import DeployModel
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    torch.manual_seed(0)
    loaded = load_config(config)
    name = Path(config).stem
    labels = stored_label_set({}, loaded.model.num_classes, source=name)
    return DeployModel(build_model_from_config(loaded.model).eval(), name, loaded.data, labels)


def _media(folder: Path) -> dict[str, Path]:
    """A synthetic street photo (odd size), a WebM clip and the same clip as a y4m camera."""
    import cv2
    import numpy as np

    from segmnv3.core.quiet import native_stderr_filtered
    from segmnv3.data.synthetic import generate_synthetic
    from segmnv3.deploy.serve.browser import write_y4m

    folder.mkdir(parents=True, exist_ok=True)
    root = generate_synthetic(
        folder / "synthetic", num_train=0, num_val=1, num_test=0, size=(600, 1000),
        workers=1, video=True, video_frames=24, video_size=(256, 512),
    )  # fmt: skip
    photo = next((root / "leftImg8bit" / "val").rglob("*.png"))
    capture = cv2.VideoCapture(str(root / "clip.mp4"))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    video = folder / "clip.webm"
    with native_stderr_filtered():  # OpenCV's note on the VP8 tag in a WebM container
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"VP80"), 12, (512, 256))
    for frame in frames:
        writer.write(frame)
    writer.release()
    camera = write_y4m(folder / "camera.y4m", np.stack(frames)[..., ::-1], fps=12)
    return {"photo": photo, "video": video, "camera": camera}


def _versions(browser) -> dict:
    import json

    import onnxruntime

    from segmnv3.deploy.serve.assets import WEB_DIR

    lock = json.loads((WEB_DIR / "package-lock.json").read_text())
    web = lock["packages"]["node_modules/onnxruntime-web"]["version"]
    return {"web": web, "chromium": browser.version, "native": onnxruntime.__version__}
