"""The training panel: controls around the real ``train_gan``, started through ``run.py``.

``TrainingPanel`` turns sliders, dropdowns and text boxes into a ``ModelConfig`` and a
``TrainConfig`` (checked by their own ``validate``), trains in the foreground on the kernel's
main thread (so every widget update shows, in Colab too), and watches the run with two
ordinary ``Callback``s: ``LivePlots`` redraws the curves and the fixed-noise grid, and
``WidgetMessages`` lets the kernel handle waiting widget messages between steps, so Stop
works while the run goes on. Every finished run is kept as a ``RunRecord`` (``runs.py``) so
two runs can be compared. Needs ``ipywidgets`` (7.7 or later).

The latent explorer lives in ``explorer.py``.
"""

from __future__ import annotations

import contextlib
import html
import time
from typing import Optional

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from tqdm.std import tqdm as tqdm_std

from ..config import DATASETS, LOSSES, ConfigError, ModelConfig, TrainConfig
from ..data import DatasetError
from ..device import pick_device
from ..presets import MNIST28, PRESETS
from ..run import RunPlan, plan_run, prepare_run
from ..state import GANState
from ..train import TrainingDiverged, train_gan
from .live import LivePlots, ShowsWidget, enable_colab, stack_pngs
from .messages import WidgetMessages
from .runs import RunRecord, figure_png, plot_comparison

# --- the panel ------------------------------------------------------------------------------


def _number(field: str, text: str, kind: type = int, optional: bool = False):
    """The number typed into a text box; a ``ConfigError`` naming the field when it is not one."""
    text = text.strip()
    if not text and optional:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(
            field,
            text,
            f"type {what}"
            + (", or leave it empty for no limit" if optional else ""),
        )


@contextlib.contextmanager
def _no_tqdm_monitor():
    """tqdm starts a monitor thread with its first bar, even a disabled one: not for the panel's runs."""
    saved = tqdm_std.monitor_interval
    tqdm_std.monitor_interval = 0
    try:
        yield
    finally:
        tqdm_std.monitor_interval = saved


def _error_html(headline: str, text: str) -> str:
    """A message for the panel in red, the headline in bold (a message shows in the panel, never a traceback)."""
    return f"<span style='color:#b00020'><b>{headline}</b> {html.escape(text, quote=False)}</span>"


class TrainingPanel(ShowsWidget):
    """Controls for one DCGAN run, a Train and a Stop button, live plots, and a comparison of runs.

    ``data_root`` and ``limit`` go to ``make_loader`` (``limit``: keep only the first images, for
    quick runs). ``log_every``/``sample_every`` override the preset's when given. Display the
    panel by making it the last expression of a cell. ``runs`` holds a ``RunRecord`` per run.
    """

    def __init__(
        self,
        preset: str = MNIST28.name,
        data_root=None,
        limit: Optional[int] = None,
        device: str | torch.device = "auto",
        log_every: Optional[int] = None,
        sample_every: Optional[int] = None,
        redraw_every: float = 1.0,
    ):
        enable_colab()
        self.data_root, self.limit = data_root, limit
        self.device = pick_device(device) if isinstance(device, str) else device
        self.log_every, self.sample_every = log_every, sample_every
        # the state of the current or last run
        self.state: Optional[GANState] = None
        self.runs: list[RunRecord] = []
        self._running = False
        self.live = LivePlots(redraw_every)

        style, wide = (
            {"description_width": "110px"},
            widgets.Layout(width="330px"),
        )

        def box(cls, description, **kw):
            return cls(description=description, style=style, layout=wide, **kw)

        log = dict(base=10, min=-5, max=-1, step=0.1, readout_format=".1e")
        self.preset = box(
            widgets.Dropdown, "preset", options=list(PRESETS), value=preset
        )
        self.dataset = box(widgets.Dropdown, "dataset", options=list(DATASETS))
        self.loss = box(widgets.Dropdown, "G loss", options=list(LOSSES))
        self.lr_g = box(widgets.FloatLogSlider, "lr of G", **log)
        self.lr_d = box(widgets.FloatLogSlider, "lr of D", **log)
        self.beta1 = box(
            widgets.FloatSlider, "Adam beta1", min=0.0, max=0.99, step=0.01
        )
        self.nz = box(widgets.IntSlider, "nz (noise size)", min=1, max=256)
        self.width = box(
            widgets.IntSlider, "width (ngf=ndf)", min=4, max=128, step=4
        )
        self.batch_size = box(widgets.Text, "batch size")
        self.steps = box(
            widgets.Text, "steps", value="500", placeholder="empty: no step limit"
        )
        self.time_budget = box(
            widgets.Text,
            "time budget (s)",
            value="",
            placeholder="empty: no time limit",
        )
        self.seed = box(widgets.Text, "seed", value="0")
        self.run_name = box(
            widgets.Text,
            "run name",
            value="",
            placeholder="optional, e.g. beta1 0.9",
        )
        self.train_button = widgets.Button(
            description="Train", button_style="success", icon="play"
        )
        self.stop_button = widgets.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.message = widgets.HTML("")
        self.run_a = widgets.Dropdown(description="run A", options=[])
        self.run_b = widgets.Dropdown(description="run B", options=[])
        self.compare_button = widgets.Button(
            description="Compare", icon="columns"
        )
        self.compare_image = widgets.Image(
            format="png", layout=widgets.Layout(width="900px")
        )

        self.preset.observe(self.load_preset, names="value")
        self.load_preset()
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.compare_button.on_click(lambda _: self.compare())

        column = widgets.VBox
        controls = widgets.HBox(
            [
                column(
                    [
                        self.preset,
                        self.dataset,
                        self.loss,
                        self.lr_g,
                        self.lr_d,
                        self.beta1,
                    ]
                ),
                column(
                    [
                        self.nz,
                        self.width,
                        self.batch_size,
                        self.steps,
                        self.time_budget,
                        self.seed,
                        self.run_name,
                    ]
                ),
            ]
        )
        buttons = widgets.HBox(
            [
                self.train_button,
                self.stop_button,
                self.live.progress,
                self.live.status,
            ]
        )
        compare = widgets.VBox(
            [
                widgets.HTML("<b>Compare two finished runs</b>"),
                widgets.HBox([self.run_a, self.run_b, self.compare_button]),
                self.compare_image,
            ]
        )
        self.widget = widgets.VBox(
            [
                widgets.HTML("<b>Train a DCGAN</b>"),
                controls,
                buttons,
                self.message,
                widgets.HBox([self.live.curves, self.live.samples]),
                compare,
            ]
        )

    def _text(self) -> str:
        return f"TrainingPanel: {len(self.runs)} run(s) kept; open in Jupyter or Colab to use it"

    def _caption(self) -> str:
        if not self.runs:
            return "The training panel (no run yet)."
        last = self.runs[-1]
        compared = (
            " Below: the last comparison of two runs."
            if self.compare_image.value
            else ""
        )
        return (
            f"The training panel after its last run ({last.label}): its curves and its fixed-noise grid."
            + compared
        )

    def picture(self) -> bytes:
        """What the panel shows: the last run's curves and grid, and the last comparison (PNG, b"" if nothing)."""
        rows = [
            [bytes(self.live.curves.value), bytes(self.live.samples.value)],
            [bytes(self.compare_image.value)],
        ]
        return stack_pngs([[png for png in row if png] for row in rows])

    def load_preset(self, change=None) -> None:
        """Put the chosen preset's model and recipe into the controls."""
        p = PRESETS[self.preset.value]
        self.dataset.value, self.loss.value = p.train.dataset, p.train.loss
        self.lr_g.value, self.lr_d.value, self.beta1.value = (
            p.train.lr_g,
            p.train.lr_d,
            p.train.beta1,
        )
        self.nz.value, self.width.value = p.model.nz, p.model.ngf
        self.batch_size.value = str(p.train.batch_size)

    # -- from controls to configs --------------------------------------------------------------

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """The model and training configs the controls describe, validated (or a
        ``ConfigError``)."""
        plan = self.plan()
        return plan.model_cfg, plan.train_cfg

    def plan(self) -> RunPlan:
        """The run the controls describe (``run.plan_run``: the same checks as the command line)."""
        p = PRESETS[self.preset.value]
        return plan_run(
            self.preset.value,
            model=dict(
                nz=self.nz.value, ngf=self.width.value, ndf=self.width.value
            ),
            train=dict(
                dataset=self.dataset.value,
                loss=self.loss.value,
                lr_g=self.lr_g.value,
                lr_d=self.lr_d.value,
                beta1=self.beta1.value,
                batch_size=_number("batch_size", self.batch_size.value),
                seed=_number("seed", self.seed.value),
                log_every=self.log_every or p.train.log_every,
                sample_every=self.sample_every or p.train.sample_every,
            ),
            limits=dict(
                steps=_number("steps", self.steps.value, optional=True),
                time_budget=_number(
                    "time_budget", self.time_budget.value, float, optional=True
                ),
            ),
        )

    def _refuse(self, err: Exception) -> None:
        self.message.value = _error_html("Not started.", str(err))

    # -- running ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def _prepare(self):
        """Check every value, load the data: (state, loader), or None after
        showing why not."""
        if self.running:
            self._refuse(
                RuntimeError(
                    "a run is still going: press Stop or wait for it to finish"
                )
            )
            return None
        try:
            self.state, loader = prepare_run(
                self.plan(), self.device, self.data_root, limit=self.limit
            )
        except (
            ConfigError,
            DatasetError,
        ) as err:  # the batch size check is the loader's
            self._refuse(err)
            return None
        self.message.value = ""
        self.live.start(self.state)
        return self.state, loader

    def train(self) -> Optional[RunRecord]:
        """What the Train button does: check, then train here, in the foreground;
        the new run's record, or None."""
        prepared = self._prepare()
        if prepared is None:
            return None
        self._running = True
        try:
            return self._run(*prepared)
        finally:
            self._running = False

    def stop(self) -> None:
        """What the Stop button does: end the run after the current step
        (``train_gan`` checks the flag)."""
        if self.state is not None:
            self.state.stop_requested = True

    def _run(self, state: GANState, loader) -> RunRecord:
        self.train_button.disabled, self.stop_button.disabled = True, False
        started, error = time.perf_counter(), None
        try:
            with (
                WidgetMessages() as messages,
                _no_tqdm_monitor(),
            ):  # a click on Stop is handled at the next log
                train_gan(
                    state, loader, callbacks=[self.live, messages], progress=False
                )
        except TrainingDiverged as err:
            error = str(err)
        except Exception as err:  # shown in the panel, which a button's traceback would not reach
            error = f"{type(err).__name__}: {err}"
        seconds = time.perf_counter() - started
        name = self.run_name.value.strip() or f"run {len(self.runs) + 1}"
        record = RunRecord(
            name=name,
            model_cfg=state.model_cfg,
            train_cfg=state.train_cfg,
            history={k: list(v) for k, v in state.history.items()},
            last_samples=state.samples[-1][1]
            if state.samples
            else torch.empty(0),
            steps=state.step,
            seconds=seconds,
            interrupted=state.interrupted,
            error=error,
            G=state.G,
        )
        self.runs.append(record)
        if error:
            self.live.progress.bar_style = "danger"
            self.live.redraw(state)
            self.message.value = _error_html("The run failed.", error)
        else:
            self.live.status.value = f"{record.label} in {seconds:.0f} s"
        options = [(r.label, i) for i, r in enumerate(self.runs)]
        self.run_a.options, self.run_b.options = options, options
        self.run_a.value, self.run_b.value = (
            max(0, len(self.runs) - 2),
            len(self.runs) - 1,
        )
        self.train_button.disabled, self.stop_button.disabled = False, True
        self.refresh()
        return record

    def compare(self, a: Optional[int] = None, b: Optional[int] = None) -> bytes:
        """Draw runs ``a`` and ``b`` (indices into ``runs``; default: the dropdowns) into the compare view."""
        if len(self.runs) < 1:
            self.message.value = (
                "<i>Train at least one run (better two) to compare.</i>"
            )
            return b""
        a = self.run_a.value if a is None else a
        b = self.run_b.value if b is None else b
        figure = plot_comparison(
            self.runs[a],
            self.runs[b],
            fig=Figure(figsize=(15, 7), layout="constrained"),
        )
        # 900 pixels wide, as shown
        self.compare_image.value = figure_png(figure, dpi=60)
        self.refresh()
        return bytes(self.compare_image.value)
