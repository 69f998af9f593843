"""Sampling: the one home of "images from G": ``generate``, the noise, the labels, the files.

Training (its fixed-noise grids), the metrics, the latent explorer and the CLI all draw
images through ``generate``, so evaluation mode and class labels are handled in one place.
``write_samples`` streams any number of images to files a batch at a time.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import torch
from torch import nn
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import save_image

from . import distributed
from .config import ConfigError
from .data.pixels import unscale_images
from .interrupt import StopOnSignal
from .models import class_labels, n_classes_of
from .runfolder import write_atomically


@torch.no_grad()
def generate(
    G: nn.Module, z: torch.Tensor, labels: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """G(z) in evaluation mode (BatchNorm uses its running statistics), without gradients.

    labels: (B,) the classes to draw, for a conditional G only.
    """
    G = distributed.unwrap(G)  # sample without DDP's collective calls
    was_training = G.training
    G.eval()
    try:
        return G(z) if labels is None else G(z, labels)
    finally:
        G.train(was_training)


def sample_noise(n: int, nz: int, seed: int) -> torch.Tensor:
    """``n`` noise vectors (n, nz, 1, 1) from their own generator: the same seed gives the same z anywhere."""
    return torch.randn(n, nz, 1, 1, generator=torch.Generator().manual_seed(seed))


def sample_labels(
    G: nn.Module, n: int, class_index: Optional[int] = None
) -> Optional[torch.Tensor]:
    """The classes to ask a conditional G for: all ``class_index``, or every class in turn (rows of a grid).

    None for an unconditional G; asking one for a class is a ``ConfigError``.
    """
    n_classes = n_classes_of(G)
    if not n_classes:
        if class_index is not None:
            raise ConfigError(
                "class",
                class_index,
                "this generator is not conditional: only a model trained with "
                "a conditional preset (cond-mnist, class) can draw a chosen class",
            )
        return None
    if class_index is None:
        # the first n / n_classes images are class 0, and so on
        return class_labels(n, n_classes)
    if (
        isinstance(class_index, bool)
        or not isinstance(class_index, int)
        or not 0 <= class_index < n_classes
    ):
        raise ConfigError(
            "class", class_index, f"use a class number from 0 to {n_classes - 1}"
        )
    return torch.full((n,), class_index, dtype=torch.long)


def sample_images(
    G: nn.Module, n: int, seed: int = 0, class_index: Optional[int] = None
) -> torch.Tensor:
    """``n`` images from G, (n, nc, H, W) in [-1, 1], on G's device.

    A conditional G draws class ``class_index``, or every class in equal blocks when it is None.
    """
    device = next(G.parameters()).device
    labels = sample_labels(G, n, class_index)
    return generate(
        G,
        sample_noise(n, G.nz, seed).to(device),
        None if labels is None else labels.to(device),
    )


GRID_MAX = 100  # the grid shows at most 10 x 10 images (readable at page width); the files hold all of them
SAMPLE_BATCH = 256  # images drawn and written at a time: a multiple of 16, so the noise equals one draw of all


def grid_picks(n: int) -> list[int]:
    """Which of ``n`` images the grid shows: all of them up to ``GRID_MAX``, else ``GRID_MAX`` evenly spaced
    (so a conditional model's class blocks each get their share of the grid)."""
    k = min(n, GRID_MAX)
    return [i * n // k for i in range(k)]


# each file is made in memory and written whole (runfolder.write_atomically): a full
# disk is one clear DiskFullError and never leaves a half-written PNG
def _write_images(
    pixels: torch.Tensor, image_dir: Path, start: int, width: int
) -> list[Path]:
    paths = []
    for i, img in enumerate(pixels, start):
        buffer = io.BytesIO()
        # (1, H, W) uint8 -> greyscale PNG, (3, H, W) -> RGB
        to_pil_image(img).save(buffer, format="png")
        path = image_dir / f"sample_{i:0{width}d}.png"
        paths.append(write_atomically(path, buffer.getbuffer(), fsync=False))
    return paths


def _write_grid(images: torch.Tensor, path: Path, nrow: int | None) -> Path:
    nrow = nrow or max(1, round(len(images) ** 0.5))
    buffer = io.BytesIO()
    save_image(
        images.cpu(),
        buffer,
        format="png",
        nrow=nrow,
        normalize=True,
        value_range=(-1, 1),
        padding=2,
    )
    return write_atomically(path, buffer.getbuffer(), fsync=False)


def save_samples(
    images: torch.Tensor, out_dir: str | os.PathLike, nrow: int | None = None
) -> list[Path]:
    """Write each image as ``out_dir/images/sample_0000.png`` (grey stays grey) and ``out_dir/grid.png``.

    images: (N, nc, H, W) in [-1, 1]. The grid shows at most ``GRID_MAX`` of them (``grid_picks``).
    Returns the paths of the single-image files.
    """
    return _write_files([images], len(images), out_dir, nrow)[0]


@dataclass
class SampleFiles:
    """What ``write_samples`` wrote: ``written`` image files in ``image_dir``, a grid of ``in_grid`` of them."""

    image_dir: Path
    grid: Optional[Path]  # None when stopped before the first image
    written: int
    in_grid: int
    # Ctrl-C (or SIGTERM, SIGHUP) stopped it after a complete batch
    interrupted: bool
    asked: int = 0  # the number of images asked for
    stop_signal: Optional[int] = None  # the signal that stopped it, if one did

    def describe(self, what: str = "") -> str:
        """One line for the person who asked: how many images (``what`` says of which class, from what), where."""
        stopped = (
            f"stopped by request after {self.written} of {self.asked} images: "
            if self.interrupted
            else ""
        )
        grid = (
            f" and the grid {self.grid} ({self.in_grid} of them)"
            if self.grid
            else ""
        )
        return f"{stopped}wrote {self.written} images{what} to {self.image_dir}/{grid}"


def write_samples(
    G: nn.Module,
    n: int,
    out_dir: str | os.PathLike,
    seed: int = 0,
    class_index: Optional[int] = None,
    batch_size: int = SAMPLE_BATCH,
    nrow: Optional[int] = None,
) -> SampleFiles:
    """``n`` images from G as ``out_dir/images/sample_*.png``, and ``out_dir/grid.png``.

    The grid shows at most ``GRID_MAX`` of them.

    Draws and writes ``batch_size`` images at a time, so memory does not grow with ``n``; the same
    seed gives the same images as ``sample_images``. Ctrl-C (or SIGTERM, SIGHUP) stops after the
    current batch: every file written is complete. A conditional G draws class ``class_index``, or
    every class in turn (the grid then has a row per class, unless ``nrow`` says otherwise).
    """
    # a bad class is an error before anything is written
    sample_labels(G, 1, class_index)
    n_classes, device = n_classes_of(G), next(G.parameters()).device
    noise = torch.Generator().manual_seed(seed)

    def batches(signals: StopOnSignal):
        for start in range(0, n, batch_size):
            if signals.requested:  # every file written so far is complete
                return
            stop = min(n, start + batch_size)
            # sample_noise, a batch at a time
            z = torch.randn(stop - start, G.nz, 1, 1, generator=noise).to(device)
            labels = None
            if n_classes:  # class_labels(n, n_classes)[start:stop], or the one class asked for
                labels = (
                    (
                        torch.full((stop - start,), class_index)
                        if class_index is not None
                        else torch.arange(start, stop) * n_classes // n
                    )
                    .long()
                    .to(device)
                )
            yield generate(G, z, labels).cpu()

    with StopOnSignal() as signals:
        paths, grid, in_grid = _write_files(
            batches(signals),
            n,
            out_dir,
            nrow or (n_classes if class_index is None else None),
        )
    written = len(paths)
    # a signal after the last batch has nothing left to stop
    signum = signals.signum if written < n else None
    return SampleFiles(
        Path(out_dir) / "images", grid, written, in_grid, written < n, n, signum
    )


def _write_files(
    batches: Iterable[torch.Tensor],
    n: int,
    out_dir: str | os.PathLike,
    nrow: Optional[int],
) -> tuple[list[Path], Optional[Path], int]:
    """The one writer of sample files: batches of images in [-1, 1] to ``images/sample_*.png``, then the grid.

    ``n``: the images asked for (the batches may stop early). Returns (the image files, the grid
    or None when no image was written, the number of images in the grid).
    """
    image_dir = Path(out_dir) / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    width, picks, picked, paths = max(4, len(str(n - 1))), grid_picks(n), [], []
    for images in batches:
        start, stop = len(paths), len(paths) + len(images)
        paths += _write_images(
            unscale_images(images).cpu(), image_dir, start, width
        )
        picked += [
            images[i - start].clone() for i in picks[len(picked) :] if i < stop
        ]  # not the batch
    grid = (
        _write_grid(torch.stack(picked), Path(out_dir) / "grid.png", nrow)
        if picked
        else None
    )
    return paths, grid, len(picked)
