"""Pictures: sample grids, training curves, and an animation of the fixed-noise grids."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from .runfolder import write_atomically

if TYPE_CHECKING:  # the notebook's display; imported where show_code runs
    from IPython.display import Markdown


def image_grid(images: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """A (3, H', W') grid of ``images``; float in [-1, 1] or uint8 in [0, 255]."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    else:
        images = (images.float() + 1.0) / 2.0
    return make_grid(images.clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)


def show_grid(
    images: torch.Tensor, nrow: int = 8, title: Optional[str] = None, ax=None
):
    """Show ``images`` (B, nc, H, W) as one grid on ``ax`` (a new figure if None). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(
        image_grid(images, nrow).permute(1, 2, 0).numpy(), interpolation="nearest"
    )
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def smooth(values: Sequence[float], window: int = 25) -> np.ndarray:
    """Running mean over ``window`` points (same length as ``values``), to read noisy GAN curves."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0 or window <= 1:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def plot_losses(history: dict, ax=None, window: int = 25):
    """D loss and G loss against step (faint: every step; solid: running mean)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key, label, color in (
        ("d_loss", "D loss", "tab:blue"),
        ("g_loss", "G loss", "tab:orange"),
    ):
        ax.plot(
            history["step"], history[key], color=color, alpha=0.25, linewidth=0.8
        )
        ax.plot(
            history["step"],
            smooth(history[key], window),
            color=color,
            label=label,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Losses")
    ax.legend()
    return ax


def plot_d_outputs(history: dict, ax=None, window: int = 25):
    """D(x) on real images and D(G(z)) on fakes against step; 0.5 is where D cannot tell."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key, label, color in (
        ("d_real", "D(x)", "tab:green"),
        ("d_fake", "D(G(z))", "tab:red"),
    ):
        ax.plot(
            history["step"], history[key], color=color, alpha=0.25, linewidth=0.8
        )
        ax.plot(
            history["step"],
            smooth(history[key], window),
            color=color,
            label=label,
        )
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.set_ylabel("D's output (probability 'real')")
    ax.set_title("D's outputs")
    ax.legend()
    return ax


def plot_history(history: dict, window: int = 25):
    """Losses and D's outputs side by side. Returns the figure."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    plot_losses(history, ax1, window)
    plot_d_outputs(history, ax2, window)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure as PNG and close it (a full disk: ``DiskFullError``, no half-written file)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return write_atomically(path, buffer.getbuffer(), fsync=False)


def save_gif(
    samples: Sequence[tuple[int, torch.Tensor]],
    path: str | os.PathLike,
    nrow: int = 8,
    ms_per_frame: int = 300,
) -> Path:
    """An animated GIF of the fixed-noise grids ``[(step, images), ...]`` kept during training."""
    if not samples:
        raise ValueError(
            "no samples to animate: train first (train_gan keeps them in state.samples)"
        )
    frames = [to_pil_image(image_grid(images, nrow)) for _, images in samples]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=ms_per_frame,
        loop=0,
    )
    return write_atomically(path, buffer.getbuffer(), fsync=False)


def animate_samples(
    samples: Sequence[tuple[int, torch.Tensor]],
    nrow: int = 8,
    interval: int = 300,
):
    """A matplotlib animation of the fixed-noise grids; in a notebook show it with
    ``IPython.display.HTML(anim.to_jshtml())``."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.set_axis_off()
    shown = ax.imshow(
        image_grid(samples[0][1], nrow).permute(1, 2, 0).numpy(),
        interpolation="nearest",
    )
    title = ax.set_title(f"step {samples[0][0]}")

    def update(i):
        step, images = samples[i]
        shown.set_data(image_grid(images, nrow).permute(1, 2, 0).numpy())
        title.set_text(f"step {step}")
        return shown, title

    anim = animation.FuncAnimation(
        fig, update, frames=len(samples), interval=interval, blit=False
    )
    plt.close(fig)
    return anim


def use_headless_backend() -> None:
    """Draw without a screen (CLI, tests)."""
    matplotlib.use("Agg")


def show_code(obj) -> Markdown:
    """The package's real source of ``obj`` (a function or class), for a chapter to display.

    The book's tests compare what a chapter shows with the source of the installed package,
    so a chapter can never drift from the code it teaches.
    """
    import inspect

    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")
