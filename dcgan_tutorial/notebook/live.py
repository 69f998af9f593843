"""What every notebook view shares: Colab's widgets, a widget that is also a picture, live plots.

``ShowsWidget`` shows a view as its widget where a kernel runs, and as a picture of what the
widget drew (with a sentence saying the controls work when the notebook runs) where none
does: the book's web page, GitHub. ``LivePlots`` is an ordinary ``Callback`` that redraws a
progress bar, the curves and the fixed-noise grid as ``train_gan`` runs. Works with
ipywidgets 7 (which Colab ships) and 8.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from typing import Optional
from uuid import uuid4

import ipywidgets as widgets
import torch
from PIL import Image

from ..callbacks import Callback
from ..state import GANState
from .runs import curves_png, grid_png

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LIVE_SENTENCE = (
    "Its controls work when the notebook runs: open this chapter in Colab (the rocket button at the "
    "top of the page) or in Jupyter."
)


def enable_colab() -> bool:
    """In Google Colab with ipywidgets 8 or later, switch on Colab's widget manager; elsewhere do nothing.

    Colab ships ipywidgets 7, which it shows itself; only a later ipywidgets needs the manager.
    """
    try:
        from google.colab import output  # only importable inside Colab
    except ImportError:
        return False
    if int(widgets.__version__.split(".")[0]) >= 8:
        output.enable_custom_widget_manager()
    return True


def stack_pngs(
    rows: list[list[bytes]], height: Optional[int] = None, gap: int = 8
) -> bytes:
    """PNG pictures placed in rows (each row scaled to ``height``, or to its first picture's) as one PNG."""
    placed = []
    for row in rows:
        images = [
            Image.open(io.BytesIO(png)).convert("RGB") for png in row if png
        ]
        if not images:
            continue
        h = height or images[0].height
        placed.append(
            [
                im.resize(
                    (max(1, round(im.width * h / im.height)), h),
                    resample=Image.NEAREST,
                )
                if im.height != h
                else im
                for im in images
            ]
        )
    if not placed:
        return b""
    width = max(
        sum(im.width for im in row) + gap * (len(row) - 1) for row in placed
    )
    total = sum(row[0].height for row in placed) + gap * (len(placed) - 1)
    canvas, y = Image.new("RGB", (width, total), "white"), 0
    for row in placed:
        x = 0
        for im in row:
            canvas.paste(im, (x, y))
            x += im.width + gap
        y += row[0].height + gap
    buffer = io.BytesIO()
    # a palette: a third of the bytes
    canvas.quantize(colors=256).save(buffer, format="png", optimize=True)
    return buffer.getvalue()


class ShowsWidget:
    """A view shown in a notebook as its ``widget``, and as a picture where no kernel runs.

    Subclasses give ``widget``, ``picture()`` (PNG bytes of what the widget shows now, or b"")
    and ``_caption()``. Displaying the view (the last expression of a cell) sends one output
    holding the widget view, an HTML figure of the picture with a sentence saying the controls
    work when the notebook runs, and a text line: Jupyter and Colab draw the widget, the book's
    web page (``_config.yml`` ranks HTML before widget views) and GitHub the figure.
    ``refresh()`` redraws the figure of every output that showed the view (it is called when a
    run ends), so the stored notebook holds the view's final picture.
    """

    widget: widgets.Widget

    def picture(self) -> bytes:
        return b""

    def _caption(self) -> str:
        return type(self).__name__

    def _text(self) -> str:
        return f"{type(self).__name__}: open this notebook in Jupyter or Colab to use it"

    def _figure_html(self) -> str:
        png = self.picture()
        caption = f"{html.escape(self._caption())} {LIVE_SENTENCE}"
        if not png:
            return f'<p class="dcgan-widget-picture"><i>{caption}</i></p>'
        data = base64.b64encode(png).decode("ascii")
        return (
            f'<figure class="dcgan-widget-picture"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(self._caption(), quote=True)}" style="max-width:100%">'
            f"<figcaption>{caption}</figcaption></figure>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = {"text/plain": self._text(), "text/html": self._figure_html()}
        if (
            getattr(self.widget, "_view_name", None) is not None
        ):  # ipywidgets 7 and 8 write the same view
            bundle[WIDGET_VIEW] = {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            }
        return bundle

    def _ipython_display_(self):
        from IPython.display import display

        if not hasattr(self, "_display_id"):
            self._display_id = uuid4().hex
        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)

    def refresh(self) -> None:
        """Redraw the picture in every output that showed this view (nothing if none did)."""
        if hasattr(self, "_display_id"):
            from IPython.display import update_display

            update_display(
                self._repr_mimebundle_(), raw=True, display_id=self._display_id
            )


class LivePlots(Callback):
    """Watch ``train_gan`` in widgets: a progress bar, the curves and the
    fixed-noise grid.

    The loop calls ``on_log`` every ``log_every`` steps and ``on_sample`` with
    every new grid. The curves are redrawn at most once every ``redraw_every``
    seconds (a redraw costs about as much as a few training steps), and always at
    the end.
    """

    def __init__(self, redraw_every: float = 1.0):
        self.redraw_every = redraw_every
        self.progress = widgets.IntProgress(
            min=0, max=1000, value=0, description="progress"
        )
        self.status = widgets.Label("not started")
        self.curves = widgets.Image(
            format="png", layout=widgets.Layout(width="800px")
        )
        self.samples = widgets.Image(
            format="png", layout=widgets.Layout(width="260px")
        )
        self.redraws = 0  # curve redraws so far (all runs)
        self.started = self.last_redraw = 0.0

    def start(self, state: GANState) -> None:
        """Reset the view for a new run (called before ``train_gan``)."""
        self.started, self.last_redraw = time.perf_counter(), -math.inf
        self.progress.value, self.progress.bar_style = 0, "info"
        self.status.value = "starting"

    def on_log(self, state: GANState, records: dict) -> None:
        cfg, elapsed = state.train_cfg, time.perf_counter() - self.started
        done = [
            state.step / cfg.steps if cfg.steps else 0.0,
            elapsed / cfg.time_budget if cfg.time_budget else 0.0,
        ]
        self.progress.value = min(1000, int(1000 * max(done)))
        h = state.history
        self.status.value = (
            f"step {state.step}"
            + (f" / {cfg.steps}" if cfg.steps else "")
            + f", {elapsed:.0f} s: "
            f"D loss {h['d_loss'][-1]:.3f}, G loss {h['g_loss'][-1]:.3f}, "
            f"D(x) {h['d_real'][-1]:.2f}, D(G(z)) {h['d_fake'][-1]:.2f}"
        )
        if time.perf_counter() - self.last_redraw >= self.redraw_every:
            self.redraw(state)

    def on_sample(self, state: GANState, images: torch.Tensor) -> None:
        self.samples.value = grid_png(images)

    def on_train_end(self, state: GANState) -> None:
        self.progress.value, self.progress.bar_style = (
            1000,
            "warning" if state.interrupted else "success",
        )
        self.redraw(state)

    def redraw(self, state: GANState) -> None:
        if state.history["step"]:
            self.curves.value = curves_png(state.history, f"step {state.step}")
            self.redraws += 1
        self.last_redraw = time.perf_counter()
