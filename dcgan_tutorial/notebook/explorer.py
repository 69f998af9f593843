"""Explore a trained generator's noise space with sliders.

``LatentExplorer`` shows G's images for a batch of noise vectors and lets you move them:
``k`` sliders move every vector along ``k`` fixed orthonormal directions of z (random, from
a seeded generator), and a slider ``t`` interpolates between the noise of two seeds along the
sphere (slerp). Everything is seeded, so the same seeds and slider positions always give the
same image. Needs ``ipywidgets`` (7.7 or later).
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import nn

from ..checkpoint import load_generator
from ..latent import orthonormal_directions, slerp
from ..sample import generate, sample_noise
from ..viz import show_grid
from .live import ShowsWidget, enable_colab
from .runs import grid_png


class LatentExplorer(ShowsWidget):
    """Sliders over the noise z of a generator ``G``; the image grid follows every move.

    z = slerp(z(seed A), z(seed B), t) + sum_i a_i * d_i, for ``n_images`` noise vectors at once,
    where d_i are ``n_directions`` orthonormal directions from ``direction_seed`` and a_i the
    slider positions (in units of the noise's standard deviation).
    """

    def __init__(
        self,
        G: nn.Module,
        n_images: int = 16,
        n_directions: int = 4,
        direction_seed: int = 0,
        seed_a: int = 0,
        seed_b: int = 1,
        span: float = 3.0,
        scale: int = 4,
    ):
        enable_colab()
        self.G = G.eval()
        self.nz, self.n_images, self.scale = G.nz, n_images, scale
        self.device = next(G.parameters()).device
        self.directions = orthonormal_directions(
            self.nz, min(n_directions, self.nz), direction_seed
        )
        self.redraws = 0

        style = {"description_width": "90px"}
        self.seed_a = widgets.BoundedIntText(
            value=seed_a, min=0, max=2**31 - 1, description="seed A", style=style
        )
        self.seed_b = widgets.BoundedIntText(
            value=seed_b, min=0, max=2**31 - 1, description="seed B", style=style
        )
        self.t = widgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.05,
            description="A -> B (t)",
            style=style,
        )
        self.sliders = [
            widgets.FloatSlider(
                value=0.0,
                min=-span,
                max=span,
                step=0.25,
                description=f"direction {i + 1}",
                style=style,
            )
            for i in range(len(self.directions))
        ]
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.image = widgets.Image(format="png")
        self.caption = widgets.Label("")
        self._holding = False
        for control in (self.seed_a, self.seed_b, self.t, *self.sliders):
            control.observe(self.update, names="value")
        self.reset_button.on_click(lambda _: self.reset())
        controls = widgets.VBox(
            [self.seed_a, self.seed_b, self.t, *self.sliders, self.reset_button]
        )
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>Latent explorer</b> (nz = {self.nz})"),
                widgets.HBox(
                    [controls, widgets.VBox([self.image, self.caption])]
                ),
            ]
        )
        self.update()

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, device: torch.device | str = "cpu", **kwargs
    ) -> "LatentExplorer":
        """An explorer of the generator saved in a checkpoint (``load_generator``)."""
        G, _ = load_generator(path, device)
        return cls(G, **kwargs)

    def _text(self) -> str:
        return f"LatentExplorer: nz={self.nz}, {len(self.sliders)} directions"

    def _caption(self) -> str:
        return f"The latent explorer's grid: {self.caption.value}."

    def picture(self) -> bytes:
        """The grid the explorer shows now (PNG)."""
        return bytes(self.image.value)

    def latent(
        self,
        seed_a: Optional[int] = None,
        seed_b: Optional[int] = None,
        t: Optional[float] = None,
        position: Optional[Sequence[float]] = None,
    ) -> torch.Tensor:
        """The noise (n_images, nz, 1, 1) for these settings (default: the sliders')."""
        seed_a = self.seed_a.value if seed_a is None else seed_a
        seed_b = self.seed_b.value if seed_b is None else seed_b
        t = self.t.value if t is None else t
        position = (
            [s.value for s in self.sliders] if position is None else position
        )
        z = slerp(
            sample_noise(self.n_images, self.nz, seed_a),
            sample_noise(self.n_images, self.nz, seed_b),
            t,
        )
        shift = torch.tensor(position, dtype=z.dtype) @ self.directions  # (nz,)
        return z + shift.view(1, -1, 1, 1)

    def images(self, **settings) -> torch.Tensor:
        """G's images (n_images, nc, H, W) in [-1, 1] for these settings (default: the sliders')."""
        return generate(self.G, self.latent(**settings).to(self.device)).cpu()

    def update(self, change=None) -> None:
        """Redraw the grid for the sliders' current values (called on every slider move)."""
        if self._holding:
            return
        self.image.value = grid_png(
            self.images(), nrow=round(math.sqrt(self.n_images)), scale=self.scale
        )
        position = ", ".join(f"{s.value:+.2f}" for s in self.sliders)
        self.caption.value = (
            f"seeds {self.seed_a.value} -> {self.seed_b.value}, t = {self.t.value:.2f}; "
            f"directions ({position})"
        )
        self.redraws += 1

    def reset(self) -> None:
        """All sliders back to 0 (one redraw)."""
        self._holding = True
        try:
            self.t.value = 0.0
            for s in self.sliders:
                s.value = 0.0
        finally:
            self._holding = False
        self.update()

    def plot_sweeps(
        self,
        positions: Sequence[float] = (-3, -2, -1, 0, 1, 2, 3),
        image: int = 0,
        steps: int = 7,
        fig=None,
    ):
        """A static picture of what the sliders do for one image: a row per direction, and a slerp row."""
        rows = []
        for i in range(len(self.directions)):
            coords = [
                [p if j == i else 0.0 for j in range(len(self.directions))]
                for p in positions
            ]
            rows.append(
                (
                    f"direction {i + 1}",
                    [self.images(t=0.0, position=c)[image] for c in coords],
                )
            )
        ts = torch.linspace(0, 1, steps).tolist()
        rows.append(
            (
                f"seed {self.seed_a.value} -> {self.seed_b.value}",
                [
                    self.images(t=t, position=[0.0] * len(self.directions))[image]
                    for t in ts
                ],
            )
        )
        fig = (
            fig
            if fig is not None
            else plt.figure(
                figsize=(
                    1.3 * max(len(positions), steps) + 1.5,
                    1.45 * len(rows) + 0.6,
                ),
                layout="constrained",
            )
        )
        axes = fig.subplots(len(rows), 1)
        for ax, (name, imgs) in zip(axes, rows):
            show_grid(torch.stack(imgs), nrow=len(imgs), ax=ax)
            ax.set_axis_on()
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_ylabel(name, rotation=0, ha="right", va="center")
        axes[0].set_title(
            f"slider positions {', '.join(f'{p:+g}' for p in positions)} (rows 1-{len(rows) - 1}); "
            f"last row: t = 0 to 1"
        )
        return fig
