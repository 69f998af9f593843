"""Chapter 0's 2-D GAN in the browser (_static/dcgan-gan2d.js), in headless Chromium with the network off.

A page holding only the trainer is served from a copy of ``_static/`` (no book build): the
browser's steps match PyTorch's toy2d from the same weights and batches, its views match
toy2d's pictures, every control changes the run, and with the defaults it covers the ring's
modes within a minute. ``test_book_pages_static.py`` checks the trainer on the built chapter.
"""

import json
import shutil
import time

import pytest
import torch
from book_browser import REPO, serve, start_browser

from dcgan_tutorial import toy2d
from dcgan_tutorial.toy2d import (
    d_probability,
    g_arrows,
    make_toy_gan,
    modes_covered,
    sample_target,
    step,
    warped_grid,
)

STEPS = 5  # steps compared with PyTorch
LOSS_RTOL = 1e-4  # float32 in both, summed in other orders: measured at most 3e-6 over these 5 steps
SPEED_LIMIT_S = 60  # the promise: 6 of the ring's 8 modes within a minute, on 2 CPU cores
PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="_static/dcgan-gan2d.css">
<script src="_static/dcgan-gan2d.js"></script></head><body><div class="dcgan-gan2d"></div></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan2d-page")
    (folder / "_static").mkdir()
    for name in ("dcgan-gan2d.js", "dcgan-gan2d.css"):
        shutil.copy(REPO / "_static" / name, folder / "_static" / name)
    shutil.copytree(REPO / "_static" / "tfjs", folder / "_static" / "tfjs")
    (folder / "index.html").write_text(PAGE)
    url, server = serve(folder)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chrome-gan2d"), offline=True)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


def _wait(browser, condition, timeout=30.0, what="the trainer"):
    """Poll the JavaScript expression ``condition`` (``root`` is the trainer's element) until true."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if browser.execute_script(
            f"var root = document.querySelector('.dcgan-gan2d'); return !!({condition});"
        ):
            return
        time.sleep(0.05)
    state = browser.execute_script(
        "var r = document.querySelector('.dcgan-gan2d'); return [r.dataset.state, "
        "r.dataset.error, r.dataset.step, r.dataset.modes];"
    )
    raise AssertionError(
        f"{what}: {condition} still false after {timeout} s (state {state})"
    )


def _open(browser, site):
    browser.get(site + "index.html")
    _wait(
        browser,
        "root.dataset.state === 'ready' || root.dataset.state === 'error'",
    )
    root = browser.find_element("css selector", ".dcgan-gan2d")
    assert root.get_attribute("data-state") == "ready", root.get_attribute(
        "data-error"
    )
    return root


def _layers(net):
    """An MLP's nn.Linear layers as the page takes them: [{weight: (out, in), bias: (out,)}, ...]."""
    return [
        {"weight": m.weight.tolist(), "bias": m.bias.tolist()}
        for m in net.net
        if isinstance(m, torch.nn.Linear)
    ]


def _pytorch_run(monkeypatch, loss, steps=STEPS):
    """toy2d's own steps from seed 0, recording every batch they draw: (weights, batches, losses, G)."""
    torch.manual_seed(0)
    gan = make_toy_gan(
        "ring",
        loss=loss,
        lr_d=2e-3,
        lr_g=5e-4,
        generator=torch.Generator().manual_seed(1),
    )
    weights = {"G": _layers(gan.G), "D": _layers(gan.D)}
    drawn = []
    monkeypatch.setattr(
        toy2d,
        "sample_target",
        lambda *a: drawn.append(sample_target(*a)) or drawn[-1],
    )
    noise = gan.noise
    monkeypatch.setattr(
        gan, "noise", lambda n: drawn.append(noise(n)) or drawn[-1]
    )
    losses = [step(gan) for _ in range(steps)]
    assert len(drawn) == 3 * steps, (
        "a step draws real points, D's noise and G's noise"
    )
    batches = [
        {
            "real": drawn[3 * i].tolist(),
            "d_noise": drawn[3 * i + 1].tolist(),
            "g_noise": drawn[3 * i + 2].tolist(),
        }
        for i in range(steps)
    ]
    return weights, batches, losses, gan


BROWSER_RUN = """
var [weights, batches, loss, lrG, lrD, z] = arguments;
var M = window.dcganGan2dModel, gan = new M.GAN2D(window.tf, {loss: loss, lrG: lrG, lrD: lrD});
gan.setWeights(weights);
var losses = batches.map(function (b) {
  return {d_loss: gan.dStep(b.real, b.d_noise), g_loss: gan.gStep(b.g_noise)};
});
gan.fixedZ.dispose();
gan.fixedZ = window.tf.tensor2d(z);
var v = gan.look();
return {losses: losses, probs: Array.from(v.probs), fake: Array.from(v.fake), arrows: Array.from(v.arrows),
        grid: Array.from(v.grid), modes: v.modes};
"""


@pytest.mark.parametrize("loss", ["non-saturating", "saturating"])
def test_browser_steps_match_pytorch(browser, site, monkeypatch, loss):
    """From PyTorch's initial weights and batches, the page's first steps give PyTorch's losses, and
    then draws what toy2d draws: D's map, the fakes, G's arrows, the warped grid, the modes."""
    weights, batches, losses, gan = _pytorch_run(monkeypatch, loss)
    z = torch.randn(512, 2, generator=torch.Generator().manual_seed(2))
    _open(browser, site)
    page = browser.execute_script(
        BROWSER_RUN, weights, batches, loss, 5e-4, 2e-3, z.tolist()
    )
    for i, (theirs, ours) in enumerate(zip(page["losses"], losses)):
        for k in ("d_loss", "g_loss"):
            assert theirs[k] == pytest.approx(ours[k], rel=LOSS_RTOL), (
                f"step {i + 1}, {k}"
            )
    assert losses[-1]["d_loss"] != pytest.approx(losses[0]["d_loss"], rel=1e-3), (
        "the losses moved: a real test"
    )

    with torch.no_grad():
        fake = gan.G(z)
    _, _, probs = d_probability(gan.D, 3.0, 60)
    assert torch.allclose(
        torch.tensor(page["probs"]).view(60, 60), probs, atol=1e-4
    )
    assert torch.allclose(torch.tensor(page["fake"]).view(-1, 2), fake, atol=1e-4)
    arrows = g_arrows(gan.D, fake, loss)
    assert torch.allclose(
        torch.tensor(page["arrows"]).view(-1, 2),
        arrows,
        atol=1e-4 * arrows.abs().max().item(),
    )
    assert torch.allclose(
        torch.tensor(page["grid"]).view(18, 60, 2), warped_grid(gan.G), atol=1e-4
    )
    assert page["modes"] == modes_covered(fake)


def test_browser_modes_rule_is_toy2ds(browser, site):
    """The page counts a mode as toy2d.modes_covered does, on fakes where the count is not trivial."""
    _open(browser, site)
    gen = torch.Generator().manual_seed(0)
    centres = toy2d.ring_centres()
    for share in ([0.5, 0.3, 0.2], [0.019, 0.021, 0.96], [0.0, 0.0, 1.0]):
        # fakes near three of the ring's modes with these shares, the rest far away, some just outside 0.3
        n = 1000
        counts = [round(s * n) for s in share]
        parts = [
            centres[i]
            + 0.25
            * torch.nn.functional.normalize(
                torch.randn(c, 2, generator=gen), dim=1
            )
            for i, c in enumerate(counts[:2])
        ]
        parts.append(
            centres[2]
            + 0.31
            * torch.nn.functional.normalize(
                torch.randn(counts[2], 2, generator=gen), dim=1
            )
        )
        fake = torch.cat(parts)
        ours = browser.execute_script(
            "var M = window.dcganGan2dModel; var f = new Float32Array(arguments[0].flat());"
            "var c = [0,1,2,3,4,5,6,7].map(function (k) { var a = k * Math.PI / 4;"
            " return [2 * Math.cos(a), 2 * Math.sin(a)]; });"
            "return M.modesCovered(f, c);",
            fake.tolist(),
        )
        assert ours == modes_covered(fake), share


def _run(browser, root, clicks=3):
    """Press "One step" ``clicks`` times: (G steps, D steps, D loss, G loss) as the element says."""
    button = root.find_element("css selector", ".dcgan-gan2d-step")
    for _ in range(clicks):
        button.click()
    return tuple(
        root.get_attribute(a)
        for a in ("data-step", "data-d-steps", "data-d-loss", "data-g-loss")
    )


def _reset(root):
    root.find_element("css selector", ".dcgan-gan2d-reset").click()
    assert root.get_attribute("data-step") == "0"


def test_every_control_changes_the_run(browser, site):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    root = _open(browser, site)
    assert (
        root.get_attribute("data-step") == "0"
        and root.get_attribute("data-modes") is not None
    )
    baseline = _run(browser, root)
    assert baseline[:2] == ("3", "3")
    _reset(root)
    assert _run(browser, root) == baseline, (
        "a reset with the same seed replays the same run"
    )

    def changed(action, what):
        _reset(root)
        action()
        after = _run(browser, root)
        assert after[2:] != baseline[2:], f"{what} did not change the losses"
        return after

    def q(cls):
        return root.find_element("css selector", f".dcgan-gan2d-{cls}")

    changed(lambda: Select(q("data")).select_by_value("moons"), "the data")
    assert root.get_attribute("data-modes") is None, (
        "the moons have no modes to count"
    )
    Select(q("data")).select_by_value("ring")
    assert root.get_attribute("data-modes") is not None
    changed(lambda: q("lr-g").send_keys(Keys.END), "lr of G")  # 10^-1.5
    q("lr-g").send_keys(Keys.HOME)
    changed(lambda: q("lr-d").send_keys(Keys.END), "lr of D")
    q("lr-d").send_keys(Keys.HOME)
    for slider in (
        "lr-g",
        "lr-d",
    ):  # back to the default, 1e-3: 20 notches of 0.1 above 1e-5
        for _ in range(20):
            q(slider).send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script(
        "var s = window.dcganGan2d[0].gan.settings; return [s.lrG, s.lrD];"
    ) == pytest.approx([1e-3, 1e-3])
    changed(lambda: Select(q("loss")).select_by_value("saturating"), "G's loss")
    assert float(root.get_attribute("data-g-loss")) < 0, (
        "the saturating loss is negative"
    )
    Select(q("loss")).select_by_value("non-saturating")
    after = changed(
        lambda: q("d-steps").send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT),
        "D steps per G step",
    )
    assert after[:2] == ("3", "9"), "three D steps for every G step"
    q("d-steps").send_keys(Keys.HOME)

    def new_seed():
        q("seed").clear()
        q("seed").send_keys(
            "7", Keys.TAB
        )  # the change event resets with the new seed

    changed(new_seed, "the seed")
    assert _run(browser, root, 0)[0] == "3"
    q("seed").clear()
    q("seed").send_keys("0", Keys.TAB)
    assert _run(browser, root) == baseline

    play = q("play")
    play.click()  # play, then pause: the steps rise while it plays and stop when it pauses
    _wait(browser, "Number(root.dataset.step) >= 10")
    assert play.text == "Pause"
    play.click()
    stopped = int(root.get_attribute("data-step"))
    time.sleep(0.5)
    assert int(root.get_attribute("data-step")) == stopped and play.text == "Play"
    assert browser.execute_script("return window.tf.memory().numTensors") < 100, (
        "no tensor leaks while training"
    )


def test_defaults_cover_six_ring_modes_within_a_minute(browser, site, tmp_path):
    root = _open(browser, site)
    started = time.time()
    root.find_element("css selector", ".dcgan-gan2d-play").click()
    _wait(
        browser,
        "Number(root.dataset.modes) >= 6",
        timeout=SPEED_LIMIT_S,
        what="6 of 8 modes",
    )
    seconds, steps = time.time() - started, int(root.get_attribute("data-step"))
    root.find_element("css selector", ".dcgan-gan2d-play").click()
    assert steps > 0
    print(f"6 modes after {steps} steps, {seconds:.1f} s")
    assert root.screenshot(str(tmp_path / "gan2d.png"))


def test_chapter_0_quotes_the_recorded_browser_seeds():
    """Chapter 0's table of browser seeds is the one scripts/gan2d_browser_seeds.py recorded, and it
    says what the chapter says: most slow-D runs collapse, most fast-D runs cover the ring."""
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from gan2d_browser_seeds import markdown_table

    result = json.loads(
        (REPO / "benchmarks" / "results" / "gan2d_browser_seeds.json").read_text()
    )
    chapter = json.loads((REPO / "book" / "00_gans_in_2d.ipynb").read_text())
    text = "\n".join(
        "".join(c["source"])
        for c in chapter["cells"]
        if c["cell_type"] == "markdown"
    )
    assert markdown_table(result) in text, (
        "re-run scripts/gan2d_browser_seeds.py and paste its table"
    )
    slow, fast = ([r["final"] for r in runs] for runs in result["runs"].values())
    assert len(slow) == len(fast) == 5 and result["steps"] == 1200
    assert sum(m <= 2 for m in slow) >= 3, f"most slow-D runs collapse: {slow}"
    assert sum(m >= 6 for m in fast) >= 3, (
        f"most fast-D runs cover the modes: {fast}"
    )
