"""The rendered book read anywhere: offline, at a 1280-px window, on a phone, with a screen reader.

Every page is opened in headless Chromium with every host name but the local server's unresolvable
(the network off, for the page), and must:

- request nothing from another host, and find every file it asks for (MathJax, its fonts and
  extensions, the widget manager: ``_vendor/README.md``);
- show no raw TeX (``\\(``, ``\\[``, ``$$``): every formula is typeset;
- log no error in the browser's console;
- load the widget manager only where it displays a widget, and draw that widget;
- at a 1280-px window, have no code, printed output or table wider than its column (a cell tagged
  ``full-width`` spans the margin, and that is its column);
- at a 390-px window (a phone), not scroll sideways; a block may scroll inside itself there.

And every image of the built book has alt text that says what it shows, not a file name.
"""

from __future__ import annotations

import importlib.util
import re
import time
from urllib.parse import urljoin, urlparse

import pytest
from book_browser import (
    REPO,
    build_book,
    open_page,
    serve,
    start_browser,
    toc_pages,
)
from bs4 import BeautifulSoup

PAGES = toc_pages()
WIDGET_MANAGER = "/_static/jupyter-widgets/embed.js"
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    html = build_book(tmp_path_factory)
    url, server = serve(html)
    yield html, url
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(
        tmp_path_factory.mktemp("chrome-anywhere"), offline=True
    )
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _open(
    browser, site, page: str, width: int = 1280, height: int = 900
) -> list[dict]:
    """Load ``page`` at ``width`` x ``height``, wait until its formulas and widgets are drawn; the
    console's messages while it loaded."""
    browser.set_window_size(width, height)
    browser.get_log("browser")  # drop what earlier pages logged
    url = urljoin(site[1], f"{page}.html")
    open_page(browser, url, site[0])
    state = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const mathjax = document.querySelector('script[src*="/mathjax/"]');
        const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
        const drawn = () => Array.from(views).every(s => s.previousElementSibling &&
            s.previousElementSibling.querySelector('.jupyter-widgets'));
        const start = Date.now();
        (function wait() {
          const typeset = !mathjax || (window.MathJax && MathJax.startup && MathJax.startup.promise);
          if (typeset && drawn()) {
            Promise.resolve(mathjax ? MathJax.startup.promise : null).then(() => done('ready'), e => done(String(e)));
          } else if (Date.now() - start > 45000) {
            done(`not ready after 45 s: MathJax ${!!typeset}, widgets drawn ${drawn()}`);
          } else {
            setTimeout(wait, 50);
          }
        })();""")
    assert state == "ready", f"{url}: {state}"
    return browser.get_log("browser")


def _requests(browser) -> list[dict]:
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => ({url: e.name, status: e.responseStatus}));"
    )


@pytest.mark.parametrize("page", PAGES)
def test_page_is_whole_offline(browser, site, page):
    html, url = site
    logs = _open(browser, site, page)
    requests = _requests(browser)
    elsewhere = [
        r["url"] for r in requests if urlparse(r["url"]).hostname != "127.0.0.1"
    ]
    assert elsewhere == [], f"{page} asks another host for: {elsewhere}"
    missing = [
        r["url"] for r in requests if r["status"] >= 400 or r["status"] == 0
    ]
    assert missing == [], (
        f"{page} asks for files the book does not have: {missing}"
    )
    errors = [e["message"] for e in logs if e["level"] == "SEVERE"]
    assert errors == [], f"{page} logs errors: {errors}"

    formulas = browser.execute_script("""
        const all = document.querySelectorAll('.math');
        return [all.length, Array.from(all).filter(m => !m.querySelector('mjx-container')).length];""")
    assert formulas[1] == 0, (
        f"{page}: {formulas[1]} of {formulas[0]} formulas not typeset"
    )
    text = browser.execute_script("""
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const parts = [];
        while (walker.nextNode()) {
          if (!walker.currentNode.parentElement.closest('pre, code, script, style, textarea, noscript')) {
            parts.push(walker.currentNode.textContent);
          }
        }
        return parts.join(' ');""")
    raw = sorted(
        {
            text[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
            for m in RAW_TEX.finditer(text)
        }
    )
    assert raw == [], f"{page} shows raw TeX: {raw[:5]}"

    shows_widget = (
        "application/vnd.jupyter.widget-view+json"
        in (html / f"{page}.html").read_text()
    )
    manager = [r["url"] for r in requests if WIDGET_MANAGER in r["url"]]
    assert bool(manager) == shows_widget, (
        f"{page}: widget manager loaded {bool(manager)}, shows a widget {shows_widget}"
    )
    assert not [r["url"] for r in requests if "thebe" in r["url"].lower()], (
        f"{page} loads Thebe"
    )


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_1280_px_window_and_a_phone(browser, site, page):
    _open(browser, site, page, 1280, 900)
    too_wide = browser.execute_script("""
        document.querySelectorAll('details').forEach(d => d.open = true);  // dropdowns, hidden code
        const found = [];
        for (const el of document.querySelectorAll('article.bd-article :is(pre, table)')) {
          if (!el.getClientRects().length) continue;
          // its column: the cell it is in (a full-width cell spans the margin), else the article
          const column = el.closest('.cell') || el.closest('article.bd-article');
          const style = getComputedStyle(column);
          const right = column.getBoundingClientRect().right - parseFloat(style.paddingRight)
                        - parseFloat(style.borderRightWidth);
          const box = el.getBoundingClientRect();
          const holder = el.parentElement;  // the theme puts a table in a scrolling box
          const hidden = Math.max(el.scrollWidth - el.clientWidth, holder.scrollWidth - holder.clientWidth);
          if (hidden > 1 || box.right > right + 1) {
            found.push(`${el.tagName.toLowerCase()} ${Math.round(box.width)} px wide, ${Math.round(hidden)} px ` +
                       `scrolled out of view: ${el.innerText.trim().slice(0, 60).replace(/\\s+/g, ' ')}`);
          }
        }
        return found;""")
    assert too_wide == [], f"{page} at a 1280-px window: " + "; ".join(too_wide)

    browser.set_window_size(390, 844)
    time.sleep(0.2)  # the page lays itself out again
    width = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
    )
    assert width[0] <= width[1], (
        f"{page} on a 390-px phone is {width[0]} px wide: it scrolls sideways"
    )


# --- alt text ------------------------------------------------------------------------------------

IMAGE_FILE = re.compile(r"^\S*\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


def bad_alt(alt: str | None, src: str) -> str | None:
    """Why ``alt`` does not say what the image shows (None when it may)."""
    alt = (alt or "").strip()
    if not alt:
        return "no alt text"
    if alt == src or IMAGE_FILE.match(alt) or ("/" in alt and " " not in alt):
        return f"a file name: {alt[:60]}"
    return None


@pytest.mark.parametrize(
    "alt, src, why",
    [
        (None, "a.png", "no alt text"),
        ("  ", "a.png", "no alt text"),
        (
            "../_images/fec740de4c46.png",
            "../_images/fec740de4c46.png",
            "a file name",
        ),
        ("samples.png", "x.png", "a file name"),
        ("runs/chapter06/grid", "y.png", "a file name"),
        (
            "Figure 2 (image 1 of 2): top, the two losses",
            "../_images/f.png",
            None,
        ),
    ],
)
def test_bad_alt_tells_a_description_from_a_file_name(alt, src, why):
    found = bad_alt(alt, src)
    assert (found is None) if why is None else found.startswith(why)


def _figure_alt():
    spec = importlib.util.spec_from_file_location(
        "figure_alt", REPO / "_ext" / "figure_alt.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "caption, index, count, alt",
    [
        (
            "Figure 1: where both forms are finite they agree.",
            0,
            1,
            "Figure 1: where both forms are finite they agree.",
        ),
        (
            "Figure 2. Top, the losses.",
            1,
            2,
            "Figure 2 (image 2 of 2): Top, the losses.",
        ),
        ("Press play. D moves first.", 0, 1, "Press play. D moves first."),
        ("Press play.", 2, 4, "Image 3 of 4: Press play."),
    ],
)
def test_alt_text_is_the_caption(caption, index, count, alt):
    assert _figure_alt()._alt(caption, index, count) == alt


def test_a_long_caption_is_cut_at_a_sentence():
    caption = "Figure 3: " + "The loss falls. " * 40
    alt = _figure_alt()._alt(caption.strip(), 0, 1)
    assert len(alt) <= _figure_alt().MAX_ALT and alt.endswith("falls.")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_book(tmp_path_factory)


@pytest.mark.parametrize("page", PAGES)
def test_every_image_says_what_it_shows(built, page):
    soup = BeautifulSoup((built / f"{page}.html").read_text(), "html.parser")
    bad = [
        f"{img.get('src', img.get('id', ''))[:50]}: {why}"
        for img in soup.find_all("img")
        if (why := bad_alt(img.get("alt"), img.get("src", "")))
    ]
    assert bad == [], (
        f"{page}: images without alt text that says what they show: {bad}"
    )
    # an image a cell draws takes its caption: the "Figure N" paragraph after the cell
    for cell in soup.select("article div.cell"):
        after = cell.find_next_sibling()
        caption = (
            re.match(r"\s*(Figure \d+)", after.get_text(" "))
            if after is not None
            else None
        )
        if caption:
            for img in cell.select(".cell_output img"):
                if not img.get("src", "").startswith(
                    "data:"
                ):  # the package's HTML pictures write their own
                    assert img["alt"].startswith(caption.group(1)), (
                        f"{page}: {img['alt'][:80]!r} is not {caption.group(1)}'s caption"
                    )
