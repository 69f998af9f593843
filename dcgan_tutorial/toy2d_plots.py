"""Pictures of a 2-D GAN (``toy2d``): D's heat map, real and fake points, G's arrows and warped grid.

A ``Snapshot`` holds what one frame shows, taken with ``snapshot(gan, z)`` while training;
``draw`` puts one on a matplotlib axis and ``animate`` turns lists of them into an animation
that a static web page can play (``IPython.display.HTML(animation_html(anim))``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation

from .toy2d import ToyGAN, d_probability, g_arrows, modes_covered, warped_grid

LIM = 3.0  # the plane shown: [-3, 3]^2 holds all three targets
REAL_COLOUR, FAKE_COLOUR, CMAP = (
    "#00441b",
    "#40004b",
    "PiYG",
)  # green = real, purple = fake, as in GAN Lab
ARROW_EVERY = 4  # an arrow on every 4th fake: all of them hide the points
LAYERS = (
    "heat",
    "real",
    "fake",
    "arrows",
)  # what ``draw`` shows unless told otherwise


@dataclass
class Snapshot:
    """One frame: D's probabilities (n, n) on [-LIM, LIM]^2, the fakes (B, 2), G's arrows
    (B, 2), G's warped noise grid (2 * lines, points, 2), the modes of the ring the fakes cover,
    and a label (e.g. "step 300")."""

    probs: np.ndarray
    fake: np.ndarray
    arrows: np.ndarray
    grid: np.ndarray
    modes: int
    label: str = ""


def snapshot(
    gan: ToyGAN, z: torch.Tensor, label: str = "", n: int = 60
) -> Snapshot:
    """What G and D look like now, for the fixed noise z (B, 2). ``label`` may use
    ``{d_steps}``, ``{g_steps}`` and ``{modes}`` (ring modes covered), e.g. "step {g_steps}"."""
    with torch.no_grad():
        fake = gan.G(z)
    modes = modes_covered(fake)
    return Snapshot(
        probs=d_probability(gan.D, LIM, n)[2].numpy(),
        fake=fake.numpy(),
        arrows=g_arrows(gan.D, fake, gan.loss).numpy(),
        grid=warped_grid(gan.G).numpy(),
        modes=modes,
        label=label.format(d_steps=gan.d_steps, g_steps=gan.g_steps, modes=modes),
    )


def _arrow_field(
    arrows: np.ndarray, length: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """Arrows (B, 2) scaled so the longest in the frame is ``length`` long (only directions and
    relative sizes are comparable within a frame); returns their x and y parts, (B,) each."""
    longest = max(float(np.linalg.norm(arrows, axis=1).max(initial=0.0)), 1e-12)
    scaled = arrows * (length / longest)
    return scaled[:, 0], scaled[:, 1]


def draw(
    ax,
    snap: Snapshot,
    real: Optional[np.ndarray] = None,
    layers: Sequence[str] = LAYERS,
    title: str = "",
) -> dict:
    """Draw ``snap`` on ``ax``: any of "heat" (D's probability of real), "real" (points (N, 2)),
    "fake", "arrows" (G's push on each fake) and "grid" (G's warped noise grid). Returns the
    artists, for ``update``."""
    ax.set_xlim(-LIM, LIM), ax.set_ylim(-LIM, LIM), ax.set_aspect("equal")
    ax.set_xticks([]), ax.set_yticks([])
    artists = {
        "layers": tuple(layers),
        "title": ax.set_title(f"{title}\n{snap.label}".strip(), fontsize=9),
    }
    if "heat" in layers:
        artists["heat"] = ax.imshow(
            snap.probs,
            extent=(-LIM, LIM, -LIM, LIM),
            origin="lower",
            cmap=CMAP,
            vmin=0,
            vmax=1,
            interpolation="bilinear",
            alpha=0.7,
        )
    if "real" in layers and real is not None:
        ax.scatter(
            real[:, 0],
            real[:, 1],
            s=4,
            color=REAL_COLOUR,
            alpha=0.6,
            linewidths=0,
        )
    if "grid" in layers:
        artists["grid"] = [
            ax.plot(
                line[:, 0],
                line[:, 1],
                lw=0.7,
                color="tab:blue" if i < len(snap.grid) // 2 else "tab:orange",
            )[0]
            for i, line in enumerate(snap.grid)
        ]
    if "fake" in layers:
        artists["fake"] = ax.scatter(
            snap.fake[:, 0],
            snap.fake[:, 1],
            s=8,
            color=FAKE_COLOUR,
            edgecolors="white",
            linewidths=0.3,
        )
    if "arrows" in layers:
        u, v = _arrow_field(snap.arrows)
        artists["arrows"] = ax.quiver(
            snap.fake[::ARROW_EVERY, 0],
            snap.fake[::ARROW_EVERY, 1],
            u[::ARROW_EVERY],
            v[::ARROW_EVERY],
            angles="xy",
            scale_units="xy",
            scale=1,
            width=0.004,
            color="black",
            alpha=0.7,
        )
    return artists


def update(artists: dict, snap: Snapshot, title: str = "") -> None:
    """Show ``snap`` in artists made by ``draw`` (same layers)."""
    artists["title"].set_text(f"{title}\n{snap.label}".strip())
    if "heat" in artists:
        artists["heat"].set_data(snap.probs)
    if "grid" in artists:
        for line, points in zip(artists["grid"], snap.grid):
            line.set_data(points[:, 0], points[:, 1])
    if "fake" in artists:
        artists["fake"].set_offsets(snap.fake)
    if "arrows" in artists:
        u, v = _arrow_field(snap.arrows)
        artists["arrows"].set_offsets(snap.fake[::ARROW_EVERY])
        artists["arrows"].set_UVC(u[::ARROW_EVERY], v[::ARROW_EVERY])


def animate(
    panels: dict[str, Sequence[Snapshot]],
    real: Optional[np.ndarray] = None,
    layers: Sequence[str] = LAYERS,
    size: float = 3.6,
    dpi: int = 80,
    interval: int = 200,
) -> animation.FuncAnimation:
    """An animation with one panel per entry of ``panels`` (title -> frames, all of the same
    length); show it with ``IPython.display.HTML(animation_html(anim))``."""
    frames = [list(p) for p in panels.values()]
    if not frames or len({len(f) for f in frames}) != 1 or not frames[0]:
        raise ValueError(
            "every panel needs the same, non-zero number of snapshots"
        )
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(size * len(panels), size + 0.3),
        dpi=dpi,
        squeeze=False,
    )
    titles = list(panels)
    artists = [
        draw(ax, f[0], real, layers, t)
        for ax, f, t in zip(axes[0], frames, titles)
    ]
    fig.tight_layout()

    def show(i: int):
        for a, f, t in zip(artists, frames, titles):
            update(a, f[i], t)

    anim = animation.FuncAnimation(
        fig, show, frames=len(frames[0]), interval=interval, blit=False
    )
    plt.close(fig)
    return anim


def animation_html(anim: animation.FuncAnimation, quality: int = 60) -> str:
    """The animation as self-contained HTML (player and frames), for ``IPython.display.HTML``:
    what ``anim.to_jshtml()`` returns, with JPEG frames of the given quality, about a third of the
    size of PNG frames for these smooth heat maps."""
    with (
        TemporaryDirectory() as tmp,
        matplotlib.rc_context({"animation.frame_format": "jpeg"}),
    ):
        path = Path(tmp, "animation.html")
        writer = animation.HTMLWriter(
            fps=1000 / getattr(anim, "_interval", 200),
            embed_frames=True,
            default_mode="loop",
        )
        anim.save(
            str(path),
            writer=writer,
            savefig_kwargs={"pil_kwargs": {"quality": quality}},
        )
        return path.read_text()


def plot_targets(samples: dict[str, np.ndarray], size: float = 2.8):
    """One scatter panel per target (name -> points (N, 2)); returns the figure."""
    fig, axes = plt.subplots(
        1, len(samples), figsize=(size * len(samples), size), squeeze=False
    )
    for ax, (name, points) in zip(axes[0], samples.items()):
        ax.scatter(
            points[:, 0],
            points[:, 1],
            s=3,
            color=REAL_COLOUR,
            alpha=0.5,
            linewidths=0,
        )
        (
            ax.set_xlim(-LIM, LIM),
            ax.set_ylim(-LIM, LIM),
            ax.set_aspect("equal"),
            ax.set_title(name),
        )
    fig.tight_layout()
    return fig
