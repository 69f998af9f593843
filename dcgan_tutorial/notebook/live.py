"""What every notebook view shares: Colab's widget manager, a widget with a text fallback, live plots.

``LivePlots`` is an ordinary ``Callback`` that redraws a progress bar, the curves and the
fixed-noise grid as ``train_gan`` runs.
"""
from __future__ import annotations

import math
import time

import ipywidgets as widgets
import torch

from ..callbacks import Callback
from ..train import GANState
from .runs import curves_png, grid_png


def enable_colab() -> bool:
    """In Google Colab, switch on the widget manager that ipywidgets 8 needs; elsewhere do nothing."""
    try:
        from google.colab import output  # only importable inside Colab
    except ImportError:
        return False
    output.enable_custom_widget_manager()
    return True


class LivePlots(Callback):
    """Watch ``train_gan`` in widgets: a progress bar, the curves and the fixed-noise grid.

    The loop calls ``on_log`` every ``log_every`` steps and ``on_sample`` with every new grid.
    The curves are redrawn at most once every ``redraw_every`` seconds (a redraw costs
    about as much as a few training steps), and always at the end.
    """

    def __init__(self, redraw_every: float = 1.0):
        self.redraw_every = redraw_every
        self.progress = widgets.IntProgress(min=0, max=1000, value=0, description="progress")
        self.status = widgets.Label("not started")
        self.curves = widgets.Image(format="png", layout=widgets.Layout(width="800px"))
        self.samples = widgets.Image(format="png", layout=widgets.Layout(width="260px"))
        self.redraws = 0  # curve redraws so far (all runs)
        self.started = self.last_redraw = 0.0

    def start(self, state: GANState) -> None:
        """Reset the view for a new run (called before ``train_gan``)."""
        self.started, self.last_redraw = time.perf_counter(), -math.inf
        self.progress.value, self.progress.bar_style = 0, "info"
        self.status.value = "starting"

    def on_log(self, state: GANState, records: dict) -> None:
        cfg, elapsed = state.train_cfg, time.perf_counter() - self.started
        done = [state.step / cfg.steps if cfg.steps else 0.0, elapsed / cfg.time_budget if cfg.time_budget else 0.0]
        self.progress.value = min(1000, int(1000 * max(done)))
        h = state.history
        self.status.value = (f"step {state.step}" + (f" / {cfg.steps}" if cfg.steps else "") + f", {elapsed:.0f} s: "
                             f"D loss {h['d_loss'][-1]:.3f}, G loss {h['g_loss'][-1]:.3f}, "
                             f"D(x) {h['d_real'][-1]:.2f}, D(G(z)) {h['d_fake'][-1]:.2f}")
        if time.perf_counter() - self.last_redraw >= self.redraw_every:
            self.redraw(state)

    def on_sample(self, state: GANState, images: torch.Tensor) -> None:
        self.samples.value = grid_png(images)

    def on_train_end(self, state: GANState) -> None:
        self.progress.value, self.progress.bar_style = 1000, "warning" if state.interrupted else "success"
        self.redraw(state)

    def redraw(self, state: GANState) -> None:
        if state.history["step"]:
            self.curves.value = curves_png(state.history, f"step {state.step}")
            self.redraws += 1
        self.last_redraw = time.perf_counter()


class ShowsWidget:
    """Shown in a notebook as its ``widget``; ``_text()`` is the plain-text fallback where widgets cannot run."""

    widget: widgets.Widget

    def _text(self) -> str:
        return type(self).__name__

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self._text()
        return bundle

    if not hasattr(widgets.Widget, "_repr_mimebundle_"):  # ipywidgets 7 (still Colab's default) displays itself
        def _ipython_display_(self):
            from IPython.display import display

            display(self.widget)
