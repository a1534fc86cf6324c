"""`segmnv3 serve` without a browser: the route table, headers, one-line errors, the cache."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from segmnv3.cli import main
from segmnv3.core.errors import UserError
from segmnv3.deploy.serve import model_files
from segmnv3.deploy.serve.assets import check_assets
from segmnv3.deploy.serve.server import start_server, urls


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server of two files (page + model) beside a secret it must never send."""
    root = tmp_path_factory.mktemp("site")
    (root / "public").mkdir()
    page = root / "public" / "index.html"
    page.write_text("<p>page</p>")
    model = root / "public" / "model.onnx"
    model.write_bytes(b"\x08\x01onnx")
    (root / "secret.txt").write_text("secret")
    server = start_server({"/": page, "/index.html": page, "/model.onnx": model}, "127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path)  # sent as written: no client-side normalisation
    response = connection.getresponse()
    answer = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return answer


def test_serves_its_files_cross_origin_isolated(site):
    status, headers, body = _get(site, "/")
    assert (status, body) == (200, b"<p>page</p>")
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Content-Type"].startswith("text/html")
    status, headers, body = _get(site, "/model.onnx?v=1")
    assert (status, body, headers["Content-Length"]) == (200, b"\x08\x01onnx", "6")
    status, headers, body = _get(site, "/model.onnx", "HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", "6")


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/public/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "//etc"],
)
def test_no_path_traversal(site, path):
    status, headers, body = _get(site, path)
    assert status == 404
    assert b"secret" not in body
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"  # on errors too


@pytest.mark.parametrize("path", ["/public/", "/public", "/vendor/", "/index.html/"])
def test_no_directory_listing(site, path):
    status, _, body = _get(site, path)
    assert status == 404
    assert b"index.html" not in body and b"model.onnx" not in body


def test_port_in_use_is_one_line_before_any_export(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["serve", "--random-init", "--port", str(port), "--output", str(tmp_path)]
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: --port {port}: 127.0.0.1:{port} is already in use; stop the program "
        "using it or choose another port with --port"
    )
    assert not any(tmp_path.rglob("*.onnx"))  # refused before exporting anything


def test_missing_checkpoint_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nothing.pt"
    assert main(["serve", "--weights", str(missing), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --weights {missing}: no such file; pass a checkpoint (.pt)"]


def test_missing_assets_name_the_install_command(tmp_path):
    (tmp_path / "vendor.json").write_text(json.dumps({"files": ["ort.wasm.min.mjs"]}))
    with pytest.raises(UserError) as error:
        check_assets(tmp_path)
    text = str(error.value)
    assert "\n" not in text
    assert f"npm ci --prefix {tmp_path}" in text


def test_lan_url_when_listening_everywhere(monkeypatch):
    monkeypatch.setattr("segmnv3.deploy.serve.server.lan_address", lambda: ["192.168.1.7"])
    assert urls("0.0.0.0", 8000, https=True) == [
        "https://127.0.0.1:8000/",
        "https://192.168.1.7:8000/",
    ]
    assert urls("127.0.0.1", 8000, https=False) == ["http://127.0.0.1:8000/"]


def test_content_key_follows_content_and_resolution(tmp_path):
    one, two = tmp_path / "a.pt", tmp_path / "b.pt"
    one.write_bytes(b"weights 1")
    two.write_bytes(b"weights 2")
    assert model_files.content_key(one, (64, 128)).startswith("64x128_")
    assert model_files.content_key(one, (64, 128)) != model_files.content_key(two, (64, 128))
    assert model_files.content_key(one, (64, 128)) != model_files.content_key(one, (128, 256))
    two.write_bytes(b"weights 1")
    assert model_files.content_key(one, (64, 128)) == model_files.content_key(two, (64, 128))


def test_https_certificate_is_made_and_loads(tmp_path):
    from segmnv3.deploy.serve.tls import self_signed_context

    try:
        context, tool = self_signed_context(tmp_path, ["192.168.1.7"])
    except UserError as error:
        pytest.skip(str(error))
    assert tool in ("cryptography", "openssl")
    assert (tmp_path / "cert.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
    server = start_server({}, "127.0.0.1", 0, tls=context)
    try:
        import ssl

        client = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        port = server.server_address[1]
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=client)
        connection.request("GET", "/nothing")
        assert connection.getresponse().status == 404  # TLS handshake with that certificate
        connection.close()
    finally:
        server.shutdown()
        server.server_close()


ROW11 = "table7_row11_v3small_rf2_lraspp_f128_os16"


def _tiny_model():
    import torch

    from segmnv3.core.cityscapes_labels import CITYSCAPES
    from segmnv3.data.config import DataConfig
    from segmnv3.deploy.model import DeployModel
    from segmnv3.engine.config import load_config
    from segmnv3.models.segmenter import build_model_from_config

    torch.manual_seed(0)
    config = load_config(ROW11)
    data = DataConfig(mean=(0.3, 0.4, 0.5), std=(0.2, 0.25, 0.3))
    return DeployModel(build_model_from_config(config.model).eval(), "tiny", data, CITYSCAPES)


def test_browser_model_is_the_parity_checked_onnx_row_and_is_cached(tmp_path, monkeypatch):
    import segmnv3.deploy.export.bundle as bundle
    from segmnv3.core.cityscapes_labels import CITYSCAPES
    from segmnv3.deploy.export.parity import ParityThresholds

    model, size = _tiny_model(), (64, 128)
    real = bundle.check_parity
    strict = ParityThresholds(max_abs_diff=-1.0)  # nothing passes: the gate must refuse
    monkeypatch.setattr(bundle, "check_parity", lambda *a, **k: real(*a, **k, thresholds=strict))
    with pytest.raises(UserError, match="parity FAILED"):
        model_files.browser_model(model, tmp_path / "refused", size)
    assert model_files.cached_model(tmp_path / "refused") is None  # never served later
    monkeypatch.setattr(bundle, "check_parity", real)
    made = model_files.browser_model(model, tmp_path / "ok", size)
    meta = made.description()
    assert (made.cached, made.onnx.name) == (False, "tiny_64x128_head.onnx")
    assert meta["size"] == [64, 128] and meta["parity"]["passed"] is True
    assert meta["parity"]["backend"] == "onnxruntime head"  # the served graph's own check
    assert meta["mean"] == pytest.approx([0.3, 0.4, 0.5])
    assert meta["std"] == pytest.approx([0.2, 0.25, 0.3])
    assert [c["name"] for c in meta["classes"]] == list(CITYSCAPES.names)
    assert [c["color"] for c in meta["classes"]] == CITYSCAPES.colors.tolist()
    assert (meta["input"]["name"], meta["output"]["name"]) == ("image", "head_logits")
    assert meta["output"]["layout"].startswith("NHWC (N, H/8, W/8, C) float32")
    assert meta["output"]["align_corners"] is False
    again = model_files.browser_model(model, tmp_path / "ok", size)
    assert (again.cached, again.onnx) == (True, made.onnx)
    # an export made for the page before (a labels graph) is not served again
    older = json.loads(made.meta.read_text())
    older["output"]["name"] = "labels"
    made.meta.write_text(json.dumps(older))
    assert model_files.cached_model(tmp_path / "ok") is None


def test_a_missing_browser_names_the_install_command(monkeypatch):
    from segmnv3.deploy.serve import browser

    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    reason = browser.missing_browser()
    assert reason == (
        "Chromium is not installed: apt-get install chromium && pip install playwright "
        "(or make install)"
    )
    with pytest.raises(UserError, match="apt-get install chromium"):
        browser.launch(None)
