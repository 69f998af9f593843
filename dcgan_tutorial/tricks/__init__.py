"""tricks: training tricks for GANs, each a small option that is off by default.

Each module holds one idea and its equation: ``ema`` (an exponential moving average of G's
weights), ``augment`` (DiffAugment: translation and cutout of everything D sees),
``regularizers`` (R1, instance noise, one-sided label smoothing), ``spectral`` (spectral norm
in D) and ``fid_tracker`` (FID measured during training, the best generator kept). The hinge
loss is in ``losses`` with the other losses, and two time-scale learning rates are just
``TrainConfig.lr_g`` and ``lr_d``. ``benchmarks/tricks.py`` measures what each one does.

``DTricks`` bundles the ones that change what D sees and how its loss is computed, so
``d_step`` and ``g_step`` take one optional argument instead of one per trick; with every
trick off ``make_state`` gives ``state.tricks = None`` and the steps are exactly the plain ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..losses import d_loss, d_loss_hinge
from .augment import diff_augment
from .ema import EMA, ema_generator
from .regularizers import add_instance_noise, d_loss_smoothed, instance_noise_sigma, r1_penalty
from .spectral import apply_spectral_norm

__all__ = ["DTricks", "EMA", "ema_generator", "apply_spectral_norm", "diff_augment", "r1_penalty",
           "add_instance_noise", "instance_noise_sigma", "d_loss_smoothed"]


@dataclass
class DTricks:
    """The tricks that act inside D's and G's steps: what D sees, and D's loss."""

    loss: str = "non-saturating"  # "hinge": D's hinge loss (G's is chosen by g_loss with the same name)
    label_smoothing: float = 0.0  # D's target for real images is 1 - label_smoothing
    instance_noise: float = 0.0  # sigma of the noise added to D's inputs at step 0
    instance_noise_steps: int = 1  # sigma falls linearly to 0 over this many steps
    diffaugment: bool = False  # translation + cutout of every image D sees (augment.py)
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images
    generator: Optional[torch.Generator] = None  # random numbers for augmentation and noise
    step: int = 0  # the training step, for instance noise's schedule; train_step sets it

    @classmethod
    def from_config(cls, cfg, generator: Optional[torch.Generator] = None) -> Optional["DTricks"]:
        """The tricks a ``TrainConfig`` asks for, or None when it asks for none of them."""
        tricks = cls(loss=cfg.loss, label_smoothing=cfg.label_smoothing, instance_noise=cfg.instance_noise,
                     instance_noise_steps=cfg.instance_noise_steps, diffaugment=cfg.diffaugment,
                     r1_gamma=cfg.r1_gamma, generator=generator)
        active = (tricks.loss == "hinge" or tricks.label_smoothing > 0 or tricks.instance_noise > 0
                  or tricks.diffaugment or tricks.r1_gamma > 0)
        return tricks if active else None

    def d_view(self, images: torch.Tensor, is_real: bool = False) -> torch.Tensor:
        """What D is shown of a batch (B, nc, H, W): augmented, then noised.

        For R1, real images come back as a leaf that requires its gradient, so the penalty can
        differentiate D's logits with respect to exactly what D saw.
        """
        if self.diffaugment:
            images = diff_augment(images, generator=self.generator)
        images = add_instance_noise(images, instance_noise_sigma(self.step, self.instance_noise,
                                                                 self.instance_noise_steps), self.generator)
        if is_real and self.r1_gamma > 0:
            images = images.detach().requires_grad_(True)
        return images

    def d_loss(self, real: torch.Tensor, real_logits: torch.Tensor, fake_logits: torch.Tensor,
               reduction: str = "sum") -> torch.Tensor:
        """D's loss with the tricks: hinge or (smoothed) BCE, plus R1 on ``real`` (from ``d_view``)."""
        if self.loss == "hinge":
            loss = d_loss_hinge(real_logits, fake_logits, reduction)
        elif self.label_smoothing > 0:
            loss = d_loss_smoothed(real_logits, fake_logits, 1.0 - self.label_smoothing, reduction)
        else:
            loss = d_loss(real_logits, fake_logits, reduction)
        if self.r1_gamma > 0:
            loss = loss + r1_penalty(real, real_logits, self.r1_gamma)
        return loss
