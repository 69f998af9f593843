"""Picture chapter 8's runs panel as the page first shows it, for readers whose browser cannot draw it.

    python scripts/runs_panel_picture.py [--grid mnist28-grid] [--out _static/run-grid/mnist28-grid-panel.png]

Opens ``_static/run-grid/GRID.json`` in the panel of ``_static/dcgan-runs.js`` in headless Chromium
(network off), at its first run and last step, and saves a screenshot of the panel: its four
controls, the step slider, the curves and the samples. Run it after ``scripts/runs_grid.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
import threading
import time
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

from gan2d_browser_seeds import _Handler, browser
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="_static/dcgan-runs.css">'
    "<style>body {{ font-family: sans-serif; margin: 8px; width: 860px; }}</style>"
    '<script src="_static/dcgan-runs.js"></script></head>'
    '<body><div class="dcgan-runs" data-grid="{grid}"></div></body></html>'
)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="mnist28-grid")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or REPO / "_static" / "run-grid" / f"{args.grid}-panel.png"
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        (site / "_static" / "run-grid").mkdir(parents=True)
        for name in ("dcgan-runs.js", "dcgan-runs.css"):
            shutil.copy(REPO / "_static" / name, site / "_static")
        meta = REPO / "_static" / "run-grid" / f"{args.grid}.json"
        shutil.copy(meta, site / "_static" / "run-grid")
        shutil.copy(
            REPO
            / "_static"
            / "run-grid"
            / json.loads(meta.read_text())["sprite"],
            site / "_static" / "run-grid",
        )
        (site / "index.html").write_text(PAGE.format(grid=args.grid))
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_Handler, directory=str(site))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = browser(Path(tmp) / "profile")
        try:
            driver.set_window_size(900, 700)
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            root = driver.find_element("css selector", ".dcgan-runs")
            deadline = time.time() + 30
            while root.get_attribute("data-state") != "ready":
                if (
                    time.time() > deadline
                    or root.get_attribute("data-state") == "error"
                ):
                    raise RuntimeError(
                        f"the panel did not load: {root.get_attribute('data-error')}"
                    )
                time.sleep(0.1)
            png = root.screenshot_as_png
        finally:
            driver.quit()
            server.shutdown()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=128).save(
        out, optimize=True
    )  # a palette: a third of the bytes
    print(
        f"wrote {out} ({image.width} x {image.height}, {out.stat().st_size:,} bytes)"
    )
    return out


if __name__ == "__main__":
    main()
