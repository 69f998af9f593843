"""EMA of G's weights: sample from an average of G over the last steps, not from G itself.

G's weights never settle in a GAN: each step moves them to answer D's latest opinion, so the
generator at any one step is a noisy point on its path. Averaging that path (Yazici et al.
2019, "The unusual effectiveness of averaging in GAN training") gives a generator that
training never visited but that usually makes better images:

    theta_ema <- decay * theta_ema + (1 - decay) * theta_G          after every G step

Only parameters are averaged. BatchNorm's running mean and variance are not weights but
statistics of the activations that the weights produce; averaged weights produce other
activations, so G's own running statistics do not fit them. ``update`` copies G's buffers
(cheap, and a fair start while the average follows G closely), and ``recompute_batchnorm``
re-estimates them for the averaged weights by running the EMA generator in training mode on
fresh noise (``momentum=None``: an exact average over those batches), as BigGAN's "standing
statistics" do. Call it before the EMA generator is evaluated or saved; ``ema_generator``
does both. A training run writes it as ``RUN_DIR/ema_generator.pt`` at every checkpoint
(``watchers.EMAWriter``), and the checkpoint holds the average, so a resumed run continues it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..distributed import unwrap


class EMA:
    """A copy of G whose parameters follow an exponential moving average of G."""

    def __init__(self, G: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.G = copy.deepcopy(unwrap(G)).eval()
        self.G.requires_grad_(False)
        self.updates = 0  # G steps averaged so far

    def current_decay(self) -> float:
        """``decay``, but smaller early on: (1 + t) / (10 + t) for the t-th
        update.

        Without this warm-up the average would remember G's random initial weights
        for about 1 / (1 - decay) steps (1,000 at 0.999); TensorFlow's
        ExponentialMovingAverage does the same.
        """
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, G: nn.Module) -> None:
        """One averaging step after a G step; BatchNorm buffers are copied from G
        (see the module docstring)."""
        weight = 1.0 - self.current_decay()
        G = unwrap(G)
        for p_ema, p in zip(self.G.parameters(), G.parameters()):
            p_ema.lerp_(p.detach(), weight)  # p_ema + weight * (p - p_ema)
        for b_ema, b in zip(self.G.buffers(), G.buffers()):
            b_ema.copy_(b)
        self.updates += 1

    @torch.no_grad()
    def recompute_batchnorm(
        self, n_batches: int = 20, batch_size: int = 256, seed: int = 0
    ) -> None:
        """Re-estimate every BatchNorm's running mean and variance for the
        averaged weights.

        Runs the EMA generator in training mode on ``n_batches`` batches of noise
        z ~ N(0, I) from its own seeded stream, with ``momentum=None`` so the
        running statistics become the plain average over those batches; G's own
        statistics play no part.
        """
        bns = [
            m
            for m in self.G.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
        ]
        if not bns:
            return
        device = next(self.G.parameters()).device
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average instead of an exponential one
        gen = torch.Generator().manual_seed(seed)
        self.G.train()
        try:
            for _ in range(n_batches):
                z = torch.randn(batch_size, self.G.nz, 1, 1, generator=gen).to(
                    device
                )
                # a conditional G: every class equally often
                n_classes = getattr(self.G, "n_classes", 0)
                given = (
                    ((torch.arange(batch_size) % n_classes).to(device),)
                    if n_classes
                    else ()
                )
                self.G(z, *given)
        finally:
            self.G.eval()
            for bn, momentum in zip(bns, momenta):
                bn.momentum = momentum


def ema_generator(
    ema: EMA, n_batches: int = 20, batch_size: int = 256
) -> nn.Module:
    """The EMA generator with BatchNorm statistics of its own, ready to sample from (eval mode)."""
    ema.recompute_batchnorm(n_batches, batch_size)
    return ema.G
