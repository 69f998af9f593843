"""Pixels: the one place images change between uint8 [0, 255] and G's range [-1, 1], or are resized."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_images(
    images: torch.Tensor, size: int, chunk: int = 8192
) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) to (N, C, size, size), once, up front.

    Bilinear with antialiasing, as ``torchvision.transforms.Resize`` does on
    tensors.
    """
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for part in images.split(chunk):
        resized = F.interpolate(
            part.float(),
            size=(size, size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        out.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def scale_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels in [0, 255] -> float in [-1, 1], the range of G's tanh."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def unscale_images(images: torch.Tensor) -> torch.Tensor:
    """float images in [-1, 1] -> uint8 pixels in [0, 255] (for saving and
    display)."""
    return (
        images.detach()
        .add(1.0)
        .mul_(127.5)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
    )
