"""The notebook widgets, driven from Python as a user would: set controls, click buttons, read the display."""

import base64
import io
import os
import re
import sys
import threading
import time
import types

import ipywidgets
import matplotlib
import pytest
import torch
from PIL import Image

import dcgan_tutorial.notebook
import dcgan_tutorial.notebook.panel
from dcgan_tutorial.checkpoint import save_checkpoint
from dcgan_tutorial.notebook import (
    LatentExplorer,
    TrainingPanel,
    WidgetMessages,
    enable_colab,
    orthonormal_directions,
    plot_comparison,
    plot_run,
    slerp,
)
from dcgan_tutorial.presets import PRESETS
from dcgan_tutorial.sample import sample_noise
from dcgan_tutorial.train import TrainingDiverged

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"
LIMIT = 256  # images: enough for a few batches, fast to load


pytestmark = pytest.mark.usefixtures(
    "one_thread"
)  # tiny networks: one thread is fastest


@pytest.fixture
def panel(data_root):
    """A panel on a small MNIST subset with a tiny model, logging and redrawing at every step."""
    p = TrainingPanel(
        data_root=data_root,
        limit=LIMIT,
        device="cpu",
        log_every=1,
        sample_every=3,
        redraw_every=0,
    )
    p.nz.value, p.width.value, p.batch_size.value, p.steps.value = 8, 8, "16", "6"
    return p


def test_train_button_trains_with_exactly_the_values_of_the_controls(panel):
    panel.lr_g.value, panel.lr_d.value, panel.beta1.value = 3e-4, 1e-3, 0.9
    panel.nz.value, panel.width.value, panel.loss.value = 6, 12, "saturating"
    panel.batch_size.value, panel.steps.value, panel.seed.value = "32", "7", "5"
    panel.run_name.value = "beta1 0.9"

    panel.train_button.click()
    record = panel.runs[-1]

    t, m = panel.state.train_cfg, panel.state.model_cfg  # what train_gan received
    assert (t.lr_g, t.lr_d, t.beta1, t.loss, t.batch_size, t.steps, t.seed) == (
        3e-4,
        1e-3,
        0.9,
        "saturating",
        32,
        7,
        5,
    )
    assert (t.dataset, t.epochs, t.time_budget) == ("mnist", None, None)
    assert (m.nz, m.ngf, m.ndf, m.image_size) == (
        6,
        12,
        12,
        PRESETS["mnist28"].model.image_size,
    )
    assert panel.state.step == 7 and not panel.state.interrupted
    assert panel.state.history["step"] == list(range(1, 8))
    # the live view received the data
    assert panel.live.redraws > 0
    assert bytes(panel.live.curves.value).startswith(PNG) and bytes(
        panel.live.samples.value
    ).startswith(PNG)
    assert panel.live.progress.value == panel.live.progress.max
    assert "7 steps" in panel.live.status.value
    # and the run is on record with those settings
    assert panel.runs == [record]
    assert (
        record.name == "beta1 0.9" and record.steps == 7 and record.error is None
    )
    assert record.train_cfg == t and record.model_cfg == m
    assert len(record.history["d_loss"]) == 7 and record.last_samples.shape == (
        64,
        1,
        28,
        28,
    )
    assert (
        not panel.running
        and not panel.train_button.disabled
        and panel.stop_button.disabled
    )


def _on_poll(monkeypatch, action):
    """Make the panel's widget-message poll (called between steps) do ``action(panel_state)`` instead:
    what a click arriving from the page during training does."""
    calls = []

    def poll(self):
        calls.append(1)
        action()
        return 0

    monkeypatch.setattr(WidgetMessages, "poll", poll)
    return calls


def test_training_runs_in_the_foreground_and_starts_no_thread(panel, monkeypatch):
    def no_thread(self, *args, **kwargs):
        raise AssertionError(
            f"the panel started a thread ({self.name}): widget updates must stay on the main thread"
        )

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    seen = []
    calls = _on_poll(
        monkeypatch,
        lambda: seen.append(
            (
                panel.running,
                panel.train_button.disabled,
                panel.stop_button.disabled,
                panel.state.step,
            )
        ),
    )
    panel.steps.value = "7"
    panel.train_button.click()  # returns when the run has ended
    assert panel.state.step == 7 and len(panel.runs) == 1 and not panel.running
    assert calls and all(
        running and train_off and not stop_off
        for running, train_off, stop_off, _ in seen
    )
    assert {step for *_, step in seen} == set(
        range(8)
    )  # log_every=1: between every two steps


def test_stop_clicked_during_training_ends_the_run_after_the_current_step(
    panel, monkeypatch
):
    panel.steps.value = "100000"
    _on_poll(
        monkeypatch, lambda: panel.state.step >= 3 and panel.stop_button.click()
    )
    record = panel.train()
    assert not panel.running
    assert panel.state.step == 3 and panel.state.interrupted
    assert (
        record.interrupted
        and record.steps == panel.state.step
        and "(stopped)" in record.label
    )
    assert (
        panel.state.history["step"][-1] == panel.state.step
    )  # every step done was recorded
    assert panel.live.progress.bar_style == "warning"


def test_stop_at_the_first_chance_is_not_lost(panel, monkeypatch):
    panel.steps.value = "100000"
    _on_poll(monkeypatch, panel.stop_button.click)
    record = panel.train()
    assert (
        record.interrupted and record.steps == 0
    )  # stopped before its first step


def test_a_train_click_during_a_run_is_refused(panel, monkeypatch):
    panel.steps.value = "5"
    refused = []
    _on_poll(monkeypatch, lambda: refused.append(panel.train()))
    panel.train_button.click()
    assert (
        refused
        and all(r is None for r in refused)
        and "still going" in panel.message.value
    )
    assert len(panel.runs) == 1 and panel.runs[0].steps == 5


def test_runs_are_kept_and_two_can_be_compared(panel):
    panel.run_name.value = "paper's lr_d"
    first = panel.train()
    panel.lr_d.value, panel.run_name.value = 1e-2, "lr_d 1e-2"
    panel.train_button.click()
    second = panel.runs[-1]
    assert panel.runs == [first, second]
    assert (
        first.train_cfg.lr_d == PRESETS["mnist28"].train.lr_d
        and second.train_cfg.lr_d == 1e-2
    )
    assert [label for label, _ in panel.run_a.options] == [
        first.label,
        second.label,
    ]
    assert (panel.run_a.value, panel.run_b.value) == (
        0,
        1,
    )  # the last two runs, ready to compare
    assert bytes(panel.compare_image.value) == b""
    panel.compare_button.click()
    assert bytes(panel.compare_image.value).startswith(PNG)
    fig = plot_comparison(first, second)  # the same picture for a static page
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert len(fig.axes) == 6 and legend == [first.name, second.name]
    assert len(plot_run(second).axes) == 3
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize(
    "control, typed, field",
    [
        ("steps", "-5", "steps"),
        ("steps", "0", "steps"),
        ("steps", "abc", "steps"),
        (
            "batch_size",
            str(LIMIT + 1),
            "batch_size",
        ),  # more than the dataset holds (the loader's check)
        ("batch_size", "abc", "batch_size"),
        ("batch_size", "-16", "batch_size"),
        ("time_budget", "abc", "time_budget"),
        ("time_budget", "-1", "time_budget"),
        ("seed", "1.5", "seed"),
    ],
)
def test_bad_values_are_refused_with_a_visible_message(
    panel, control, typed, field
):
    getattr(panel, control).value = typed
    panel.train_button.click()
    shown = panel.message.value
    assert (
        "Not started" in shown
        and f"{field}=" in shown
        and "Traceback" not in shown
    )
    assert (
        panel.state is None and not panel.running and panel.runs == []
    )  # no training started
    if typed == str(LIMIT + 1):
        assert f"only {LIMIT} images" in shown
    getattr(panel, control).value = {
        "steps": "2",
        "time_budget": "",
        "seed": "0",
    }.get(control, "16")
    panel.train()  # corrected: it trains, and the message is gone
    assert panel.message.value == "" and len(panel.runs) == 1


def test_no_stop_condition_is_refused(panel):
    panel.steps.value, panel.time_budget.value = "", ""
    panel.train_button.click()
    assert (
        "steps/epochs/time_budget" in panel.message.value and panel.state is None
    )


def test_a_time_budget_alone_stops_the_run(panel):
    panel.steps.value, panel.time_budget.value = "", "1.5"
    record = panel.train()
    assert (
        panel.state.train_cfg.time_budget == 1.5
        and panel.state.train_cfg.steps is None
    )
    assert record.steps > 0 and not record.interrupted and record.seconds < 60


def test_a_failed_run_is_shown_in_the_panel_not_as_a_traceback(
    panel, monkeypatch
):
    def diverge(state, loader, callbacks, progress):
        raise TrainingDiverged(
            "a loss became NaN or infinite at step 3: the run diverged"
        )

    monkeypatch.setattr(dcgan_tutorial.notebook.panel, "train_gan", diverge)
    panel.train_button.click()
    record = panel.runs[-1]
    assert (
        "The run failed" in panel.message.value
        and "diverged" in panel.message.value
    )
    assert record.error and "(failed)" in record.label and not panel.running
    assert not panel.train_button.disabled


def test_the_preset_dropdown_loads_the_preset(panel):
    panel.preset.value = "paper64"
    p = PRESETS["paper64"]
    assert (panel.width.value, panel.nz.value) == (p.model.ngf, p.model.nz)
    assert panel.batch_size.value == str(p.train.batch_size)
    assert (panel.lr_g.value, panel.lr_d.value, panel.beta1.value) == (
        p.train.lr_g,
        p.train.lr_d,
        p.train.beta1,
    )
    panel.preset.value = "mnist28"
    assert panel.lr_g.value == PRESETS["mnist28"].train.lr_g


def test_the_panel_displays_as_a_widget_and_as_a_picture_of_its_last_run(panel):
    bundle = panel._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"] == {
        "version_major": 2,
        "version_minor": 0,
        "model_id": panel.widget.model_id,
    }
    assert bundle["text/plain"].startswith("TrainingPanel: 0 run(s)")
    assert (
        "no run yet" in bundle["text/html"] and "<img" not in bundle["text/html"]
    )
    panel.steps.value = "4"
    panel.train()
    figure = panel._repr_mimebundle_()["text/html"]
    png = base64.b64decode(
        re.search(r'src="data:image/png;base64,([^"]+)"', figure).group(1)
    )
    picture = Image.open(io.BytesIO(png))
    curves = Image.open(io.BytesIO(bytes(panel.live.curves.value)))
    assert (
        picture.width > curves.width and picture.height == curves.height
    )  # the curves and the grid beside
    assert (
        "Colab" in figure
        and "controls work when the notebook runs" in figure
        and "run 1" in figure
    )
    panel.compare(0, 0)
    taller = Image.open(io.BytesIO(panel.picture()))
    assert taller.height > picture.height  # the comparison below


def test_a_shown_panel_updates_its_picture_when_a_run_ends(panel, monkeypatch):
    shown, updates = [], []
    monkeypatch.setattr(
        "IPython.display.display",
        lambda obj, raw, display_id: shown.append((obj, display_id)),
    )
    monkeypatch.setattr(
        "IPython.display.update_display",
        lambda obj, raw, display_id: updates.append((obj, display_id)),
    )
    panel.refresh()
    assert updates == []  # never shown: nothing to update
    panel._ipython_display_()
    ((first, display_id),) = shown
    assert "no run yet" in first["text/html"]
    panel.steps.value = "3"
    panel.train()
    assert (
        updates
        and updates[-1][1] == display_id
        and "<img" in updates[-1][0]["text/html"]
    )


def test_enable_colab_only_acts_in_colab(monkeypatch):
    assert enable_colab() is False  # not in Colab: nothing to do
    calls = []
    output = types.SimpleNamespace(
        enable_custom_widget_manager=lambda: calls.append(1)
    )
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")
    assert (
        enable_colab() is True and calls == []
    )  # Colab shows ipywidgets 7 itself
    monkeypatch.setattr(ipywidgets, "__version__", "8.1.5")
    assert enable_colab() is True and calls == [
        1
    ]  # a later ipywidgets needs Colab's widget manager


# --- the latent explorer ------------------------------------------------------------------------


@pytest.fixture
def trained(panel):
    panel.nz.value, panel.steps.value = 8, "6"
    panel.train()
    return panel.state


def test_moving_a_slider_changes_the_image_and_coming_back_restores_it(trained):
    explorer = LatentExplorer(trained.G, n_images=4, n_directions=3)
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == "LatentExplorer: nz=8, 3 directions"
    assert (
        base64.b64encode(bytes(explorer.image.value)).decode()
        in bundle["text/html"]
    )  # its grid, as a picture
    start, redraws = bytes(explorer.image.value), explorer.redraws
    assert start.startswith(PNG) and len(explorer.sliders) == 3
    explorer.sliders[1].value = 2.0
    moved = bytes(explorer.image.value)
    assert moved != start and explorer.redraws == redraws + 1
    explorer.sliders[1].value = 0.0
    assert bytes(explorer.image.value) == start
    explorer.t.value = 0.5
    assert bytes(explorer.image.value) not in (start, moved)
    explorer.seed_b.value = 7
    assert explorer.caption.value.startswith("seeds 0 -> 7, t = 0.50")
    explorer.reset()
    assert bytes(explorer.image.value) == start and explorer.t.value == 0.0


def test_same_seed_and_position_give_the_same_image(trained, tmp_path):
    settings = dict(
        n_images=4, n_directions=2, direction_seed=3, seed_a=11, seed_b=12
    )
    a = LatentExplorer(trained.G, **settings)
    path = save_checkpoint(trained, tmp_path / "checkpoint.pt")
    b = LatentExplorer.from_checkpoint(path, **settings)
    for explorer in (a, b):
        explorer.sliders[0].value, explorer.t.value = -1.5, 0.25
    assert bytes(a.image.value) == bytes(b.image.value)
    assert torch.equal(a.images(), b.images())
    c = LatentExplorer(trained.G, **{**settings, "seed_a": 13})
    c.sliders[0].value, c.t.value = -1.5, 0.25
    assert bytes(c.image.value) != bytes(a.image.value)


def test_a_one_image_explorer_starts_where_the_live_explorer_starts():
    """Chapter 8's Figure 7 sweeps LatentExplorer(G, n_images=1): the noise and directions that the
    page's live explorer reads from _static/models/mnist.json, so a reader can reproduce it."""
    import json
    from pathlib import Path

    from dcgan_tutorial.pretrained import load_pretrained

    stored = json.loads(
        (
            Path(__file__).resolve().parents[1] / "_static/models/mnist.json"
        ).read_text()
    )
    G, _, _ = load_pretrained("mnist")
    explorer = LatentExplorer(G, n_images=1, n_directions=4)
    assert stored["start"]["seeds"] == [
        explorer.seed_a.value,
        explorer.seed_b.value,
    ]
    for t, z in zip((0.0, 1.0), stored["start"]["z"]):
        latent = explorer.latent(t=t, position=[0.0] * 4).flatten()
        torch.testing.assert_close(latent, torch.tensor(z), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        explorer.directions,
        torch.tensor(stored["directions"]["vectors"]),
        atol=1e-6,
        rtol=0,
    )


def test_directions_are_orthonormal_and_seeded():
    d = orthonormal_directions(16, 4, seed=0)
    assert d.shape == (4, 16)
    torch.testing.assert_close(d @ d.T, torch.eye(4), atol=1e-5, rtol=0)
    assert torch.equal(d, orthonormal_directions(16, 4, seed=0))
    assert not torch.equal(d, orthonormal_directions(16, 4, seed=1))
    with pytest.raises(ValueError, match="nz=2"):
        orthonormal_directions(2, 3)


def test_slerp_ends_at_both_seeds_and_stays_near_the_sphere():
    z0, z1 = sample_noise(8, 100, 0), sample_noise(8, 100, 1)
    assert torch.equal(slerp(z0, z1, 0.0), z0) and torch.equal(
        slerp(z0, z1, 1.0), z1
    )
    torch.testing.assert_close(slerp(z0, z1, 1 - 1e-9), z1, atol=1e-5, rtol=0)
    mid = slerp(z0, z1, 0.5)
    radius = (z0.flatten(1).norm(dim=1) + z1.flatten(1).norm(dim=1)) / 2
    lerp = ((z0 + z1) / 2).flatten(1).norm(dim=1)
    assert ((mid.flatten(1).norm(dim=1) - radius).abs() < 0.1 * radius).all()
    assert (
        mid.flatten(1).norm(dim=1) > lerp
    ).all()  # the straight line cuts inside the sphere
    torch.testing.assert_close(
        slerp(z0, z0, 0.3), z0
    )  # parallel rows: no division by zero


# --- in a real kernel: the page's clicks arrive as widget messages while the panel trains ---------

KERNEL_SETUP = """
import threading, torch
from dcgan_tutorial.notebook import TrainingPanel
torch.set_num_threads(1)
panel = TrainingPanel(data_root={data_root!r}, limit=256, device="cpu", log_every=1, sample_every=1000,
                      redraw_every=1000)
panel.nz.value, panel.width.value, panel.batch_size.value, panel.steps.value = 8, 8, "16", "100000"
started = []
_start = threading.Thread.start
def _recording_start(self, *args, **kwargs):
    started.append(self.name)
    return _start(self, *args, **kwargs)
threading.Thread.start = _recording_start
print(panel.train_button.model_id, panel.stop_button.model_id, panel.live.status.model_id)
"""


def _kernel_run(kc, code, timeout=120):
    """Execute ``code`` in the kernel; its stdout."""
    msg_id = kc.execute(code)
    out, started = [], False
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_input":
            started = True  # (a request put back during training may first get a "busy, idle" of its own)
        elif msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
            and started
        ):
            return "".join(out)


def _click(kc, model_id):
    """What the page sends when a Button is clicked (ipywidgets 7 and 8 alike)."""
    kc.shell_channel.send(
        kc.session.msg(
            "comm_msg",
            {
                "comm_id": model_id,
                "data": {"method": "custom", "content": {"event": "click"}},
            },
        )
    )


def test_in_a_kernel_stop_clicked_on_the_page_ends_a_run_started_by_train_on_the_page(
    data_root,
):
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "MPLBACKEND": "Agg"})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        train_id, stop_id, status_id = _kernel_run(
            kc, KERNEL_SETUP.format(data_root=str(data_root))
        ).split()
        _click(
            kc, train_id
        )  # the Train button's callback now trains in the kernel's foreground
        step, deadline = 0, time.monotonic() + 300
        while (
            step < 3
        ):  # the status label's updates reach the page while the run goes on
            assert time.monotonic() < deadline, "no progress shown"
            msg = kc.get_iopub_msg(timeout=300)
            state = (
                msg["content"].get("data", {}).get("state", {})
                if msg["msg_type"] == "comm_msg"
                else {}
            )
            if msg["content"].get("comm_id") == status_id and str(
                state.get("value", "")
            ).startswith("step "):
                step = int(state["value"].split()[1])
        _click(kc, stop_id)
        # a cell sent during the run waits for it to end, then runs
        result = _kernel_run(
            kc,
            "print(panel.state.step, panel.state.interrupted, len(panel.runs), "
            "panel.running, started)",
            timeout=300,
        )
        steps, interrupted, runs, running, threads = result.split(maxsplit=4)
        assert (
            3 <= int(steps) < 100000
            and interrupted == "True"
            and runs == "1"
            and running == "False"
        )
        assert threads.strip() == "[]", f"the panel started threads: {threads}"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
