"""The `segmnv3 serve` page in a real headless Chromium (fixtures: tests/serve_fixtures.py)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.serve_fixtures import SIZE, last_frame, wait_for_message


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
        wait_for_message(page, f"{name}.png: {SIZE[1]} × {SIZE[0]}")
        rgb, labels = last_frame(page)
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
    wait_for_message(page, f"odd.png: 37 × 53, segmented at {SIZE[1]} × {SIZE[0]}")
    assert page.evaluate("[view.width, view.height]") == [37, 53]  # drawn at the photo size
    page.evaluate(  # labels with a pattern, so that a wrong mapping shows
        "() => { segmnv3.state.last.labels = segmnv3.state.last.labels.map((_, i) => i % 19); }"
    )
    _, labels = last_frame(page)
    box = page.evaluate("segmnv3.exportLast().box")  # the photo's letterbox in the input
    with page.expect_download() as download:
        page.click("#download")
    path = download.value.path()
    assert download.value.suggested_filename == "odd_trainids.png"
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (53, 37) and mask.dtype == np.uint8  # 8-bit greyscale
    rows = box["y"] + np.minimum(((np.arange(53) + 0.5) * box["h"] / 53).astype(int), box["h"] - 1)
    cols = box["x"] + np.minimum(((np.arange(37) + 0.5) * box["w"] / 37).astype(int), box["w"] - 1)
    assert np.array_equal(mask, labels[rows][:, cols])  # nearest from the labels in the box
    assert page.errors == []


def test_video_file_plays_with_frames_and_fps(page, media):
    page.set_input_files("#file", str(media["video"]))
    wait_for_message(page, "clip.webm: playing")
    page.wait_for_function("segmnv3.state.frames >= 5 && segmnv3.state.stats.fps > 0")
    assert page.evaluate("[view.width, view.height]") == [128, 64]
    page.click("#stop")
    assert page.errors == []


def test_undecodable_video_is_a_message(page, media):
    page.set_input_files("#file", str(media["broken"]))
    found = wait_for_message(page, "cannot play broken.webm")
    assert found["kind"] == "error" and "cannot decode it" in found["text"]
    assert page.errors == []


def test_fake_camera_gives_frames_and_fps(page):
    page.click("#camera")
    wait_for_message(page, "camera on")
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
        assert "camera access was denied" in wait_for_message(page, "camera")["text"]
        page.evaluate(_REFUSE, "NotFoundError")
        page.click("#camera")
        wait_for_message(page, "no camera found on this device")
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


def test_the_serve_command_serves_the_page_isolated_with_its_threads(assets, browser, tmp_path):
    import subprocess
    import sys

    command = [
        sys.executable, "-m", "segmnv3.cli", "serve", "--random-init",
        "--config", "table7_row11_v3small_rf2_lraspp_f128_os16",
        "--resolution", "64x128", "--port", "0", "--output", str(tmp_path), "--threads", "3",
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
        opened.goto(lines[-1].split()[1])  # no ?threads: the page runs what --threads says
        assert opened.evaluate("window.segmnv3.ready") is True
        assert opened.evaluate("[self.crossOriginIsolated, segmnv3.state.threads]") == [True, 3]
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_overlay_is_drawn_in_the_checkpoints_colours(page, served, media):
    page.set_input_files("#file", str(media["frame0"]))
    wait_for_message(page, "frame0.png")
    page.locator("#alpha").fill("100")  # opaque overlay: the view shows the colours alone
    drawn = page.evaluate(
        "() => Array.from(view.getContext('2d').getImageData(0, 0, view.width, view.height).data)"
    )
    _, labels = last_frame(page)
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
