"""Where the page and the onnxruntime-web files are, and a one-line message when missing.

The page (``segmnv3/web/static``) is in the repository; onnxruntime-web comes from the npm
registry at install time: ``npm ci`` in ``segmnv3/web`` (``make`` runs it where ``npm``
exists) installs the version pinned in ``package-lock.json`` and copies the files named in
``vendor.json`` to ``segmnv3/web/vendor``, which the wheel ships. Nothing is fetched from a
CDN at run time.
"""

from __future__ import annotations

import json
from pathlib import Path

from segmnv3.core.errors import UserError
from segmnv3.deploy.serve.cache import FileCache

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB_DIR / "static"
VENDOR_DIR = WEB_DIR / "vendor"
PAGE_FILES = (
    "index.html",
    "style.css",
    "app.js",
    "load.js",
    "frame.js",
    "sources.js",
    "show.js",
    "pixels.js",
    "png.js",
)
"""The page's own files under ``static/``."""


def vendor_files(web_dir: Path = WEB_DIR) -> tuple[str, ...]:
    """The onnxruntime-web files the page loads (``vendor.json``)."""
    return tuple(json.loads((web_dir / "vendor.json").read_text())["files"])


def install_command(web_dir: Path = WEB_DIR) -> str:
    """The command that installs the browser assets."""
    return f"npm ci --prefix {web_dir}"


def check_assets(web_dir: Path = WEB_DIR) -> dict[str, Path]:
    """URL path -> file of every asset the server may send (page + onnxruntime-web).

    Raises:
        UserError: a file is missing: one line naming it and the install command.
    """
    files = {f"/{name}": web_dir / "static" / name for name in PAGE_FILES}
    files |= {f"/vendor/{name}": web_dir / "vendor" / name for name in vendor_files(web_dir)}
    missing = [path for path in files.values() if not path.is_file()]
    if missing:
        raise UserError(
            f"the browser assets of segmnv3 serve are missing ({missing[0]}): install "
            f"them with `{install_command(web_dir)}` (needs Node.js / npm), or `make install`"
        )
    files["/"] = files["/index.html"]
    return files


def page_settings(routes: dict, cache: FileCache, *, threads: int | None) -> bytes:
    """``/settings.json``: the WASM threads ``serve --threads`` asks (None: the page picks),
    and the version and size of every vendor file and of the model: the page puts the
    version in their URLs (``?v=``, which the server then marks immutable, so a reload
    fetches none of them) and shows its download progress against the sizes."""
    files = {}
    for path, file in routes.items():
        if isinstance(file, Path) and (path.startswith("/vendor/") or path == "/model.onnx"):
            entry = cache.entry(file)
            files[path] = {"version": entry.version, "bytes": entry.stamp[0]}
    return json.dumps({"threads": threads, "files": files}).encode()
