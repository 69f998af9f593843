"""The GAN losses, on D's logits.

With ``D(x) = sigmoid(l(x))`` where ``l`` is D's logit, the GAN value function
(Goodfellow et al. 2014) is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

D maximises V; G minimises it. Both losses below are binary cross-entropies computed by
``F.binary_cross_entropy_with_logits``, which works on the logit directly
(``log(sigmoid(l)) = -softplus(-l)``) and so never takes ``log(0)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, reduction: str = "sum"
) -> torch.Tensor:
    """D's loss: L_D = -mean[log D(x)] - mean[log(1 - D(G(z)))].

    real_logits: (B,) D's logits on real images; fake_logits: (B,) on generated
    images. This is BCE(D(x), 1) + BCE(D(G(z)), 0), the negative of V, so
    minimising it maximises V. ``reduction="mean"`` halves it, as the Flux package
    does; with Adam, which divides each gradient by its own running scale, the two
    train almost identically.
    """
    real_loss = F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    )
    fake_loss = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits)
    )
    if reduction == "mean":
        return 0.5 * (real_loss + fake_loss)
    if reduction != "sum":
        raise ValueError(
            f"reduction={reduction!r} is not allowed: choose sum or mean"
        )
    return real_loss + fake_loss


def g_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss: L_G = -mean[log D(G(z))] = BCE(D(G(z)), 1).

    fake_logits: (B,) D's logits on G's images. Its gradient is large when D
    confidently rejects the fakes (D(G(z)) near 0), which is exactly the situation
    early in training.
    """
    return F.binary_cross_entropy_with_logits(
        fake_logits, torch.ones_like(fake_logits)
    )


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's minimax (saturating) loss: L_G = mean[log(1 - D(G(z)))].

    It equals -BCE(D(G(z)), 0).
    fake_logits: (B,) D's logits on G's images. This is G's side of V exactly, but
    its gradient vanishes when D(G(z)) is near 0, so G learns slowly when D is
    winning.
    """
    return -F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits)
    )


def d_loss_hinge(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, reduction: str = "sum"
) -> torch.Tensor:
    """D's hinge loss: L_D = mean[max(0, 1 - l(x))] + mean[max(0, 1 + l(G(z)))].

    real_logits, fake_logits: (B,) D's logits (no sigmoid). D stops being pushed
    on an image once its logit is beyond the margin (above 1 for reals, below -1
    for fakes), so confident, correct answers cost nothing and D's logits do not
    grow without bound (Lim and Ye 2017; Miyato et al. 2018). ``reduction="mean"``
    halves it, as for ``d_loss``.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(
            f"reduction={reduction!r} is not allowed: choose sum or mean"
        )
    loss = F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    return 0.5 * loss if reduction == "mean" else loss


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss with the hinge D: L_G = -mean[l(G(z))], no margin.

    It raises D's logit on the fakes.
    fake_logits: (B,) D's logits on G's images.
    """
    return -fake_logits.mean()


G_LOSSES = {
    "non-saturating": g_loss_non_saturating,
    "saturating": g_loss_saturating,
    "hinge": g_loss_hinge,
}


def g_loss(
    fake_logits: torch.Tensor, kind: str = "non-saturating"
) -> torch.Tensor:
    """G's loss of the given ``kind``: "non-saturating" (default), "saturating" or
    "hinge"."""
    if kind not in G_LOSSES:
        raise ValueError(
            f"loss={kind!r} is not allowed: choose one of {', '.join(G_LOSSES)}"
        )
    return G_LOSSES[kind](fake_logits)
