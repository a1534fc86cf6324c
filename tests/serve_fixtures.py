"""Fixtures of the `segmnv3 serve` page tests, made once per session (conftest imports them).

One tiny random-init model (row 11 at 64x128) is exported once and served by the real
server; one headless Chromium (Debian's, driven by Playwright) loads the page once. In CI
(CI=true) a missing browser fails these tests; elsewhere they skip, naming the install
command.
"""

from __future__ import annotations

import base64
import os
from functools import partial

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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def served(assets, tmp_path_factory):
    """(base URL, model.json dict, ONNX path) of a tiny model served by `serve`'s server."""
    from segmnv3.deploy.serve.assets import page_settings
    from segmnv3.deploy.serve.model_files import browser_model
    from segmnv3.deploy.serve.server import start_server
    from tests.test_serve_server import _tiny_model

    routes = dict(assets)
    made = browser_model(_tiny_model(), tmp_path_factory.mktemp("model"), SIZE)
    routes |= {"/model.onnx": made.onnx, "/model.json": made.meta}
    server = start_server(routes, "127.0.0.1", 0)
    routes["/settings.json"] = partial(page_settings, routes, server.cache, threads=None)
    yield f"http://127.0.0.1:{server.server_address[1]}/", made.description(), made.onnx
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def browser(media):
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = chromium.launch(playwright, fake_camera=media["camera"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def loaded(browser, served):
    """The served app, loaded once (the WASM compiles once); console errors in ``.errors``."""
    context = browser.new_context(accept_downloads=True)
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.goto(served[0] + "?threads=2")
    assert opened.evaluate("window.segmnv3.ready") is True, messages(opened)
    opened.at_load = (messages(opened), list(opened.errors))  # messages, console errors
    yield opened
    context.close()


@pytest.fixture
def page(loaded):
    """The loaded app with no source running, no messages and no console errors yet."""
    loaded.evaluate("() => { segmnv3.stop(); segmnv3.state.messages.length = 0; }")
    loaded.errors.clear()
    yield loaded
    loaded.evaluate("() => segmnv3.stop()")


def messages(page) -> list:
    return page.evaluate("window.segmnv3.state.messages")


def wait_for_message(page, fragment: str) -> str:
    page.wait_for_function(
        "f => segmnv3.state.messages.some(m => m.text.includes(f))", arg=fragment, timeout=20000
    )
    return next(m for m in messages(page) if fragment in m["text"])


def last_frame(page) -> tuple[np.ndarray, np.ndarray]:
    """The page's last network input (RGB, H x W x 3) and labels (H x W)."""
    last = page.evaluate("segmnv3.exportLast()")
    shape = (last["height"], last["width"])
    rgba = np.frombuffer(base64.b64decode(last["rgba"]), np.uint8).reshape(*shape, 4)
    labels = np.frombuffer(base64.b64decode(last["labels"]), np.uint8).reshape(shape)
    return rgba[..., :3], labels
