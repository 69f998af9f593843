"""What the static book page does without a kernel, in headless Chromium with the network off:
chapter 0's 2-D GAN trains in the page, chapter 8's runs panel switches between real runs, and
no page weighs more than 5 MB with its own files."""

import json
import time
from urllib.parse import urljoin, urlparse

import pytest
from book_browser import REPO, build_book, serve, start_browser, toc_pages

MAX_PAGE_BYTES = 5_000_000
SHARED = (
    "/_static/onnxruntime-web/",
)  # the explorer's runtime, shared by chapters 7, 8 and 10
TFJS = "/_static/tfjs/"
RUNS = "/_static/run-grid/"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chrome-static"), offline=True)
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


def _wait(browser, selector, condition, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if browser.execute_script(
            f"var root = document.querySelector('{selector}'); return !!(root && ({condition}));"
        ):
            return
        time.sleep(0.1)
    state = browser.execute_script(
        f"var r = document.querySelector('{selector}'); return r && Object.assign({{}}, r.dataset);"
    )
    raise AssertionError(
        f"{selector}: {condition} still false after {timeout} s ({state})"
    )


def _requested(browser):
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )


def test_chapter_0_trains_in_the_page(browser, site):
    _, url = site
    browser.get(urljoin(url, "book/00_gans_in_2d.html"))
    assert (
        browser.execute_script(
            "return document.querySelectorAll('.dcgan-gan2d').length"
        )
        == 1
    )
    assert not [r for r in _requested(browser) if TFJS in r], (
        "TensorFlow.js waits until the reader comes near"
    )
    browser.execute_script(
        "document.querySelector('.dcgan-gan2d').scrollIntoView({block: 'center'});"
    )
    _wait(
        browser,
        ".dcgan-gan2d",
        "root.dataset.state === 'ready' || root.dataset.state === 'error'",
    )
    root = browser.find_element("css selector", ".dcgan-gan2d")
    assert root.get_attribute("data-state") == "ready", root.get_attribute(
        "data-error"
    )
    assert browser.execute_script("return window.tf.getBackend()") == "wasm"
    assert any(
        r.endswith("tfjs-backend-wasm-simd.wasm") for r in _requested(browser)
    )
    root.find_element("css selector", ".dcgan-gan2d-play").click()
    _wait(
        browser, ".dcgan-gan2d", "Number(root.dataset.modes) >= 6", timeout=60
    )  # 6 of 8 modes within a minute
    root.find_element("css selector", ".dcgan-gan2d-play").click()
    assert int(root.get_attribute("data-step")) > 0


def _grid_pixels(browser, root):
    return browser.execute_script(
        "var c = arguments[0].querySelector('.dcgan-runs-grid');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);",
        root,
    )


def test_chapter_8_runs_panel_switches_between_real_runs(browser, site):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    meta = json.loads(
        (REPO / "_static" / "run-grid" / "mnist28-grid.json").read_text()
    )
    _, url = site
    browser.get(urljoin(url, "book/08_experiments_with_widgets.html"))
    data = [f"{RUNS}mnist28-grid.json", f"{RUNS}{meta['sprite']}"]
    assert not [r for r in _requested(browser) if r.endswith(tuple(data))], (
        "the runs load when the reader reaches the panel"
    )
    browser.execute_script(
        "document.querySelector('.dcgan-runs').scrollIntoView({block: 'center'});"
    )
    _wait(
        browser,
        ".dcgan-runs",
        "root.dataset.state === 'ready' || root.dataset.state === 'error'",
    )
    root = browser.find_element("css selector", ".dcgan-runs")
    assert root.get_attribute("data-state") == "ready", root.get_attribute(
        "data-error"
    )
    assert all(any(r.endswith(d) for r in _requested(browser)) for d in data)
    assert not root.find_element(
        "css selector", ".dcgan-runs-fallback"
    ).is_displayed()
    selects = root.find_elements("css selector", "select")
    assert [s.get_attribute("aria-label") for s in selects] == [
        "G loss",
        "lr of G",
        "lr of D",
        "Adam beta1",
    ]
    first = int(root.get_attribute("data-run"))
    run = meta["runs"][first]
    assert [s.get_attribute("value") for s in selects] == [
        str(run[k]) for k in ("loss", "lr_g", "lr_d", "beta1")
    ]
    before = _grid_pixels(browser, root)
    Select(selects[0]).select_by_value(
        "saturating"
    )  # the first control changes the run shown
    now = int(root.get_attribute("data-run"))
    assert now != first and meta["runs"][now]["loss"] == "saturating"
    assert {k: meta["runs"][now][k] for k in ("lr_g", "lr_d", "beta1")} == {
        k: run[k] for k in ("lr_g", "lr_d", "beta1")
    }
    assert _grid_pixels(browser, root) != before, "another run's samples"
    assert (
        f"Run {now + 1} of {len(meta['runs'])}"
        in root.find_element("css selector", ".dcgan-runs-caption").text
    )
    slider = root.find_element("css selector", ".dcgan-runs-step")
    assert int(root.get_attribute("data-step")) == meta["sample_steps"][-1]
    last = _grid_pixels(browser, root)
    slider.send_keys(Keys.HOME)
    assert int(root.get_attribute("data-step")) == meta["sample_steps"][0] == 0
    assert _grid_pixels(browser, root) != last, "the grid of step 0"


def _own_bytes(html, urls):
    """The bytes of a page's own files: the page, its figures, and every file it loads from the book's
    _static/ folder (the vendored libraries and data included), but for the shared runtimes and the theme."""
    total = 0
    for url in set(urls):
        path = urlparse(url).path
        if urlparse(url).hostname != "127.0.0.1" or path.startswith(SHARED):
            continue
        if (
            path.startswith("/_static/")
            and not (REPO / path.lstrip("/")).is_file()
        ):
            continue  # the theme's files, the same on every page
        if path == "/searchindex.js":
            continue
        file = html / path.lstrip("/")
        if file.is_file():
            total += file.stat().st_size
    return total


def test_no_page_weighs_more_than_5_mb_with_its_own_files(browser, site):
    html, url = site
    weights = {}
    for page in toc_pages():
        browser.get(urljoin(url, f"{page}.html"))
        for selector in (
            ".dcgan-gan2d",
            ".dcgan-runs",
            ".dcgan-live",
        ):  # bring every lazy part into view
            if browser.execute_script(
                f"return !!document.querySelector('{selector}')"
            ):
                browser.execute_script(
                    f"document.querySelector('{selector}').scrollIntoView();"
                )
                _wait(
                    browser,
                    selector,
                    "root.dataset.state === 'ready' || root.dataset.state === 'error'",
                    60,
                )
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        time.sleep(0.3)
        weights[page] = _own_bytes(
            html, [browser.current_url, *_requested(browser)]
        )
    assert (
        weights["book/00_gans_in_2d"]
        > (REPO / "_static" / "tfjs" / "tf.es2017.min.mjs").stat().st_size
    ), "chapter 0's weight counts TensorFlow.js"
    assert (
        weights["book/08_experiments_with_widgets"]
        > (REPO / "_static" / "run-grid" / "mnist28-grid.jpg").stat().st_size
    )
    heavy = {name: w for name, w in weights.items() if w > MAX_PAGE_BYTES}
    assert not heavy, (
        f"pages over {MAX_PAGE_BYTES / 1e6:.0f} MB with their own files: {heavy}"
    )
    print({name.split("/")[-1]: round(w / 1e6, 2) for name, w in weights.items()})


def test_chapter_8_says_which_command_made_the_runs():
    meta = json.loads(
        (REPO / "_static" / "run-grid" / "mnist28-grid.json").read_text()
    )
    chapter = json.loads(
        (REPO / "book" / "08_experiments_with_widgets.ipynb").read_text()
    )
    text = "\n".join(
        "".join(c["source"])
        for c in chapter["cells"]
        if c["cell_type"] == "markdown"
    )
    assert f"`{meta['command']}`" in text and meta["device"] in text
    assert (
        len(meta["runs"]) == 24
        and len(
            {
                tuple(r[k] for k in ("loss", "lr_g", "lr_d", "beta1"))
                for r in meta["runs"]
            }
        )
        == 24
    )
    weight = sum(
        (REPO / "_static" / "run-grid" / name).stat().st_size
        for name in ("mnist28-grid.json", meta["sprite"])
    )
    assert weight <= 1_500_000, f"the grid's files weigh {weight:,} bytes"
