"""Chapter 0's mode-collapse finding, reproduced by the 2-D GAN that trains in the browser.

    python scripts/gan2d_browser_seeds.py [--seeds 5] [--steps 1200] [--out benchmarks/results/gan2d_browser_seeds.json]

The page (``_static/dcgan-gan2d.js``) cannot replay PyTorch's random streams, so chapter 0's
table (slow D, lr_D = 1e-4, against D as fast as G, lr_D = 1e-3; lr_G = 1e-3, the non-saturating
loss) is checked in distribution: for each browser seed and each lr_D, a fresh run of ``--steps``
steps in headless Chromium (TensorFlow.js, WebAssembly backend, one thread, network off), counting
the ring's modes covered (toy2d's rule) every 40 steps. It prints a Markdown table and writes the
counts as JSON; chapter 0 shows the table, and tests/test_gan2d_page.py checks that the chapter
quotes this file. Needs Chromium and chromedriver (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LR_D = {"slow D": 1e-4, "D as fast as G": 1e-3}  # chapter 0's two recipes
LR_G, EVERY = 1e-3, 40
PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><script src="_static/dcgan-gan2d.js"></script></head>'
    '<body><div class="dcgan-gan2d"></div></body></html>'
)
RUN = """
var [seed, lrD, lrG, steps, every] = arguments;
var gan = new window.dcganGan2dModel.GAN2D(window.tf, {seed: seed, lrD: lrD, lrG: lrG});
var modes = [gan.look().modes], t0 = performance.now();
window.seedRun = null;
function chunk() {  // a few steps at a time: the page stays responsive to the polling below
  for (var i = 0; i < 5 && gan.gSteps < steps; i++) gan.step();
  if (gan.gSteps % every === 0 || gan.gSteps === steps) modes.push(gan.look().modes);
  if (gan.gSteps < steps) { setTimeout(chunk, 0); return; }
  window.seedRun = {modes: modes, seconds: (performance.now() - t0) / 1000};
  gan.reset();  // free this run's tensors before the next
}
setTimeout(chunk, 0);
"""


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, *args):
        pass


def browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which(
        "chromium-browser"
    )
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):  # no network but the page's server
        options.add_argument(flag)
    return webdriver.Chrome(
        options=options, service=Service(shutil.which("chromedriver"))
    )


def poll(driver):
    """The finished run's result, or None while it trains (also when a busy page answers late)."""
    from selenium.common.exceptions import TimeoutException
    from urllib3.exceptions import ReadTimeoutError

    try:
        return driver.execute_script("return window.seedRun")
    except (TimeoutException, ReadTimeoutError):
        return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--steps",
        type=int,
        default=1200,
        help="steps per run (chapter 0's 1,200)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results" / "gan2d_browser_seeds.json",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in OUT.partial (written after every run) and do the rest",
    )
    args = parser.parse_args(argv)
    saved = args.out.with_suffix(".partial")
    done = (
        json.loads(saved.read_text()) if args.resume and saved.is_file() else {}
    )
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        (site / "_static").mkdir(parents=True)
        shutil.copy(REPO / "_static" / "dcgan-gan2d.js", site / "_static")
        shutil.copytree(REPO / "_static" / "tfjs", site / "_static" / "tfjs")
        (site / "index.html").write_text(PAGE)
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_Handler, directory=str(site))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = browser(Path(tmp) / "profile")
        driver.set_script_timeout(120)
        try:
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            deadline = time.time() + 60
            while (
                driver.execute_script(
                    "return document.querySelector('.dcgan-gan2d').dataset.state"
                )
                != "ready"
            ):
                if time.time() > deadline:
                    raise RuntimeError(
                        "the trainer did not start: "
                        + str(
                            driver.execute_script(
                                "return document.querySelector('.dcgan-gan2d').dataset.error"
                            )
                        )
                    )
                time.sleep(0.2)
            runs = {}
            for name, lr_d in LR_D.items():
                runs[name] = []
                for seed in range(args.seeds):
                    kept = [r for r in done.get(name, []) if r["seed"] == seed]
                    if kept:
                        runs[name].append(kept[0])
                        continue
                    driver.execute_script(
                        RUN, seed, lr_d, LR_G, args.steps, EVERY
                    )
                    while (run := poll(driver)) is None:
                        time.sleep(2)
                    runs[name].append(
                        {
                            "seed": seed,
                            "final": run["modes"][-1],
                            "most": max(run["modes"]),
                            "seconds": round(run["seconds"], 1),
                        }
                    )
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    saved.write_text(json.dumps(runs))
                    print(
                        f"{name} (lr_D {lr_d:g}), seed {seed}: {run['modes'][-1]} of 8 modes at the end, at most "
                        f"{max(run['modes'])}, {run['seconds']:.0f} s",
                        flush=True,
                    )
            agent = driver.execute_script("return navigator.userAgent")
        finally:
            driver.quit()
            server.shutdown()
    result = {
        "steps": args.steps,
        "lr_g": LR_G,
        "lr_d": LR_D,
        "loss": "non-saturating",
        "every": EVERY,
        "command": "python scripts/gan2d_browser_seeds.py",
        "browser": agent,
        "cpu": platform.machine(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    saved.unlink(missing_ok=True)
    print(markdown_table(result))
    return result


def markdown_table(result: dict) -> str:
    """The chapter's table: modes covered at the end of each browser seed's run, per recipe."""
    seeds = len(next(iter(result["runs"].values())))
    rows = [
        f"| recipe | modes covered after {result['steps']:,} steps, browser seeds 0 to {seeds - 1} |",
        "|:--|:--|",
    ]
    for name, runs in result["runs"].items():
        rows.append(
            f"| {name}, lr_D = {result['lr_d'][name]:g} | {', '.join(str(r['final']) for r in runs)} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
