"""tricks: training tricks for GANs, each a small option that is off by default.

Each module holds one idea and its equation: ``ema`` (an exponential moving average of G's
weights), ``augment`` (DiffAugment: translation and cutout of everything D sees),
``regularizers`` (R1, instance noise, one-sided label smoothing) and ``spectral`` (spectral
norm in D). The hinge loss is in ``losses`` with the other losses, and two time-scale learning
rates are just ``TrainConfig.lr_g`` and ``lr_d``. ``benchmarks/tricks.py`` measures what each
one does. Everything here acts inside a step; what watches a run (FID during training, the
best and the averaged generator files) is in ``watchers``.

``d_step`` and ``g_step`` ask a *view* what D sees and which losses to use. ``PaperView`` is
the paper's: the images as they are, the losses of ``losses``. ``DTricks`` is the same
interface with the tricks that change what D sees and D's loss; ``make_state`` picks one of
the two once, from the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..losses import d_loss, d_loss_hinge, g_loss
from .augment import diff_augment
from .regularizers import (
    add_instance_noise,
    d_loss_smoothed,
    instance_noise_sigma,
    r1_penalty,
)


@dataclass(frozen=True)
class PaperView:
    """The paper's view: D sees the images as they are, with the plain losses."""

    # G's loss (losses.g_loss); "hinge" is a trick (DTricks)
    loss: str = "non-saturating"
    reduction: str = "sum"  # D's loss: real + fake (the paper), or their mean

    def d_view(
        self, images: torch.Tensor, step: int, is_real: bool = False
    ) -> torch.Tensor:
        """What D sees of a batch (B, nc, H, W) at ``step``: the batch itself."""
        return images

    def d_loss(
        self,
        real: torch.Tensor,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
    ) -> torch.Tensor:
        """D's loss on its logits (B,): ``losses.d_loss`` (``real`` is for R1)."""
        return d_loss(real_logits, fake_logits, self.reduction)

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """G's loss on D's logits for the fakes (B,): ``losses.g_loss``."""
        return g_loss(fake_logits, self.loss)


@dataclass(frozen=True)
class DTricks(PaperView):
    """The tricks that act inside D's and G's steps: what D sees, and D's loss."""

    # D's target for real images is 1 - label_smoothing
    label_smoothing: float = 0.0
    # sigma of the noise added to D's inputs at step 0
    instance_noise: float = 0.0
    # sigma falls linearly to 0 over this many steps
    instance_noise_steps: int = 1
    # translation + cutout of every image D sees (augment.py)
    diffaugment: bool = False
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images
    # random numbers for augmentation and noise
    generator: Optional[torch.Generator] = None

    @classmethod
    def from_config(
        cls, cfg, generator: Optional[torch.Generator] = None
    ) -> PaperView:
        """The view a ``TrainConfig`` asks for: these tricks, or the paper's view when it asks for none."""
        tricks = cls(
            loss=cfg.loss,
            reduction=cfg.d_loss_reduction,
            label_smoothing=cfg.label_smoothing,
            instance_noise=cfg.instance_noise,
            instance_noise_steps=cfg.instance_noise_steps,
            diffaugment=cfg.diffaugment,
            r1_gamma=cfg.r1_gamma,
            generator=generator,
        )
        active = (
            tricks.loss == "hinge"
            or tricks.label_smoothing > 0
            or tricks.instance_noise > 0
            or tricks.diffaugment
            or tricks.r1_gamma > 0
        )
        return tricks if active else PaperView(cfg.loss, cfg.d_loss_reduction)

    def d_view(
        self, images: torch.Tensor, step: int, is_real: bool = False
    ) -> torch.Tensor:
        """What D sees of a batch (B, nc, H, W) at ``step``: augmented, noised.

        For R1, real images come back as a leaf that requires its gradient, so the
        penalty can differentiate D's logits with respect to exactly what D saw.
        """
        if self.diffaugment:
            images = diff_augment(images, generator=self.generator)
        sigma = instance_noise_sigma(
            step, self.instance_noise, self.instance_noise_steps
        )
        images = add_instance_noise(images, sigma, self.generator)
        if is_real and self.r1_gamma > 0:
            images = images.detach().requires_grad_(True)
        return images

    def d_loss(
        self,
        real: torch.Tensor,
        real_logits: torch.Tensor,
        fake_logits: torch.Tensor,
    ) -> torch.Tensor:
        """D's loss with the tricks: hinge or (smoothed) BCE, plus R1 on ``real``
        (from ``d_view``)."""
        if self.loss == "hinge":
            loss = d_loss_hinge(real_logits, fake_logits, self.reduction)
        elif self.label_smoothing > 0:
            loss = d_loss_smoothed(
                real_logits,
                fake_logits,
                1.0 - self.label_smoothing,
                self.reduction,
            )
        else:
            loss = d_loss(real_logits, fake_logits, self.reduction)
        if self.r1_gamma > 0:
            loss = loss + r1_penalty(real, real_logits, self.r1_gamma)
        return loss


PAPER = PaperView()  # the defaults of d_step and g_step
