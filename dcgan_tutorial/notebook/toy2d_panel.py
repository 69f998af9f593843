"""A panel to play the 2-D GAN game by hand: pick a target, step D, step G, or both N times.

Works with ipywidgets 7 (Colab) and 8: it uses only Button, Dropdown, BoundedIntText, HTML,
Image and VBox/HBox, and every update runs in the button's callback, on the main thread.
A cell that ends with the panel shows its widget where a kernel runs and its current picture in
the book's web page (``ShowsWidget``).
"""

from __future__ import annotations

import io
from typing import Optional

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from ..toy2d import TARGETS, ToyGAN, make_toy_gan, sample_target, step
from ..toy2d_plots import LAYERS, draw, snapshot
from .live import ShowsWidget, enable_colab


class Toy2DPanel(ShowsWidget):
    """Buttons around one ``ToyGAN``: "step D", "step G", "step both x N", "reset" and a
    dropdown for the target (changing it starts a fresh G and D). ``seed`` fixes the
    initial weights, the noise shown (``z``) and the training stream, so a reset replays."""

    def __init__(
        self,
        target: str = "ring",
        loss: str = "non-saturating",
        lr_d: float = 1e-3,
        lr_g: float = 1e-3,
        n_fakes: int = 512,
        n_both: int = 50,
        seed: int = 0,
    ):
        enable_colab()
        self.loss, self.lr_d, self.lr_g, self.n_fakes, self.seed = (
            loss,
            lr_d,
            lr_g,
            n_fakes,
            seed,
        )
        self.gan: Optional[ToyGAN] = None
        self.target = widgets.Dropdown(
            options=list(TARGETS), value=target, description="target"
        )
        self.step_d_button = widgets.Button(
            description="step D", tooltip="one step of D only"
        )
        self.step_g_button = widgets.Button(
            description="step G", tooltip="one step of G only"
        )
        self.n_steps = widgets.BoundedIntText(
            value=n_both, min=1, max=5000, description="N"
        )
        self.step_both_button = widgets.Button(
            description="step both x N", tooltip="N steps of D then G"
        )
        self.reset_button = widgets.Button(
            description="reset", tooltip="fresh G and D"
        )
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.step_d_button.on_click(lambda _: self.step("d"))
        self.step_g_button.on_click(lambda _: self.step("g"))
        self.step_both_button.on_click(
            lambda _: self.step("both", self.n_steps.value)
        )
        self.reset_button.on_click(lambda _: self.reset())
        self.target.observe(lambda _: self.reset(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.target, self.reset_button]),
                widgets.HBox(
                    [
                        self.step_d_button,
                        self.step_g_button,
                        self.n_steps,
                        self.step_both_button,
                    ]
                ),
                self.status,
                self.image,
            ]
        )
        self.reset()

    def _caption(self) -> str:
        return (
            f"The 2-D GAN panel on the {self.target.value}: step D, step G, or both N times, "
            f"and watch D's map, the fakes and G's arrows."
        )

    def picture(self) -> bytes:
        """What the panel shows now (PNG)."""
        return bytes(self.image.value)

    def reset(self) -> None:
        """A fresh G and D for the chosen target, with the panel's seed."""
        torch.manual_seed(self.seed)
        self.gan = make_toy_gan(
            self.target.value,
            self.loss,
            self.lr_d,
            self.lr_g,
            generator=torch.Generator().manual_seed(self.seed + 1),
        )
        self.z = torch.randn(
            self.n_fakes,
            2,
            generator=torch.Generator().manual_seed(self.seed + 2),
        )
        self.real = sample_target(
            self.target.value, 1000, torch.Generator().manual_seed(self.seed + 3)
        ).numpy()
        self.last: dict[str, float] = {}
        self.redraw()

    def step(self, players: str, n: int = 1) -> None:
        """``n`` steps of ``players`` ("d", "g" or "both"), then one redraw."""
        for _ in range(n):
            self.last = step(self.gan, players)
        self.redraw()

    def redraw(self) -> None:
        """Draw D's heat map, the real and fake points and G's arrows into the panel's image."""
        snap = snapshot(self.gan, self.z)
        fig, ax = plt.subplots(figsize=(4.5, 4.7), dpi=80)
        draw(
            ax,
            snap,
            self.real,
            LAYERS,
            title=f"{self.target.value}: D steps {self.gan.d_steps}, G steps {self.gan.g_steps}",
        )
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(fig)
        self.image.value = buffer.getvalue()
        losses = (
            ", ".join(f"{k} {v:.3f}" for k, v in self.last.items())
            or "no step yet"
        )
        ring = (
            f", ring modes covered {snap.modes} of 8"
            if self.target.value == "ring"
            else ""
        )
        self.status.value = f"last step: {losses}{ring}"
