"""Finished runs and their pictures: what the training panel keeps, and figures comparing two runs.

``RunRecord`` holds one run's settings, curves, last fixed-noise grid and generator.
``plot_run`` and ``plot_comparison`` draw on a pyplot figure (a notebook's ``plt.show()``) or
on a given ``matplotlib.figure.Figure``; the ``*_png`` helpers turn pictures into PNG bytes
for ``ipywidgets.Image`` without pyplot, so they are safe in a background thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torchvision.transforms.functional import to_pil_image

from ..config import ModelConfig, TrainConfig
from ..viz import image_grid, plot_d_outputs, plot_losses, show_grid, smooth

# --- pictures as PNG bytes (for ipywidgets.Image; no pyplot, so safe in a thread) ---------


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes (``dpi`` pixels per inch of the figure's size)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def grid_png(images: torch.Tensor, nrow: int = 8, scale: int = 3) -> bytes:
    """``images`` (B, nc, H, W), uint8 or float in [-1, 1], as one PNG grid enlarged ``scale`` times."""
    picture = to_pil_image(image_grid(images, nrow))
    # 0: nearest
    picture = picture.resize(
        (picture.width * scale, picture.height * scale), resample=0
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="png")
    return buffer.getvalue()


def curves_png(history: dict, title: str = "") -> bytes:
    """The losses and D's outputs of ``history`` side by side, as PNG."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    plot_losses(history, ax1)
    plot_d_outputs(history, ax2)
    if title:
        fig.suptitle(title)
    return figure_png(fig)


# --- a finished run, and figures of one run or two -----------------------------------------


@dataclass
class RunRecord:
    """One finished run: its settings, its curves, its last fixed-noise grid and its generator."""

    name: str
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    history: (
        dict  # step, d_loss, g_loss, d_real, d_fake: lists, one value per step
    )
    # uint8 (n_fixed, nc, H, W): G(fixed_z) at the last step
    last_samples: torch.Tensor
    steps: int
    seconds: float
    interrupted: bool = False
    # why the run failed (e.g. it diverged), else None
    error: Optional[str] = None
    G: Optional[torch.nn.Module] = None

    @property
    def label(self) -> str:
        end = (
            " (stopped)"
            if self.interrupted
            else " (failed)"
            if self.error
            else ""
        )
        return f"{self.name}: {self.steps} steps{end}"

    def settings(self) -> str:
        t, m = self.train_cfg, self.model_cfg
        return (
            f"lr_g {t.lr_g:.0e}, lr_d {t.lr_d:.0e}, beta1 {t.beta1}, batch {t.batch_size}, nz {m.nz}, "
            f"width {m.ngf}, {t.loss}"
        )


def plot_run(run: RunRecord, fig=None):
    """Losses, D's outputs and the last grid of one run. ``fig``: a Figure to draw on (default: a new pyplot one)."""
    fig = (
        fig
        if fig is not None
        else plt.figure(figsize=(15, 3.9), layout="constrained")
    )
    axes = fig.subplots(1, 3, width_ratios=[1.3, 1.3, 1])
    plot_losses(run.history, axes[0])
    plot_d_outputs(run.history, axes[1])
    show_grid(
        run.last_samples, title=f"G(fixed_z) at step {run.steps}", ax=axes[2]
    )
    fig.suptitle(f"{run.label}\n{run.settings()}")
    return fig


def plot_comparison(
    run_a: RunRecord, run_b: RunRecord, fig=None, window: int = 25
):
    """D loss, G loss, D(x), D(G(z)) of two runs on shared axes, and each run's last grid."""
    fig = (
        fig
        if fig is not None
        else plt.figure(figsize=(15, 7), layout="constrained")
    )
    axes = fig.subplots(2, 3, width_ratios=[1.2, 1.2, 1])
    panels = [
        ("d_loss", "D loss", axes[0, 0]),
        ("g_loss", "G loss", axes[0, 1]),
        ("d_real", "D(x) on real images", axes[1, 0]),
        ("d_fake", "D(G(z)) on fakes", axes[1, 1]),
    ]
    for key, title, ax in panels:
        means = []
        for run, color in ((run_a, "tab:blue"), (run_b, "tab:orange")):
            h = run.history
            means.append(smooth(h[key], window))
            ax.plot(h["step"], h[key], color=color, alpha=0.2, linewidth=0.8)
            ax.plot(h["step"], means[-1], color=color, label=run.name)
        if key in ("d_real", "d_fake"):
            ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
            ax.set_ylim(0, 1)
        elif all(
            len(m) for m in means
        ):  # scale to the running means: single-step spikes go off the top
            low, high = (
                min(min(m.min(), 0.0) for m in means),
                max(m.max() for m in means),
            )
            ax.set_ylim(low - 0.1 * (high - low), high + 0.25 * (high - low))
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(
            "probability 'real'" if key in ("d_real", "d_fake") else "loss"
        )
        ax.legend()
    show_grid(
        run_a.last_samples,
        title=f"{run_a.name}, step {run_a.steps}",
        ax=axes[0, 2],
    )
    show_grid(
        run_b.last_samples,
        title=f"{run_b.name}, step {run_b.steps}",
        ax=axes[1, 2],
    )
    fig.suptitle(
        f"{run_a.name} (blue): {run_a.settings()}\n{run_b.name} (orange): {run_b.settings()}\n"
        f"faint: every step; solid: running mean over {window} steps",
        fontsize=11,
    )
    return fig
