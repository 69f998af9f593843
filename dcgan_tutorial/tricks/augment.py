"""DiffAugment (Zhao et al. 2020): augment every image D sees, real and fake, differentiably.

A D trained on few images memorises them, and G then learns to match that memory. Augmenting
only the real images would teach G to draw augmented digits; DiffAugment instead applies the
same random family of transforms T to everything D looks at, in both players' steps:

    L_D = loss(D(T(x)), D(T(G(z))))        L_G = loss(D(T(G(z))))

Because T is differentiable (indexing and masking), G's gradient flows back through it. Two
of the paper's transforms are here, as in its reference code: **translation** by up to 1/8 of
the image size (uncovered pixels become 0) and **cutout** of a square of half the image size
(set to 0). Each image of a batch draws its own shift and square, independently in every call
(the reference code does the same), from the ``torch.Generator`` passed in, so a run stays
repeatable from its seed.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

POLICIES = ("translation", "cutout")


def translate(
    x: torch.Tensor,
    ratio: float = 0.125,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Shift each image (B, C, H, W) by whole pixels, up to ``ratio`` of its size.

    Pixels shifted in from outside are 0 (the paper's zero padding).
    """
    B, _, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    dy = torch.randint(
        -sh, sh + 1, (B, 1, 1), generator=generator, device=_gen_device(generator)
    ).to(x.device)
    dx = torch.randint(
        -sw, sw + 1, (B, 1, 1), generator=generator, device=_gen_device(generator)
    ).to(x.device)
    # +1: the padding below
    rows = torch.arange(H, device=x.device).view(1, H, 1) + dy + 1
    cols = torch.arange(W, device=x.device).view(1, 1, W) + dx + 1
    rows, cols = (
        rows.clamp(0, H + 1).expand(B, H, W),
        cols.clamp(0, W + 1).expand(B, H, W),
    )
    # a border of 0 that clamped indices read from
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(B, device=x.device).view(B, 1, 1).expand(B, H, W)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(
    x: torch.Tensor,
    ratio: float = 0.5,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Zero a random square of side ``ratio`` x size in each image (B, C, H, W).

    The square's centre is anywhere in the image, so it may hang over the border.
    """
    B, _, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    cy = torch.randint(
        0,
        H + (1 - ch % 2),
        (B, 1, 1),
        generator=generator,
        device=_gen_device(generator),
    )
    cx = torch.randint(
        0,
        W + (1 - cw % 2),
        (B, 1, 1),
        generator=generator,
        device=_gen_device(generator),
    )
    # top-left corner
    cy, cx = (
        cy.to(x.device) - ch // 2,
        cx.to(x.device) - cw // 2,
    )
    rows = torch.arange(H, device=x.device).view(1, H, 1)
    cols = torch.arange(W, device=x.device).view(1, 1, W)
    # (B, H, W)
    inside = (rows >= cy) & (rows < cy + ch) & (cols >= cx) & (cols < cx + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(
    x: torch.Tensor,
    policy: tuple[str, ...] = POLICIES,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Apply the transforms named in ``policy`` in turn to a batch (B, C, H, W); differentiable in ``x``."""
    for name in policy:
        if name == "translation":
            x = translate(x, generator=generator)
        elif name == "cutout":
            x = cutout(x, generator=generator)
        else:
            raise ValueError(
                f"augmentation {name!r} is not allowed: choose from {', '.join(POLICIES)}"
            )
    return x


def _gen_device(generator: Optional[torch.Generator]) -> Optional[torch.device]:
    """Random numbers are drawn on the generator's device (a CUDA generator cannot fill a CPU tensor)."""
    return None if generator is None else generator.device
