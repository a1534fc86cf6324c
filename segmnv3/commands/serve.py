"""`segmnv3 serve`: a web page that segments photos, videos and the camera in the browser."""

from __future__ import annotations

import argparse

SUMMARY = (
    "Serve a web page that segments photos, videos and the camera on the device's own CPU "
    "(onnxruntime-web: WASM SIMD + threads, WebGPU opt-in)."
)
EXAMPLES = """examples:
  segmnv3 serve --weights runs/row08/best.pt                    # open http://127.0.0.1:8000/
  segmnv3 serve --weights runs/row08/best.pt --host 0.0.0.0 --https   # a phone on the LAN
  segmnv3 serve --random-init --config table7_row11_v3small_rf2_lraspp_f128_os16 \\
      --resolution 256x512                                      # smoke run, random weights
  segmnv3 serve --bench --output outputs/serve-bench            # browser vs native ms/frame

The model is exported once to ONNX (the `export` writer and its parity gate: a file that
fails parity is refused) into a folder named by the checkpoint's content and the
resolution (next to the checkpoint, or under --output), with a model.json the page reads:
class names and colours, mean / std. The page runs it with onnxruntime-web from this
server (no CDN); the server sends COOP / COEP headers, so the page is cross-origin
isolated and WASM runs multi-threaded. The camera and threads need a secure context:
http://127.0.0.1 on this machine, or --https (a self-signed certificate the phone asks you
to trust) from another device. The browser assets come from `npm ci` (make install).
--threads N: the WASM threads the page runs (default: the device's cores, at most 4; the
page's ?threads=N overrides). Files are sent gzipped with ETags, so a reload is ~free.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segmnv3.commands.arg_types import port, positive_int
    from segmnv3.commands.model_args import add_model_arguments

    add_model_arguments(parser)
    parser.set_defaults(resolution="512x1024", threads=None)  # None: the page picks (<= 4)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: LAN)")
    parser.add_argument("--port", type=port, default=8000, help="port (0: any free one)")
    parser.add_argument(
        "--https", action="store_true", help="serve over HTTPS with a self-signed certificate"
    )
    parser.add_argument(
        "--output",
        help="folder of the exported model (default: <checkpoint folder>/serve, "
        "or outputs/serve with --random-init); the benchmark's report with --bench",
    )
    parser.add_argument(
        "--bench",
        action="store_true",
        help="benchmark instead of serving: headless Chromium ms/frame (WASM, 1 thread and all "
        "threads) beside native ONNX Runtime (1 thread) for rows 8 and 11, screenshots",
    )
    parser.add_argument(
        "--bench-configs",
        nargs="+",
        default=[
            "table7_row08_v3large_rf2_lraspp_f128_os16",
            "table7_row11_v3small_rf2_lraspp_f128_os16",
        ],
        metavar="CONFIG",
        help="configs the benchmark runs (random weights: speed does not depend on them)",
    )
    parser.add_argument(
        "--bench-iterations", type=positive_int, default=10, help="timed runs per figure (>= 1)"
    )


def run(args: argparse.Namespace) -> int:
    from segmnv3.deploy.serve.assets import check_assets

    routes = check_assets()  # before any export: missing assets are a one-line error
    if args.bench:
        from segmnv3.commands.serve_bench import run_bench

        return run_bench(args, routes)
    from segmnv3.commands.interrupts import run_until_interrupted

    folder = model_folder(args)
    server = bind(args, routes, folder)  # a port in use fails before the export
    try:  # SIGTERM during the export cleans up as Ctrl-C does
        return run_until_interrupted(
            lambda: _export_and_serve(args, routes, folder, server),
            "stopped before serving; no browser model was kept unless complete",
        )
    finally:
        server.server_close()


def _export_and_serve(args: argparse.Namespace, routes: dict, folder, server) -> int:
    routes |= export_for_browser(args, folder)
    add_settings(routes, server, threads=args.threads)
    return serve_until_interrupted(args, server)


def model_folder(args: argparse.Namespace):
    """Where the browser model goes: a folder named by checkpoint content and resolution."""
    from pathlib import Path

    from segmnv3.commands.model_args import parse_resolution
    from segmnv3.core.errors import UserError
    from segmnv3.deploy.serve.model_files import content_key

    size = parse_resolution(args.resolution)
    if args.random_init:
        root = Path(args.output or "outputs/serve")
        name = Path(args.config).stem if args.config else "row08"
        return root / f"{name}_random_{size[0]}x{size[1]}"
    if not args.weights:
        raise UserError(
            "no --weights given: pass a checkpoint from `segmnv3 train` "
            "(or --random-init for a smoke run with random parameters)"
        )
    weights = Path(args.weights)
    if not weights.is_file():
        raise UserError(f"--weights {weights}: no such file; pass a checkpoint (.pt)")
    root = Path(args.output) if args.output else weights.parent / "serve"
    key = content_key(weights, size)
    if args.config:  # another config describes the weights otherwise: another export
        key += "_" + content_key(Path(_config_path(args.config)), size).split("_")[-1]
    return root / f"{weights.stem}_{key}"


def _config_path(name: str) -> str:
    from segmnv3.configs import resolve_config

    return str(resolve_config(name))


def export_for_browser(args: argparse.Namespace, folder) -> dict:
    """URL path -> file of the model (exported here unless a complete export is cached)."""
    from segmnv3.commands.model_args import load_deploy_model, parse_resolution
    from segmnv3.core.errors import UserError
    from segmnv3.deploy.serve.model_files import MODEL_JSON, browser_model, cached_model

    size = parse_resolution(args.resolution)
    found = None if args.random_init else cached_model(folder)
    if found is not None:
        print(f"using the browser model exported earlier: {found.onnx}")
    else:
        model = load_deploy_model(args)
        try:
            found = browser_model(model, folder, size, reuse=False)
        except OSError as error:
            raise UserError(f"{folder}: cannot write the browser model ({error})") from None
        print(f"exported the browser model: {found.onnx} ({found.meta.name} beside it)")
    return {"/model.onnx": found.onnx, f"/{MODEL_JSON}": found.meta}


def add_settings(routes: dict, server, *, threads: int | None) -> None:
    """``/settings.json`` (``--threads``, file versions), and gzip ahead of the first visit."""
    from functools import partial
    from pathlib import Path

    from segmnv3.deploy.serve.assets import page_settings

    server.cache.warm([file for file in routes.values() if isinstance(file, Path)])
    routes["/settings.json"] = partial(page_settings, routes, server.cache, threads=threads)


def bind(args: argparse.Namespace, routes: dict, folder):
    """The server bound to ``--host`` / ``--port`` (with its certificate for ``--https``)."""
    from segmnv3.deploy.serve.server import bind_server, lan_address

    tls = None
    if args.https:
        from segmnv3.deploy.serve.tls import self_signed_context

        everywhere = args.host in ("0.0.0.0", "::")
        hosts = [args.host, *lan_address()] if everywhere else [args.host]
        try:
            tls, tool = self_signed_context(folder / "tls", hosts)
        except OSError as error:
            from segmnv3.core.errors import UserError

            raise UserError(
                f"--https: cannot write the certificate in {folder / 'tls'} "
                f"({error.strerror or error}); pass --output with a writable folder"
            ) from None
        print(
            f"HTTPS with a self-signed certificate (made by {tool}, in {folder / 'tls'}): the "
            "browser will warn and ask you to trust it once"
        )
    return bind_server(routes, args.host, args.port, tls=tls)


def serve_until_interrupted(args: argparse.Namespace, server) -> int:
    """Serve, print where to open the page, until Ctrl-C."""
    import threading

    from segmnv3.deploy.serve.server import serve, urls

    serve(server)
    port = server.server_address[1]
    for url in urls(args.host, port, https=args.https):
        print(f"open {url}", flush=True)
    if args.host in ("0.0.0.0", "::") and not args.https:
        print("from another device the camera and WASM threads need --https (a secure context)")
    print("Ctrl-C stops the server", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.shutdown()
    return 0
