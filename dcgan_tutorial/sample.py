"""Sampling: the one home of "images from G": ``generate``, the noise, the labels, the files.

Training (its fixed-noise grids), the metrics, the latent explorer and the CLI all draw
images through ``generate``, so evaluation mode and class labels are handled in one place.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import save_image

from . import distributed
from .config import ConfigError
from .data.pixels import unscale_images
from .models import class_labels, n_classes_of


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
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


def sample_labels(G: nn.Module, n: int, class_index: Optional[int] = None) -> Optional[torch.Tensor]:
    """The classes to ask a conditional G for: all ``class_index``, or every class in turn (rows of a grid).

    None for an unconditional G; asking one for a class is a ``ConfigError``.
    """
    n_classes = n_classes_of(G)
    if not n_classes:
        if class_index is not None:
            raise ConfigError("class", class_index, "this generator is not conditional: only a model trained with "
                                                    "a conditional preset (cond-mnist, class) can draw a chosen class")
        return None
    if class_index is None:
        return class_labels(n, n_classes)  # the first n / n_classes images are class 0, and so on
    if isinstance(class_index, bool) or not isinstance(class_index, int) or not 0 <= class_index < n_classes:
        raise ConfigError("class", class_index, f"use a class number from 0 to {n_classes - 1}")
    return torch.full((n,), class_index, dtype=torch.long)


def sample_images(G: nn.Module, n: int, seed: int = 0, class_index: Optional[int] = None) -> torch.Tensor:
    """``n`` images from G, (n, nc, H, W) in [-1, 1], on G's device.

    A conditional G draws class ``class_index``, or every class in equal blocks when it is None.
    """
    device = next(G.parameters()).device
    labels = sample_labels(G, n, class_index)
    return generate(G, sample_noise(n, G.nz, seed).to(device), None if labels is None else labels.to(device))


def save_samples(images: torch.Tensor, out_dir: str | os.PathLike, nrow: int | None = None) -> list[Path]:
    """Write each image as ``out_dir/images/sample_0000.png`` (grey stays grey) and ``out_dir/grid.png``.

    images: (N, nc, H, W) in [-1, 1]. Returns the paths of the single-image files.
    """
    out_dir = Path(out_dir)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    pixels = unscale_images(images).cpu()
    paths = []
    for i, img in enumerate(pixels):
        path = image_dir / f"sample_{i:04d}.png"
        to_pil_image(img).save(path)  # (1, H, W) uint8 -> greyscale PNG, (3, H, W) -> RGB
        paths.append(path)
    nrow = nrow or max(1, round(len(images) ** 0.5))
    save_image(images.cpu(), out_dir / "grid.png", nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
    return paths
