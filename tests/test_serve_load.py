"""`segmnv3 serve` under load and for a phone: TLS handshakes, streaming, caching, gzip.

Only 127.0.0.1, a handful of connections, each test bounded by socket timeouts.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import ssl
import time
import tracemalloc

import numpy as np
import pytest

from segmnv3.core.errors import UserError
from segmnv3.deploy.serve.assets import page_settings
from segmnv3.deploy.serve.cache import FileCache, accepts_gzip
from segmnv3.deploy.serve.server import start_server

PAGE = b"<!doctype html><p>" + b"a page that compresses well " * 200 + b"</p>"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """A compressible page, an incompressible 8 MB 'model', its certificate folder."""
    root = tmp_path_factory.mktemp("load")
    page = root / "index.html"
    page.write_bytes(PAGE)
    model = root / "model.onnx"
    model.write_bytes(np.random.default_rng(0).bytes(8 * 2**20))
    return {"/": page, "/index.html": page, "/model.onnx": model, "root": root}


@pytest.fixture(scope="module")
def site(files):
    routes = {path: file for path, file in files.items() if path.startswith("/")}
    server = start_server(routes, "127.0.0.1", 0)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def tls_site(files):
    """An HTTPS server with a short handshake timeout, and the client's context."""
    from segmnv3.deploy.serve.tls import self_signed_context

    try:
        context, _ = self_signed_context(files["root"] / "tls", [])
    except UserError as error:
        pytest.skip(str(error))
    server = start_server({"/": files["/"]}, "127.0.0.1", 0, tls=context)
    server.handshake_timeout = 1.0
    client = ssl.create_default_context(cafile=str(files["root"] / "tls" / "cert.pem"))
    yield server, client
    server.shutdown()
    server.server_close()


def _get(port: int, path: str, **headers) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def test_an_idle_tls_client_blocks_nobody_and_is_dropped(tls_site, capfd):
    server, client = tls_site
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as idle:  # says nothing
        started = time.monotonic()
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=client)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, PAGE)
        assert time.monotonic() - started < 3  # not behind the idle client's handshake
        connection.close()
        assert idle.recv(1) == b""  # closed by the server after its handshake timeout
    assert time.monotonic() - started < 4.5
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:  # HTTP on HTTPS
        plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):  # closed or reset, not left hanging
            while plain.recv(100):  # at most a TLS alert (a timeout fails here)
                pass
    time.sleep(0.2)
    assert capfd.readouterr().err == ""  # no traceback for a client's mistake


def test_stalled_downloads_never_hold_a_copy_of_the_file(site, files):
    port = site.server_address[1]
    size = files["/model.onnx"].stat().st_size
    site.cache.entry(files["/model.onnx"])  # hashed once, as the server does at start
    stalled = []
    tracemalloc.start()
    try:
        for _ in range(8):
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing
            client.settimeout(10)
            client.connect(("127.0.0.1", port))
            client.sendall(b"GET /model.onnx HTTP/1.1\r\nHost: x\r\n\r\n")
            stalled.append(client)
        time.sleep(0.5)  # every handler is now blocked mid-send
        response = _get(port, "/index.html")  # the server still answers others
        assert (response.status, response.body) == (200, PAGE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        for client in stalled:
            client.close()
    assert peak < size / 2, f"{peak / 2**20:.1f} MiB traced for 8 stalled {size >> 20} MiB files"


def test_gzip_etag_and_a_free_reload(site, files):
    port = site.server_address[1]
    first = _get(port, "/", Accept_Encoding="gzip, deflate, br")
    assert first.version == 11 and first.status == 200  # HTTP/1.1: kept-alive connections
    assert first.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(first.body) == PAGE
    assert len(first.body) < len(PAGE) / 10
    assert first.getheader("Vary") == "Accept-Encoding"
    assert first.getheader("Cache-Control") == "no-cache"
    etag = first.getheader("ETag")
    again = _get(port, "/", Accept_Encoding="gzip", If_None_Match=etag)
    assert (again.status, again.body, again.getheader("ETag")) == (304, b"", etag)
    plain = _get(port, "/", If_None_Match=etag)  # the identity copy has its own ETag
    assert (plain.status, plain.body, plain.getheader("Content-Encoding")) == (200, PAGE, None)
    files["/"].write_bytes(PAGE + b"<p>changed</p>")
    try:
        changed = _get(port, "/", Accept_Encoding="gzip", If_None_Match=etag)
        assert changed.status == 200 and gzip.decompress(changed.body).endswith(b"changed</p>")
    finally:
        files["/"].write_bytes(PAGE)


def test_incompressible_files_are_sent_as_they_are(site, files):
    model = _get(site.server_address[1], "/model.onnx", Accept_Encoding="gzip")
    assert model.getheader("Content-Encoding") is None
    assert model.body == files["/model.onnx"].read_bytes()


def test_a_versioned_url_is_immutable_and_settings_name_the_versions(site, files):
    routes = {path: file for path, file in files.items() if path.startswith("/")}
    settings = json.loads(page_settings(routes, FileCache(), threads=3))
    size = files["/model.onnx"].stat().st_size
    assert settings["threads"] == 3 and list(settings["files"]) == ["/model.onnx"]
    assert settings["files"]["/model.onnx"]["bytes"] == size
    version = settings["files"]["/model.onnx"]["version"]
    port = site.server_address[1]
    current = _get(port, f"/model.onnx?v={version}")
    assert current.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert current.getheader("ETag") == f'"{version}"'
    stale = _get(port, "/model.onnx?v=0123456789abcdef0123")  # an old page's URL
    assert stale.getheader("Cache-Control") == "no-cache"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.5", True), ("gzip;q=0", False),
     ("identity", False), ("", False), (None, False), ("*", True), ("GZIP", True)],
)  # fmt: skip
def test_accept_encoding(header, expected):
    assert accepts_gzip(header) is expected
