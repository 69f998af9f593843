"""The rendered book in a real browser, for the tests: one build per test session, a local server,
headless Chromium (skipped without it, unless DCGAN_TUTORIAL_REQUIRE_BROWSER=1)."""

import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
_BUILDS: dict = {}  # one build per session, shared by every module that asks for the book


def toc_pages() -> list[str]:
    """Every page of the table of contents, as book/NAME (without suffix), root first."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [toc["root"], *(c["file"] for c in toc["chapters"])]


def chromium():
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(exe):
            return shutil.which(exe)
    return None


def build_book(tmp_path_factory) -> Path:
    """``jupyter-book build -W -n`` of a copy of the repository, once per session; the HTML folder."""
    if "html" not in _BUILDS:
        out = tmp_path_factory.mktemp("book")
        shutil.copytree(
            REPO,
            out / "src",
            ignore=shutil.ignore_patterns(
                ".venv",
                ".git",
                "_build",
                "data",
                "runs",
                "__pycache__",
                "*.egg-info",
                ".pytest_cache",
            ),
        )
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "jupyter-book"),
                "build",
                str(out / "src"),
                "-W",
                "-n",
                "--keep-going",
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"jupyter-book build -W failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        html = out / "src" / "_build" / "html"
        assert (html / "index.html").is_file()
        _BUILDS["html"] = html
    return _BUILDS["html"]


class _QuietHandler(SimpleHTTPRequestHandler):
    # the explorer's runtime is an ES module and a WebAssembly file: browsers refuse them under
    # other content types, whatever the system's MIME table says
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".onnx": "application/octet-stream",
    }

    def log_message(self, *args):
        pass


def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 (a free port): (base URL, the server; call .shutdown())."""
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def start_browser(profile: Path, offline: bool = False):
    """Headless Chromium through selenium; offline: every host name but 127.0.0.1 fails to resolve."""
    exe = chromium()
    if exe is None:
        if os.environ.get("DCGAN_TUTORIAL_REQUIRE_BROWSER") == "1":
            raise AssertionError(
                "headless Chromium is required here: apt-get install chromium chromium-driver"
            )
        pytest.skip(
            "no Chromium installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = exe
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1600",
    ]
    if offline:
        flags.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    for flag in flags:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=Service(shutil.which("chromedriver"))
    )
    driver.set_page_load_timeout(60)
    return driver


def open_page(
    driver, url: str, folder: Path | None = None, timeout: float = 60.0
) -> None:
    """Show ``url`` in ``driver`` and return once the browser holds the whole page, parsed.

    ``driver.get`` alone does not promise that. It returns when the browser stops loading the
    document, and when the document's response ends early (a connection dropped on a busy
    machine) that is at once, with no error, while the page stays half parsed for good
    (``document.readyState`` "loading"; ChromeDriver 156): code that then reads the page sees
    only its first part, and an element near its end is not there. So this waits until the
    document is the one asked for and completely parsed and, given the ``folder`` the server
    serves, checks that every byte of it arrived. A page that does not get there is loaded once
    more; a second failure is an error that says what the browser holds.
    """
    path = urlparse(url).path
    expected = (
        (folder / path.lstrip("/")).stat().st_size if folder is not None else None
    )
    problems = []
    for _ in range(2):
        driver.get(url)
        deadline = time.time() + timeout
        while True:
            shown = driver.execute_script(
                "var n = performance.getEntriesByType('navigation')[0];"
                "return [document.URL, document.readyState, n ? n.responseStatus : 0, n ? n.decodedBodySize : 0];"
            )
            if urlparse(shown[0]).path == path and shown[1] == "complete":
                break
            if time.time() > deadline:
                break
            time.sleep(0.05)
        if urlparse(shown[0]).path != path or shown[1] != "complete":
            problems.append(
                f"after {timeout:.0f} s the browser shows {shown[0]} ({shown[1]})"
            )
        elif shown[2] != 200 or (expected is not None and shown[3] != expected):
            problems.append(f"HTTP {shown[2]}, {shown[3]} of {expected} bytes")
        else:
            return
    logs = [e["message"][:200] for e in driver.get_log("browser")][-5:]
    raise AssertionError(
        f"{url} did not load whole, twice: {'; '.join(problems)} (console: {logs})"
    )
