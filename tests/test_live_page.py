"""The live explorer on the rendered book: the shipped generators run in headless Chromium with ONNX
Runtime Web, offline, and draw what PyTorch draws for the same z."""

import json
import os
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import urlopen

import pytest
import torch
from book_browser import (
    REPO,
    build_book,
    open_page,
    serve,
    start_browser,
    toc_pages,
)

from dcgan_tutorial import generate, load_pretrained

LIVE_PAGES = {
    "07_results": "mnist",
    "08_experiments_with_widgets": "mnist",
    "10_conditional_generation": "mnist-cond",
}
RUNTIME = "/_static/onnxruntime-web/"
MAX_PAGE_BYTES = (
    4_000_000  # a chapter with its own assets; the shared runtime is not counted
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chrome-live"), offline=True)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setCacheDisabled", {"cacheDisabled": True}
    )  # every page fetches its files
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    html = build_book(tmp_path_factory)
    url, server = serve(html)
    yield html, url
    server.shutdown()


@pytest.fixture(scope="module")
def generators():
    return {name: load_pretrained(name)[0] for name in ("mnist", "mnist-cond")}


def _sidecar(model):
    return json.loads((REPO / "_static" / "models" / f"{model}.json").read_text())


def _wait(browser, condition, timeout=60.0, what="the explorer"):
    """Poll the JavaScript expression ``condition`` (``root`` is the explorer) until it is true."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if browser.execute_script(
            f"var root = document.querySelector('.dcgan-live'); return !!({condition});"
        ):
            return
        time.sleep(0.05)
    state = browser.execute_script(
        "var r = document.querySelector('.dcgan-live'); "
        "return r && [r.dataset.state, r.dataset.error, r.dataset.pending];"
    )
    logs = [e["message"] for e in browser.get_log("browser")][-5:]
    raise AssertionError(
        f"{what}: {condition} still false after {timeout} s (state {state}; console {logs})"
    )


def _open(browser, site, page):
    """Load a page, bring its explorer into view, wait for its first picture; the explorer element."""
    open_page(browser, urljoin(site[1], f"book/{page}.html"), site[0])
    browser.execute_script(
        "document.querySelector('.dcgan-live').scrollIntoView({block: 'center'});"
    )
    _wait(
        browser,
        "root.dataset.state === 'error' || (root.dataset.state === 'ready' && "
        "root.dataset.pending === '0' && Number(root.dataset.renders) >= 1)",
    )
    root = browser.find_element("css selector", ".dcgan-live")
    assert root.get_attribute("data-state") == "ready", root.get_attribute(
        "data-error"
    )
    return root


def _moved(browser, action, renders_before):
    """Run ``action`` and wait until the explorer has drawn a new picture for it."""
    action()
    _wait(
        browser,
        f"Number(root.dataset.renders) > {renders_before} && root.dataset.pending === '0'",
    )


def _state(browser, root):
    """(z, label or None, canvas pixels as a uint8 (S, S) tensor, render count) as the page holds them."""
    pixels = browser.execute_script(
        "var c = arguments[0].querySelector('.dcgan-live-canvas');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);",
        root,
    )
    z = json.loads(root.get_attribute("data-z"))
    label = root.get_attribute("data-label")
    size = int(len(pixels) ** 0.5 / 2)
    canvas = torch.tensor(pixels, dtype=torch.uint8).view(size, size, 4)
    assert (canvas[..., 3] == 255).all() and torch.equal(
        canvas[..., 0], canvas[..., 1]
    )  # opaque grey
    return (
        torch.tensor(z),
        None if label is None else int(label),
        canvas[..., 0],
        int(root.get_attribute("data-renders")),
    )


def _pytorch_pixels(G, z, label):
    """What PyTorch draws for this z (and label), in the page's pixel rule round((x + 1) * 127.5)."""
    x = generate(G, z[None], None if label is None else torch.tensor([label]))[
        0, 0
    ]
    return ((x.double() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def _assert_same_picture(canvas, expected):
    diff = (canvas.int() - expected.int()).abs()
    # ONNX Runtime's float32 kernels and PyTorch's differ by about 1e-5, which can tip a pixel
    # that lies on a rounding boundary by one level; nothing more
    assert diff.max() <= 1 and (diff > 0).float().mean() < 0.02, (
        f"max {diff.max()}, {(diff > 0).sum()} pixels differ"
    )
    assert expected.float().std() > 30, (
        "a real digit, not a blank picture that anything would match"
    )


def _screenshot(root, name, tmp_path):
    shots = Path(
        os.environ.get("DCGAN_TUTORIAL_SCREENSHOTS", tmp_path)
    )  # set it to keep them
    shots.mkdir(parents=True, exist_ok=True)
    assert root.screenshot(str(shots / f"live_{name}.png"))


@pytest.mark.parametrize("page", LIVE_PAGES)
def test_live_explorer_starts_with_seed_0_and_draws_what_pytorch_draws(
    browser, site, generators, page, tmp_path
):
    model = LIVE_PAGES[page]
    meta = _sidecar(model)
    root = _open(browser, site, page)
    assert (
        len(root.find_elements("css selector", ".dcgan-live-slider"))
        == len(meta["directions"]["vectors"])
        == 4
    )
    assert len(root.find_elements("css selector", ".dcgan-live-class")) == (
        1 if meta["n_classes"] else 0
    )
    assert not root.find_element(
        "css selector", ".dcgan-live-fallback"
    ).is_displayed()
    z, label, canvas, _ = _state(browser, root)
    assert canvas.shape == (meta["image_size"], meta["image_size"])
    assert torch.allclose(z, torch.tensor(meta["start"]["z"][0]), atol=1e-6), (
        "z_A is the noise of seed 0"
    )
    assert label == (7 if meta["n_classes"] else None)
    _assert_same_picture(canvas, _pytorch_pixels(generators[model], z, label))
    assert browser.execute_script("return window.dcganLive.length") == 1
    _screenshot(root, page, tmp_path)


@pytest.mark.parametrize("page", ["07_results", "10_conditional_generation"])
def test_live_slider_moves_z_along_its_direction_and_the_picture_follows(
    browser, site, generators, page
):
    model = LIVE_PAGES[page]
    directions = torch.tensor(_sidecar(model)["directions"]["vectors"])
    root = _open(browser, site, page)
    z0, label, before, renders = _state(browser, root)
    slider = root.find_elements("css selector", ".dcgan-live-slider")[1]
    _moved(
        browser, lambda: slider.send_keys("\ue010"), renders
    )  # the End key: the slider's maximum, +3
    z1, _, after, _ = _state(browser, root)
    assert torch.allclose(z1 - z0, 3 * directions[1], atol=1e-5)
    assert (after.float() - before.float()).abs().mean() > 5, (
        "the picture changed"
    )
    _assert_same_picture(after, _pytorch_pixels(generators[model], z1, label))


def test_live_digit_picker_keeps_z_and_changes_the_digit(
    browser, site, generators
):
    from selenium.webdriver.support.select import Select

    root = _open(browser, site, "10_conditional_generation")
    z7, label, seven, renders = _state(browser, root)
    assert label == 7
    _moved(
        browser,
        lambda: Select(
            root.find_element("css selector", ".dcgan-live-class")
        ).select_by_value("3"),
        renders,
    )
    z3, label, three, _ = _state(browser, root)
    assert label == 3 and torch.equal(z3, z7)
    assert (three.float() - seven.float()).abs().mean() > 10
    _assert_same_picture(three, _pytorch_pixels(generators["mnist-cond"], z3, 3))


def test_live_new_z_and_the_walk_between_two_noise_vectors(
    browser, site, generators
):
    meta = _sidecar("mnist")
    root = _open(browser, site, "07_results")
    z0, _, before, renders = _state(browser, root)
    _moved(
        browser,
        lambda: root.find_element("css selector", ".dcgan-live-new").click(),
        renders,
    )
    z1, _, after, renders = _state(browser, root)
    assert not torch.allclose(z1, z0) and 7 < z1.norm() < 13, (
        "a fresh Gaussian z, |z| near sqrt(100)"
    )
    assert (after.float() - before.float()).abs().mean() > 5
    _assert_same_picture(after, _pytorch_pixels(generators["mnist"], z1, None))

    _moved(
        browser,
        lambda: root.find_element("css selector", ".dcgan-live-reset").click(),
        renders,
    )
    renders = _state(browser, root)[3]
    root.find_element(
        "css selector", ".dcgan-live-walk"
    ).click()  # t from 0 to 1 in 3 seconds
    _wait(
        browser,
        "!window.dcganLive[0].walking && root.dataset.pending === '0'",
        what="the walk",
    )
    z_end, _, end, walked = _state(browser, root)
    assert torch.allclose(
        z_end, torch.tensor(meta["start"]["z"][1]), atol=1e-6
    ), "the walk ends at seed 1's z"
    assert walked - renders >= 5, "the picture followed the walk on the way"
    _assert_same_picture(end, _pytorch_pixels(generators["mnist"], z_end, None))

    norms = {}
    for path in ("slerp", "lerp"):
        _moved(
            browser,
            lambda: browser.execute_script(
                f"var e = window.dcganLive[0]; e.path = '{path}'; e.setT(0.5);"
            ),
            _state(browser, root)[3],
        )
        norms[path] = float(_state(browser, root)[0].norm())
    z_a, z_b = (
        torch.tensor(meta["start"]["z"][0]),
        torch.tensor(meta["start"]["z"][1]),
    )
    assert abs(norms["lerp"] - float(((z_a + z_b) / 2).norm())) < 1e-4
    assert norms["lerp"] < norms["slerp"] - 1, (
        "the straight line's midpoint cuts inside the sphere"
    )


def test_live_page_without_webassembly_shows_the_stored_grid_and_why(
    browser, site
):
    script = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "delete window.WebAssembly;"},
    )
    try:
        open_page(browser, urljoin(site[1], "book/07_results.html"), site[0])
        _wait(browser, "root.dataset.state === 'error'")
        root = browser.find_element("css selector", ".dcgan-live")
        image = root.find_element("css selector", ".dcgan-live-fallback img")
        assert image.is_displayed() and browser.execute_script(
            "return arguments[0].naturalWidth > 0;", image
        )
        why = root.find_element("css selector", ".dcgan-live-why")
        assert why.is_displayed() and "WebAssembly" in why.text
        assert not root.find_elements("css selector", ".dcgan-live-canvas")
        requested = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name);"
        )
        assert not [r for r in requested if RUNTIME in r]
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument",
            {"identifier": script["identifier"]},
        )


@pytest.mark.parametrize("page", LIVE_PAGES)
def test_live_page_without_javascript_has_the_stored_grid_and_says_why(
    site, page
):
    html, url = site
    text = (html / "book" / f"{page}.html").read_text()
    start = text.index('<div class="dcgan-live"')
    block = text[start : text.index("</div>", start)]
    assert f'data-model="{LIVE_PAGES[page]}"' in block
    assert "<noscript>" in block and "JavaScript" in block.split("<noscript>")[1]
    src = block.split('<img src="')[1].split('"')[0]
    with urlopen(urljoin(url, f"book/{src}")) as response:
        assert response.status == 200 and response.read(8) == b"\x89PNG\r\n\x1a\n"


def _own_weight(html, urls):
    """Bytes of a page's own files among ``urls``: the page, its figures, its explorer's model.

    Files every page shares are not counted: the theme under _static/ (about 2.6 MB, fetched
    once per visit), the search index, and the explorer's runtime.
    """
    total = 0
    for url in set(urls):
        path = urlparse(url).path
        shared = (
            path.startswith("/_static/")
            and not path.startswith("/_static/models/")
        ) or path == "/searchindex.js"
        file = html / path.lstrip("/")
        if (
            urlparse(url).hostname == "127.0.0.1"
            and not shared
            and file.is_file()
        ):
            total += file.stat().st_size
    return total


def test_live_runtime_loads_only_where_used_and_pages_stay_light(browser, site):
    html, url = site
    weights = {}
    for page in toc_pages():
        name = page.split("/")[-1]
        open_page(
            browser, urljoin(url, f"{page}.html"), html
        )  # the whole page, parsed (see open_page)
        live = browser.execute_script(
            "return document.querySelectorAll('.dcgan-live').length"
        )
        assert live == (1 if name in LIVE_PAGES else 0), (
            f"{name}: {live} explorers"
        )
        requested = lambda: browser.execute_script(  # noqa: E731
            "return performance.getEntriesByType('resource').map(e => e.name);"
        )
        if (
            live
        ):  # the 14 MB runtime waits until the reader comes near the explorer
            assert not [r for r in requested() if RUNTIME in r], (
                f"{name}: runtime fetched before it was needed"
            )
            browser.execute_script(
                "document.querySelector('.dcgan-live').scrollIntoView();"
            )
            _wait(
                browser,
                "root.dataset.state === 'ready' && root.dataset.pending === '0'",
            )
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        time.sleep(0.3)
        files = requested()
        runtime = [r for r in files if RUNTIME in r]
        if live:
            assert any(
                r.endswith("ort-wasm-simd-threaded.wasm") for r in runtime
            ), name
            assert any(
                r.endswith(f"/_static/models/{LIVE_PAGES[name]}.onnx")
                for r in files
            ), name
        else:
            assert not runtime and not [
                r for r in files if "/_static/models/" in r
            ], f"{name} loads the runtime"
        weights[name] = _own_weight(html, [browser.current_url, *files])
    assert weights and all(w > 0 for w in weights.values())
    heavy = {name: w for name, w in weights.items() if w > MAX_PAGE_BYTES}
    assert not heavy, (
        f"pages over {MAX_PAGE_BYTES / 1e6:.0f} MB with their assets: {heavy}"
    )


MIN_DRAWN_SHARE = (
    0.6  # at a 1280-px window a figure is drawn at least at 60% of its pixel size
)


def test_figures_are_drawn_near_their_own_size(browser, site):
    """Wide figures are stacked, or span the page's margin (the ``full-width`` cell tag), instead of
    being shrunk until their labels are a few pixels tall."""
    html, url = site
    browser.set_window_size(1280, 1600)
    shrunk = []
    for page in toc_pages():
        open_page(browser, urljoin(url, page + ".html"), html)
        sizes = browser.execute_script(
            "return Array.from(document.querySelectorAll('article .cell_output img'))"
            ".filter(i => i.complete && i.naturalWidth > 0)"
            ".map(i => [i.naturalWidth, i.getBoundingClientRect().width]);"
        )
        shrunk += [
            f"{page}: {natural} px drawn at {drawn:.0f}"
            for natural, drawn in sizes
            if drawn < MIN_DRAWN_SHARE * natural
        ]
    assert shrunk == [], (
        "stack these figures' panels, make them narrower, or tag the cell full-width: "
        + "; ".join(shrunk)
    )
