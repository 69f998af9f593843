"""Three ways to keep D from becoming too sure of itself: R1, instance noise, label smoothing.

* **R1** (Mescheder, Geiger and Nowozin 2018): penalise the gradient of D's logit with respect
  to real images, ``(gamma / 2) E_x[ |grad_x l(x)|^2 ]``, so D is flat around the data and
  does not push G with steep, changing slopes there.
* **Instance noise** (Sonderby et al. 2016; Arjovsky and Bottou 2017): add Gaussian noise of
  standard deviation sigma to everything D sees, real and fake, with sigma falling linearly
  to 0. Blurred together, the real and fake distributions overlap, so D cannot separate them
  perfectly early on and its gradient stays informative.
* **One-sided label smoothing** (Salimans et al. 2016): D's target for real images is 0.9
  instead of 1, which stops its logits on reals from growing without bound. Only the real
  side is smoothed: smoothing the fake target too would reward D for keeping some belief in
  G's mistakes.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def r1_penalty(
    real: torch.Tensor, real_logits: torch.Tensor, gamma: float
) -> torch.Tensor:
    """(gamma / 2) * mean over the batch of |d l(x) / d x|^2, on real images.

    real: (B, nc, H, W), with ``requires_grad`` set before D was run on it;
    real_logits: (B,) D's logits on it. The gradient is built with
    ``create_graph=True`` so the penalty itself can be differentiated with respect
    to D's weights.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()


def instance_noise_sigma(step: int, sigma0: float, anneal_steps: int) -> float:
    """sigma at ``step``: ``sigma0`` at step 0, falling linearly to 0 at
    ``anneal_steps`` and staying there."""
    return sigma0 * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(
    x: torch.Tensor, sigma: float, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """x + sigma * N(0, I) for images (B, nc, H, W) in [-1, 1]; x itself when
    sigma is 0."""
    if sigma <= 0:
        return x
    noise = torch.randn(
        x.shape,
        generator=generator,
        device=x.device if generator is None else generator.device,
    )
    return x + sigma * noise.to(device=x.device, dtype=x.dtype)


def d_loss_smoothed(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_target: float = 0.9,
    reduction: str = "sum",
) -> torch.Tensor:
    """D's loss with one-sided label smoothing: BCE(D(x), real_target) +
    BCE(D(G(z)), 0).

    real_logits, fake_logits: (B,). With ``real_target = 1`` this is
    ``losses.d_loss``. The smallest loss on reals is now reached at D(x) = 0.9
    (logit 2.2), not at an infinite logit.
    """
    real_loss = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, real_target)
    )
    fake_loss = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits)
    )
    return (
        0.5 * (real_loss + fake_loss)
        if reduction == "mean"
        else real_loss + fake_loss
    )
