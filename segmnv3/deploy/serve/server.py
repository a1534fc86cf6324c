"""A threaded HTTP(S) server that sends only its own files, cross-origin isolated.

The server knows a fixed table of URL paths (the page, the onnxruntime-web files, the
model and its ``model.json``) and answers anything else with 404: no path is ever joined
onto a folder, so ``/../`` cannot leave it and no folder is listed. Every answer carries
``Cross-Origin-Opener-Policy: same-origin`` and ``Cross-Origin-Embedder-Policy:
require-corp``: the page is then cross-origin isolated, which multi-threaded WASM
(SharedArrayBuffer) needs.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from segmnv3.core.errors import UserError

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
}


def make_handler(routes: dict[str, Path]) -> type[BaseHTTPRequestHandler]:
    """A request handler serving exactly ``routes`` (URL path -> file)."""

    class Handler(BaseHTTPRequestHandler):
        def version_string(self) -> str:
            return "segmnv3"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            file = routes.get(path)
            if file is None or not file.is_file():
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body=body)
                return
            data = file.read_bytes()
            kind = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
            self._send(HTTPStatus.OK, data, kind, body=body)

        def _send(self, status: HTTPStatus, data: bytes, kind: str, *, body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            if body:  # the browser may go away mid-answer (a reload)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:
            pass  # one line per request would bury the URL lines

    return Handler


class AppServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port in use must be an error, not shared


def bind_server(
    routes: dict[str, Path], host: str, port: int, *, tls: ssl.SSLContext | None = None
) -> AppServer:
    """Bind the port (0: a free one) for ``routes``; nothing is answered before ``serve``.

    ``routes`` is used as it is when requests come: entries added later are served.

    Raises:
        UserError: the port is in use, or the host cannot be bound.
    """
    try:
        server = AppServer((host, port), make_handler(routes))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(
                f"--port {port}: {host}:{port} is already in use; stop the program using "
                "it or choose another port with --port"
            ) from None
        raise UserError(f"--host {host} --port {port}: cannot listen there ({error})") from None
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    return server


def serve(server: AppServer) -> AppServer:
    """Answer requests in a daemon thread (``server.shutdown()`` stops it)."""
    threading.Thread(target=server.serve_forever, name="segmnv3-serve", daemon=True).start()
    return server


def start_server(
    routes: dict[str, Path], host: str, port: int, *, tls: ssl.SSLContext | None = None
) -> AppServer:
    """``bind_server`` then ``serve``."""
    return serve(bind_server(routes, host, port, tls=tls))


def urls(host: str, port: int, *, https: bool) -> list[str]:
    """The URLs to open: loopback, and the LAN address when listening on all interfaces."""
    scheme = "https" if https else "http"
    everywhere = host in ("0.0.0.0", "", "::")
    hosts = ["127.0.0.1", *lan_address()] if everywhere else [host]
    return [f"{scheme}://{name}:{port}/" for name in hosts]


def lan_address() -> list[str]:
    """This machine's address on its LAN (the interface of the default route), if any."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP connect: picks a route, sends nothing
        address = probe.getsockname()[0]
    except OSError:
        return []
    finally:
        probe.close()
    return [] if address.startswith("127.") else [address]
