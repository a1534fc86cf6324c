"""The `segmnv3 serve` page in a real headless Chromium (Debian's, driven by Playwright).

One tiny random-init model (row 11 at 64x128) is exported once and served by the real
server for the whole module. In CI (CI=true) a missing browser fails these tests; elsewhere
they skip, naming the install command.
"""

from __future__ import annotations

import base64
import os

import cv2
import numpy as np
import pytest

from segmnv3.deploy.serve import browser as chromium

SIZE = (64, 128)  # network input (H, W)


def _require_browser() -> None:
    reason = chromium.missing_browser()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def assets() -> dict:
    """The page's routes; without the npm assets: a failure in CI, else a skip."""
    _require_browser()
    from segmnv3.core.errors import UserError
    from segmnv3.deploy.serve.assets import check_assets

    try:
        return check_assets()
    except UserError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def served(assets, tmp_path_factory):
    """(base URL, model.json dict, ONNX path) of a tiny model served by `serve`'s server."""
    from segmnv3.deploy.serve.model_files import browser_model
    from segmnv3.deploy.serve.server import start_server
    from tests.test_serve_server import _tiny_model

    routes = dict(assets)
    made = browser_model(_tiny_model(), tmp_path_factory.mktemp("model"), SIZE)
    routes |= {"/model.onnx": made.onnx, "/model.json": made.meta}
    server = start_server(routes, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}/", made.description(), made.onnx
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict:
    """Test frames and clips: network-size PNGs, an odd-size photo, a WebM, a y4m camera."""
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    files = {}
    for index in range(2):  # smooth random colours: fixed frames for the agreement check
        small = rng.integers(0, 256, (4, 8, 3), dtype=np.uint8)
        frame = cv2.resize(small, SIZE[::-1], interpolation=cv2.INTER_CUBIC)
        files[f"frame{index}"] = folder / f"frame{index}.png"
        cv2.imwrite(str(files[f"frame{index}"]), frame)
    files["odd"] = folder / "odd.png"
    cv2.imwrite(str(files["odd"]), rng.integers(0, 256, (53, 37, 3), dtype=np.uint8))
    clip = [np.full((64, 128, 3), (20 * i, 100, 255 - 20 * i), np.uint8) for i in range(10)]
    files["video"] = folder / "clip.webm"
    writer = cv2.VideoWriter(str(files["video"]), cv2.VideoWriter_fourcc(*"VP80"), 10, (128, 64))
    for frame in clip:
        writer.write(frame)
    writer.release()
    files["broken"] = folder / "broken.webm"
    files["broken"].write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8)
    files["camera"] = chromium.write_y4m(folder / "camera.y4m", np.stack(clip)[..., ::-1])
    return files


@pytest.fixture(scope="module")
def browser(media):
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = chromium.launch(playwright, fake_camera=media["camera"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def loaded(browser, served):
    """The served app, loaded once (the WASM compiles once); console errors in ``.errors``."""
    context = browser.new_context(accept_downloads=True)
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.goto(served[0] + "?threads=2")
    assert opened.evaluate("window.segmnv3.ready") is True, _messages(opened)
    opened.at_load = (_messages(opened), list(opened.errors))  # messages, console errors
    yield opened
    context.close()


@pytest.fixture
def page(loaded):
    """The loaded app with no source running, no messages and no console errors yet."""
    loaded.evaluate("() => { segmnv3.stop(); segmnv3.state.messages.length = 0; }")
    loaded.errors.clear()
    yield loaded
    loaded.evaluate("() => segmnv3.stop()")


def _messages(page) -> list:
    return page.evaluate("window.segmnv3.state.messages")


def _wait_for_message(page, fragment: str) -> str:
    page.wait_for_function(
        "f => segmnv3.state.messages.some(m => m.text.includes(f))", arg=fragment, timeout=20000
    )
    return next(m for m in _messages(page) if fragment in m["text"])


def _last(page) -> tuple[np.ndarray, np.ndarray]:
    """The page's last network input (RGB, H x W x 3) and labels (H x W)."""
    last = page.evaluate("segmnv3.exportLast()")
    shape = (last["height"], last["width"])
    rgba = np.frombuffer(base64.b64decode(last["rgba"]), np.uint8).reshape(*shape, 4)
    labels = np.frombuffer(base64.b64decode(last["labels"]), np.uint8).reshape(shape)
    return rgba[..., :3], labels


def test_page_loads_isolated_multithreaded_without_console_errors(page, served):
    meta = served[1]
    assert page.evaluate("self.crossOriginIsolated") is True
    state = page.evaluate("({p: segmnv3.state.provider, t: segmnv3.state.threads})")
    assert state == {"p": "wasm (SIMD)", "t": 2}
    assert page.inner_text("#threads") == "2"
    assert page.inner_text("#size") == f"{SIZE[1]} × {SIZE[0]}"
    legend = page.locator("#legend li").all_inner_texts()
    assert [text.strip() for text in legend] == [c["name"] for c in meta["classes"]]
    swatch = page.locator("#legend li span").first.evaluate("e => e.style.background")
    assert swatch == "rgb({}, {}, {})".format(*meta["classes"][0]["color"])
    assert page.at_load == ([], [])  # no message, no console error while loading


def test_labels_agree_with_onnxruntime_in_python(page, served, media):
    import base64  # here too: the page's logits, beside the one use (a smaller merge)

    import onnxruntime as ort

    from segmnv3.deploy.inference.upsample_labels import labels_from_logits

    _, meta, onnx = served
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    mean = np.asarray(meta["mean"], np.float32) * 255
    std = np.asarray(meta["std"], np.float32) * 255
    for name in ("frame0", "frame1"):
        page.set_input_files("#file", str(media[name]))
        _wait_for_message(page, f"{name}.png: {SIZE[1]} × {SIZE[0]}")
        rgb, labels = _last(page)
        assert np.array_equal(rgb, cv2.imread(str(media[name]))[..., ::-1])  # lossless input
        batch = ((rgb.astype(np.float32) - mean) / std).transpose(2, 0, 1)[None]
        head = session.run(None, {"image": np.ascontiguousarray(batch)})[0][0]  # (h, w, C)
        assert meta["output"]["name"] == "head_logits" and head.shape == (8, 16, 19)
        expected = labels_from_logits(head.transpose(2, 0, 1), SIZE)
        assert (labels == expected).mean() >= 0.995, name
        # the page's labels: Python's rule on the page's own logits, pixel for pixel
        output = page.evaluate("segmnv3.lastOutput()")
        nhwc = np.frombuffer(base64.b64decode(output["data"]), np.float32)
        logits = nhwc.reshape(output["dims"])[0].transpose(2, 0, 1)
        assert np.array_equal(labels, labels_from_logits(logits, SIZE))
    assert page.errors == []


def test_odd_size_photo_is_resized_and_its_mask_downloads_at_photo_size(page, media):
    page.set_input_files("#file", str(media["odd"]))
    _wait_for_message(page, f"odd.png: 37 × 53, segmented at {SIZE[1]} × {SIZE[0]}")
    assert page.evaluate("[view.width, view.height]") == [37, 53]  # drawn at the photo size
    _, labels = _last(page)
    with page.expect_download() as download:
        page.click("#download")
    path = download.value.path()
    assert download.value.suggested_filename == "odd_trainids.png"
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (53, 37) and mask.dtype == np.uint8  # 8-bit greyscale
    rows = np.minimum(((np.arange(53) + 0.5) * SIZE[0] / 53).astype(int), SIZE[0] - 1)
    cols = np.minimum(((np.arange(37) + 0.5) * SIZE[1] / 37).astype(int), SIZE[1] - 1)
    assert np.array_equal(mask, labels[rows][:, cols])  # nearest from the network's labels
    assert page.errors == []


def test_video_file_plays_with_frames_and_fps(page, media):
    page.set_input_files("#file", str(media["video"]))
    _wait_for_message(page, "clip.webm: playing")
    page.wait_for_function("segmnv3.state.frames >= 5 && segmnv3.state.stats.fps > 0")
    assert page.evaluate("[view.width, view.height]") == [128, 64]
    page.click("#stop")
    assert page.errors == []


def test_undecodable_video_is_a_message(page, media):
    page.set_input_files("#file", str(media["broken"]))
    found = _wait_for_message(page, "cannot play broken.webm")
    assert found["kind"] == "error" and "cannot decode it" in found["text"]
    assert page.errors == []


def test_fake_camera_gives_frames_and_fps(page):
    page.click("#camera")
    _wait_for_message(page, "camera on")
    page.wait_for_function("segmnv3.state.frames >= 5 && segmnv3.state.stats.fps > 0")
    assert page.evaluate("segmnv3.state.stats.fps") > 0
    page.click("#stop")
    assert page.errors == []


_REFUSE = """kind => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("no", kind));
}"""


def test_denied_or_absent_camera_is_a_message(page):
    page.evaluate("() => { window.realGetUserMedia = navigator.mediaDevices.getUserMedia; }")
    try:
        page.evaluate(_REFUSE, "NotAllowedError")
        page.click("#camera")
        assert "camera access was denied" in _wait_for_message(page, "camera")["text"]
        page.evaluate(_REFUSE, "NotFoundError")
        page.click("#camera")
        _wait_for_message(page, "no camera found on this device")
    finally:
        page.evaluate("() => { navigator.mediaDevices.getUserMedia = window.realGetUserMedia; }")
    assert page.errors == []


def test_model_too_large_is_a_message(browser, served):
    context = browser.new_context()
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(served[0] + "?max_model_mb=0.001")
    assert opened.evaluate("window.segmnv3.ready") is False
    text = opened.evaluate("segmnv3.state.messages")[0]["text"]
    assert text.startswith("model too large for this device:")
    opened.set_input_files("#file", served[2].parent / "model.json")  # any file: refused
    assert errors == []
    context.close()


def test_the_serve_command_serves_the_page_isolated_with_threads(assets, browser, tmp_path):
    import subprocess
    import sys

    command = [
        sys.executable, "-m", "segmnv3.cli", "serve", "--random-init",
        "--config", "table7_row11_v3small_rf2_lraspp_f128_os16",
        "--resolution", "64x128", "--port", "0", "--output", str(tmp_path),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in process.stdout:  # the URL comes after the export
            lines.append(line)
            if line.startswith("open "):
                break
        assert lines and lines[-1].startswith("open http://127.0.0.1:"), "".join(lines)
        assert any("argmax agreement" in line and "PASS" in line for line in lines)
        context = browser.new_context()
        opened = context.new_page()
        opened.goto(lines[-1].split()[1] + "?threads=2")
        assert opened.evaluate("window.segmnv3.ready") is True
        assert opened.evaluate("[self.crossOriginIsolated, segmnv3.state.threads]") == [True, 2]
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_overlay_is_drawn_in_the_checkpoints_colours(page, served, media):
    page.set_input_files("#file", str(media["frame0"]))
    _wait_for_message(page, "frame0.png")
    page.locator("#alpha").fill("100")  # opaque overlay: the view shows the colours alone
    drawn = page.evaluate(
        "() => Array.from(view.getContext('2d').getImageData(0, 0, view.width, view.height).data)"
    )
    _, labels = _last(page)
    colours = np.array([c["color"] for c in served[1]["classes"]], np.uint8)
    rgb = np.asarray(drawn, np.uint8).reshape(*SIZE, 4)[..., :3]
    assert np.array_equal(rgb, colours[labels])
    assert page.errors == []


def test_without_isolation_headers_the_page_runs_one_thread_and_says_so(browser, served):
    context = browser.new_context()
    isolation = ("cross-origin-opener-policy", "cross-origin-embedder-policy")

    def strip(route):  # the same server, as a plain one without COOP / COEP would answer
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in isolation}
        route.fulfill(response=response, headers=headers)

    context.route("**/*", strip)
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(served[0] + "?threads=2")
    assert opened.evaluate("window.segmnv3.ready") is True
    assert opened.evaluate("[self.crossOriginIsolated, segmnv3.state.threads]") == [False, 1]
    assert opened.inner_text("#runtime").endswith("1 thread(s), not cross-origin isolated")
    assert errors == []
    context.close()
