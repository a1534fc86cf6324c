"""A threaded HTTP(S) server that sends only its own files, cross-origin isolated.

The server knows a fixed table of URL paths (the page, the onnxruntime-web files, the
model and its ``model.json``) and answers anything else with 404: no path is ever joined
onto a folder, so ``/../`` cannot leave it and no folder is listed. Every answer carries
``Cross-Origin-Opener-Policy: same-origin`` and ``Cross-Origin-Embedder-Policy:
require-corp``: the page is then cross-origin isolated, which multi-threaded WASM
(SharedArrayBuffer) needs.
"""

from __future__ import annotations

import errno
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from segmnv3.core.errors import UserError
from segmnv3.deploy.serve.cache import (
    CHUNK,
    FOREVER,
    REVALIDATE,
    Entry,
    FileCache,
    accepts_gzip,
    bytes_entry,
    not_modified,
)

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
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
Route = Path | bytes | Callable[[], bytes]
"""What a URL path sends: a file (streamed), bytes, or a function returning bytes."""
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client has for its TLS handshake (in its own thread, never the accept loop)."""
IDLE_TIMEOUT = 60.0
"""Seconds a kept-alive connection may sit idle (or a download stall) before it is closed."""


def make_handler(routes: dict[str, Route], cache: FileCache | None = None):
    """A request handler serving exactly ``routes`` (URL path -> file, bytes, or a function
    returning bytes).

    HTTP/1.1 (kept-alive connections), ``ETag`` / ``If-None-Match``, gzip where the client
    accepts it and it pays, files streamed in chunks (see ``cache``).
    """
    cache = cache or FileCache()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = IDLE_TIMEOUT

        def version_string(self) -> str:
            return "segmnv3"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            path, _, query = self.path.split("#", 1)[0].partition("?")
            source = routes.get(path)
            if callable(source):  # made when asked (``/settings.json``)
                source = source()
            if isinstance(source, bytes):
                self._send(_kind(path), bytes_entry(source), source, query, body=body)
                return
            handle = _open(source)
            if handle is None:
                self._send_plain(HTTPStatus.NOT_FOUND, b"not found\n", body=body)
                return
            with handle:
                entry = cache.entry(source, handle)
                self._send(_kind(source.name), entry, handle, query, body=body)

        def _send(self, kind: str, entry: Entry, content, query: str, *, body: bool) -> None:
            """200 with the file (gzip if accepted and worth it), or 304 if the ETag matches."""
            gzip = entry.gzip is not None and accepts_gzip(self.headers["Accept-Encoding"])
            etag = entry.etag("gzip" if gzip else None)
            fresh = not_modified(self.headers["If-None-Match"], etag)
            self.send_response(HTTPStatus.NOT_MODIFIED if fresh else HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            versioned = f"v={entry.version}" in query.split("&")
            self.send_header("Cache-Control", FOREVER if versioned else REVALIDATE)
            self.send_header("Vary", "Accept-Encoding")
            if fresh:
                self._finish_headers()
                return
            if gzip:
                content = entry.gzip
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(content) if gzip else entry.stamp[0]))
            self._finish_headers()
            if body:
                self._write(content)

        def _send_plain(self, status: HTTPStatus, data: bytes, *, body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", REVALIDATE)
            self._finish_headers()
            if body:
                self._write(data)

        def _finish_headers(self) -> None:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()

        def _write(self, content) -> None:
            """Send bytes or an open file in chunks; the client may go away (a reload)."""
            try:
                if isinstance(content, bytes):
                    view = memoryview(content)
                    for start in range(0, len(view), CHUNK):
                        self.wfile.write(view[start : start + CHUNK])
                else:
                    while chunk := content.read(CHUNK):
                        self.wfile.write(chunk)
            except OSError:  # gone, reset or stalled past IDLE_TIMEOUT: drop the connection
                self.close_connection = True

        def log_message(self, format: str, *args) -> None:
            pass  # one line per request would bury the URL lines

    return Handler


def _kind(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")


def _open(file: Path | None):
    """The route's file open for reading, or None (no route, or the file is gone)."""
    try:
        return open(file, "rb") if file is not None and file.is_file() else None  # noqa: SIM115
    except OSError:
        return None


class AppServer(ThreadingHTTPServer):
    """One thread per connection; with ``tls`` the handshake runs in that thread too."""

    daemon_threads = True
    allow_reuse_address = False  # a port in use must be an error, not shared
    tls: ssl.SSLContext | None = None
    cache: FileCache
    handshake_timeout = HANDSHAKE_TIMEOUT

    def finish_request(self, request, client_address) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(self.handshake_timeout)  # an idle client holds only its thread
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except OSError:  # timed out, not TLS, or refused the certificate
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone is no error of ours
            super().handle_error(request, client_address)


def bind_server(
    routes: dict[str, Route],
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    cache: FileCache | None = None,
) -> AppServer:
    """Bind the port (0: a free one) for ``routes``; nothing is answered before ``serve``.

    ``routes`` is used as it is when requests come: entries added later are served.

    Raises:
        UserError: the port is in use, or the host cannot be bound.
    """
    try:
        cache = cache or FileCache()
        server = AppServer((host, port), make_handler(routes, cache))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(
                f"--port {port}: {host}:{port} is already in use; stop the program using "
                "it or choose another port with --port"
            ) from None
        raise UserError(f"--host {host} --port {port}: cannot listen there ({error})") from None
    server.tls, server.cache = tls, cache
    return server


def serve(server: AppServer) -> AppServer:
    """Answer requests in a daemon thread (``server.shutdown()`` stops it)."""
    threading.Thread(target=server.serve_forever, name="segmnv3-serve", daemon=True).start()
    return server


def start_server(
    routes: dict[str, Route], host: str, port: int, *, tls: ssl.SSLContext | None = None
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
