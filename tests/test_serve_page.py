"""The `segmnv3 serve` page on a phone: bytes per visit, loading, pairing, letterbox, controls.

Fixtures (one served tiny model, one Chromium): tests/serve_fixtures.py.
"""

from __future__ import annotations

import json
import math
import urllib.request

import cv2
import numpy as np

from segmnv3.deploy.serve.cache import FileCache
from tests.serve_fixtures import SIZE, last_frame, wait_for_message

SLOW_RUN = """ms => {
    const session = segmnv3.state.session;
    session.realRun ??= session.run.bind(session);
    session.run = async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return session.realRun(...args);
    };
}"""


def _view(page) -> np.ndarray:
    """The view canvas as shown (RGB, H x W x 3)."""
    size, data = page.evaluate(
        """() => [[view.height, view.width],
        Array.from(view.getContext('2d').getImageData(0, 0, view.width, view.height).data)]"""
    )
    return np.asarray(data, np.uint8).reshape(*size, 4)[..., :3]


def _visit(browser, url: str, reload: bool = True) -> list[dict]:
    """Load the page (then reload it): per load, each response that came over the network."""
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    loads: list[dict] = []
    cdp.on("Network.responseReceived", lambda e: loads[-1].setdefault(e["requestId"], {}).update(
        url=e["response"]["url"], status=e["response"]["status"],
        encoding={k.lower(): v for k, v in e["response"]["headers"].items()}.get(
            "content-encoding")))  # fmt: skip
    cdp.on("Network.loadingFinished", lambda e: loads[-1].setdefault(e["requestId"], {}).update(
        bytes=e["encodedDataLength"]))  # fmt: skip
    cdp.on("Network.requestServedFromCache", lambda e: loads[-1].pop(e["requestId"], None))
    for step in range(2 if reload else 1):
        loads.append({})
        page.reload() if step else page.goto(url)
        assert page.evaluate("window.segmnv3.ready") is True
        page.wait_for_timeout(300)  # the last loadingFinished events
    context.close()
    return [[r for r in load.values() if "url" in r] for load in loads]


def test_first_visit_is_gzipped_and_a_reload_downloads_no_file_again(browser, served, assets):
    first, again = _visit(browser, served[0])
    cache, gzipped = FileCache(), {}
    for path in ("/vendor/ort-wasm-simd-threaded.wasm", "/model.onnx"):
        file = assets.get(path, served[2])
        entry = cache.entry(file)
        gzipped[path] = len(entry.gzip) if entry.gzip else file.stat().st_size
    wasm = next(r for r in first if "ort-wasm-simd-threaded.wasm" in r["url"])
    assert wasm["encoding"] == "gzip"
    assert wasm["bytes"] < gzipped["/vendor/ort-wasm-simd-threaded.wasm"] + 2000
    total = sum(r["bytes"] for r in first)
    raw = assets["/vendor/ort-wasm-simd-threaded.wasm"].stat().st_size
    assert sum(gzipped.values()) < total < sum(gzipped.values()) + 200_000 < raw
    assert not any("asyncify" in r["url"] or "webgpu" in r["url"] for r in first)
    kept = [r for r in again if "/vendor/" in r["url"] or "model.onnx" in r["url"]]
    assert all(r["bytes"] == 0 for r in kept), kept  # from the cache: immutable, not asked
    assert all(r["bytes"] < 600 for r in again), again  # the rest: 304s, headers only
    assert sum(r["bytes"] for r in again) < 10_000


def test_controls_wait_for_the_model_behind_a_byte_progress_bar(browser, served):
    context = browser.new_context()
    held = []
    context.route(
        "**/model.onnx*", lambda route: held.append(route)
    )  # the model waits until released
    opened = context.new_page()
    opened.goto(served[0])
    opened.wait_for_function("document.getElementById('progress').value > 0")
    ids = ["choose", "file", "camera", "pause", "stop", "save", "download", "alpha"]
    disabled = opened.evaluate("ids => ids.map((id) => document.getElementById(id).disabled)", ids)
    assert disabled == [True] * len(ids)
    assert opened.is_visible("#progress")
    held[0].continue_()
    assert opened.evaluate("window.segmnv3.ready") is True
    settings = json.loads(urllib.request.urlopen(served[0] + "settings.json").read())
    total = sum(settings["files"][path]["bytes"] for path in
                ("/vendor/ort-wasm-simd-threaded.wasm", "/model.onnx"))  # fmt: skip
    shown = opened.evaluate("[progress.value, progress.max]")
    assert shown == [total, total]
    assert opened.is_hidden("#loading")
    enabled = opened.evaluate("ids => ids.map((id) => !document.getElementById(id).disabled)", ids)
    assert enabled == [True, True, True, False, False, False, False, True]
    context.close()


def test_webgpu_build_is_fetched_only_with_an_adapter(browser, served):
    context = browser.new_context()
    opened = context.new_page()
    asked = []
    opened.on("request", lambda request: asked.append(request.url))
    opened.goto(served[0] + "?ep=webgpu")
    assert opened.evaluate("window.segmnv3.ready") is True
    adapter = opened.evaluate(
        "navigator.gpu ? navigator.gpu.requestAdapter().then(Boolean) : false"
    )
    provider = opened.evaluate("segmnv3.state.provider")
    if adapter:  # a browser with a GPU: the WebGPU build, asked for
        assert any("ort.webgpu.min.mjs" in url for url in asked) and provider == "webgpu"
    else:
        vendor = [url for url in asked if "/vendor/" in url]
        assert not any("webgpu" in url or "asyncify" in url for url in vendor), vendor
        assert provider == "wasm (SIMD)"
        assert "no WebGPU adapter: using WASM" in opened.evaluate("segmnv3.state.messages[0].text")
    context.close()


PAIR = """() => [Array.from(segmnv3.state.last.rgba),
    Array.from(view.getContext('2d').getImageData(0, 0, view.width, view.height).data)]"""


def test_each_overlay_is_drawn_on_the_frame_it_was_computed_from(page, media):
    page.evaluate(SLOW_RUN, 300)  # 300 ms per inference: a 10 fps clip moves 3 frames on
    try:
        page.locator("#alpha").fill("0")  # the view then shows the frame alone
        page.set_input_files("#file", str(media["video"]))
        for count in (2, 3, 4):  # while playing: the input and the view read in one task
            page.wait_for_function(f"segmnv3.state.frames >= {count}", timeout=20000)
            computed, shown = (np.asarray(pixels, int) for pixels in page.evaluate(PAIR))
            assert computed.shape == shown.shape  # the clip has the network's size
            assert np.abs(shown - computed).max() <= 2, count  # the same frame, not a later one
    finally:
        page.evaluate("() => { segmnv3.state.session.run = segmnv3.state.session.realRun; }")
        page.locator("#alpha").fill("55")


def test_a_portrait_photo_is_letterboxed_not_stretched(page, media, served):
    page.set_input_files("#file", str(media["odd"]))  # 37 x 53: portrait
    wait_for_message(page, "odd.png: 37 × 53")
    box = page.evaluate("segmnv3.exportLast().box")
    scale = min(SIZE[1] / 37, SIZE[0] / 53)
    width, height = math.floor(37 * scale + 0.5), math.floor(53 * scale + 0.5)
    assert box == {
        "x": (SIZE[1] - width) // 2,
        "y": (SIZE[0] - height) // 2,
        "w": width,
        "h": height,
    }
    rgb, _ = last_frame(page)
    mean = np.floor(np.asarray(served[1]["mean"]) * 255 + 0.5)
    bars = np.concatenate([rgb[:, : box["x"]], rgb[:, box["x"] + width :]], axis=1)
    assert bars.shape[1] == SIZE[1] - width and (bars == mean).all()  # mean colour: zeros
    photo = cv2.imread(str(media["odd"]))[..., ::-1]
    inside = rgb[:, box["x"] : box["x"] + width].astype(float)
    expected = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR).astype(float)
    assert np.abs(inside - expected).mean() < 40  # the photo, scaled whole (random pixels)
    assert page.evaluate("[view.width, view.height]") == [37, 53]  # shown at its own size


def test_pause_resume_and_save_overlay(page, media):
    page.set_input_files("#file", str(media["video"]))
    page.wait_for_function("segmnv3.state.frames >= 2")
    page.click("#pause")
    assert page.inner_text("#pause") == "Resume"
    page.wait_for_timeout(200)  # a frame in flight lands
    frames = page.evaluate("segmnv3.state.frames")
    page.wait_for_timeout(500)
    assert page.evaluate("[segmnv3.state.frames, video.paused]") == [frames, True]
    with page.expect_download() as download:
        page.click("#save")
    assert download.value.suggested_filename == "clip_overlay.png"
    saved = cv2.imread(str(download.value.path()))[..., ::-1]
    assert np.array_equal(saved, _view(page))  # what the page shows, frame and overlay
    page.click("#pause")
    page.wait_for_function(f"segmnv3.state.frames > {frames} + 2")
    assert page.inner_text("#pause") == "Pause" and page.errors == []


TARGETS = """() => [...document.querySelectorAll('#controls button, #controls label')].map((e) => {
    const r = e.getBoundingClientRect(); return [e.id || e.className, r.width, r.height]; })"""


def test_phone_layout_is_one_column_of_44px_targets(browser, served):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    opened = context.new_page()
    opened.goto(served[0])
    assert opened.evaluate("window.segmnv3.ready") is True
    targets = opened.evaluate(TARGETS)
    assert len(targets) == 8 and all(height >= 44 for _, _, height in targets), targets
    assert opened.evaluate("document.scrollingElement.scrollWidth") <= 390  # no sideways scroll
    boxes = [opened.locator(f"#{id}").bounding_box() for id in ("drop", "controls", "figures")]
    assert [box["x"] for box in boxes] == [boxes[0]["x"]] * 3  # stacked, one column
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # the view first, near the top
    context.close()
