"""A GAN on 2-D points: small enough to train in seconds on a CPU and to draw completely.

G maps 2-D noise ``z ~ N(0, I)`` to 2-D points, D maps a 2-D point to one logit. Everything
the image GAN hides in 784 dimensions can be drawn here: what D believes at every point of
the plane (``d_probability``), where G sends its noise (``warped_grid``) and which way G
pushes each fake (``g_arrows``). The losses are the package's own ``d_loss`` and ``g_loss``.
Nothing is seeded here: pass a ``torch.Generator`` (the chapter seeds it visibly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from .losses import d_loss, g_loss

Sampler = Callable[[int, Optional[torch.Generator]], torch.Tensor]

# 8 Gaussians on a circle; 3 std apart is still far from the next mode
RING_RADIUS, RING_STD = (
    2.0,
    0.1,
)


def ring_centres(n_modes: int = 8, radius: float = RING_RADIUS) -> torch.Tensor:
    """The centres of the ring's modes, (n_modes, 2), evenly spaced on a circle."""
    angles = torch.arange(n_modes) * (2 * math.pi / n_modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def sample_ring(
    n: int, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """n points, (n, 2): a mixture of 8 Gaussians (std ``RING_STD``) on a circle
    of radius 2."""
    modes = torch.randint(0, 8, (n,), generator=generator)
    return ring_centres()[modes] + RING_STD * torch.randn(
        n, 2, generator=generator
    )


def sample_moons(
    n: int, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """n points, (n, 2): two interleaved half circles (scikit-learn's "two moons"), centred
    on the origin and scaled by 1.5, with Gaussian noise of std 0.1."""
    t = math.pi * torch.rand(n, generator=generator)
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, t.cos(), 1 - t.cos()) - 0.5
    y = torch.where(upper, t.sin(), 0.5 - t.sin()) - 0.25
    return 1.5 * torch.stack([x, y], dim=1) + 0.1 * torch.randn(
        n, 2, generator=generator
    )


def sample_spiral(
    n: int, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """n points, (n, 2): one arm of a spiral, radius growing from 0.3 to 2.5 over 1.5 turns,
    with Gaussian noise of std 0.08."""
    t = torch.rand(n, generator=generator)
    angle, radius = 3 * math.pi * t, 0.3 + 2.2 * t
    return radius[:, None] * torch.stack(
        [angle.cos(), angle.sin()], dim=1
    ) + 0.08 * torch.randn(n, 2, generator=generator)


TARGETS: dict[str, Sampler] = {
    "ring": sample_ring,
    "moons": sample_moons,
    "spiral": sample_spiral,
}


def sample_target(
    name: str, n: int, generator: Optional[torch.Generator] = None
) -> torch.Tensor:
    """n real points, (n, 2), from the target distribution called ``name`` (a key of TARGETS)."""
    if name not in TARGETS:
        raise ValueError(
            f"target={name!r} is not known: choose one of {', '.join(TARGETS)}"
        )
    return TARGETS[name](n, generator)


def mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units with LeakyReLU(0.2), then a linear output."""
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [
            nn.Linear(n_in if i == 0 else hidden, hidden),
            nn.LeakyReLU(0.2),
        ]
    return nn.Sequential(*blocks, nn.Linear(hidden, n_out))


class MLPGenerator(nn.Module):
    """G: noise z (B, nz) -> points (B, 2). No tanh: the targets are not confined
    to [-1, 1]."""

    def __init__(self, nz: int = 2, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.nz = nz
        self.net = mlp(nz, 2, hidden, layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (B, nz) -> (B, 2)


class MLPDiscriminator(nn.Module):
    """D: points x (B, 2) -> logits (B,); D(x) = sigmoid(logit) is its probability
    that x is real."""

    def __init__(self, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.net = mlp(2, 1, hidden, layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)  # (B, 2) -> (B, 1) -> (B,)


@dataclass
class ToyGAN:
    """Everything one 2-D GAN needs to take a step: the players, their optimisers, the target
    distribution, G's loss ("non-saturating" or "saturating") and the random stream for real
    points and noise."""

    G: MLPGenerator
    D: MLPDiscriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    target: str = "ring"
    loss: str = "non-saturating"
    batch_size: int = 256  # real points and fakes per step
    generator: Optional[torch.Generator] = None
    d_steps: int = 0  # steps each player has taken so far
    g_steps: int = 0

    def noise(self, n: int) -> torch.Tensor:
        """n noise vectors z ~ N(0, I), (n, nz)."""
        return torch.randn(n, self.G.nz, generator=self.generator)


def make_toy_gan(
    target: str = "ring",
    loss: str = "non-saturating",
    lr_d: float = 1e-3,
    lr_g: float = 1e-3,
    hidden: int = 128,
    batch_size: int = 256,
    generator: Optional[torch.Generator] = None,
) -> ToyGAN:
    """A fresh G and D with Adam(beta1=0.5, as in DCGAN); seed torch before calling for the same weights."""
    # fail now, with the list of targets, on an unknown name
    sample_target(target, 1)
    g_loss(torch.zeros(1), loss)  # ... and on an unknown loss
    G, D = MLPGenerator(hidden=hidden), MLPDiscriminator(hidden=hidden)
    # lr 1e-3, five times DCGAN's 2e-4: on 2-D points it is stable (all 8 ring modes within a few
    # hundred steps, as chapter 0 shows) and the animations need fewer frames
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    return ToyGAN(G, D, opt_g, opt_d, target, loss, batch_size, generator)


def d_update(gan: ToyGAN) -> float:
    """One step of D on a fresh batch of real and fake points; G is not touched.
    Returns d_loss."""
    real = sample_target(gan.target, gan.batch_size, gan.generator)  # (B, 2)
    with torch.no_grad():
        fake = gan.G(gan.noise(gan.batch_size))  # (B, 2); no graph into G
    loss = d_loss(gan.D(real), gan.D(fake))
    gan.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    gan.opt_d.step()
    gan.d_steps += 1
    return loss.item()


def g_update(gan: ToyGAN) -> float:
    """One step of G: fakes are scored by D, and g_loss flows back through D into
    G. Only G's parameters receive gradients (``inputs=``), so D is not touched.
    Returns g_loss."""
    fake = gan.G(gan.noise(gan.batch_size))  # (B, 2)
    loss = g_loss(gan.D(fake), gan.loss)
    gan.opt_g.zero_grad(set_to_none=True)
    loss.backward(inputs=list(gan.G.parameters()))
    gan.opt_g.step()
    gan.g_steps += 1
    return loss.item()


def step(gan: ToyGAN, players: str = "both") -> dict[str, float]:
    """One training step of ``players``: "d" (D only), "g" (G only) or "both" (D, then G).
    Returns the losses of the players that moved, e.g. ``{"d_loss": 1.2, "g_loss": 0.8}``."""
    if players not in ("d", "g", "both"):
        raise ValueError(
            f"players={players!r} is not allowed: choose d, g or both"
        )
    losses = {}
    if players in ("d", "both"):
        losses["d_loss"] = d_update(gan)
    if players in ("g", "both"):
        losses["g_loss"] = g_update(gan)
    return losses


def train(
    gan: ToyGAN,
    steps: int,
    players: str = "both",
    every: int = 0,
    watch: Optional[Callable[[ToyGAN], None]] = None,
) -> list[dict[str, float]]:
    """``steps`` calls of ``step(gan, players)``; calls ``watch(gan)`` before the first step
    and after every ``every``-th one (a figure's frames). Returns the losses of every step."""
    history = []
    if watch is not None:
        watch(gan)
    for i in range(1, steps + 1):
        history.append(step(gan, players))
        if watch is not None and every and i % every == 0:
            watch(gan)
    return history


# --- what to draw -------------------------------------------------------------------------


@torch.no_grad()
def d_probability(
    D: nn.Module, lim: float = 3.0, n: int = 80
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D's probability of "real" on an n x n grid over [-lim, lim]^2: returns xs (n,), ys (n,)
    and probs (n, n) in (0, 1), with probs[i, j] = D((xs[j], ys[i])) (rows are y, for imshow)."""
    xs = torch.linspace(-lim, lim, n)
    ys = torch.linspace(-lim, lim, n)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)  # (n*n, 2)
    return xs, ys, torch.sigmoid(D(points)).reshape(n, n)


@torch.no_grad()
def warped_grid(
    G: nn.Module, lim: float = 2.0, lines: int = 9, points: int = 60
) -> torch.Tensor:
    """G applied to a square grid of lines in noise space over [-lim, lim]^2 (G.nz must be 2).

    Returns (2 * lines, points, 2): ``lines`` horizontal then ``lines`` vertical polylines,
    each a sequence of ``points`` 2-D points in data space.
    """
    ticks, along = (
        torch.linspace(-lim, lim, lines),
        torch.linspace(-lim, lim, points),
    )
    horizontal = torch.stack(
        [along.expand(lines, points), ticks[:, None].expand(lines, points)], dim=2
    )
    vertical = horizontal.flip(2)  # swap x and y
    # (2 * lines * points, 2)
    z = torch.cat([horizontal, vertical]).reshape(-1, 2)
    return G(z).reshape(2 * lines, points, 2)


def g_arrows(
    D: nn.Module, fake: torch.Tensor, loss: str = "non-saturating"
) -> torch.Tensor:
    """The way G pushes each fake: -d(g_loss of that fake)/d(fake), (B, 2) for
    fake (B, 2).

    Each fake's own term of G's loss is used (B times the gradient of the batch
    mean), so an arrow does not depend on the batch size. Only ``fake`` gets a
    gradient; D is not touched.
    """
    x = fake.detach().clone().requires_grad_(True)
    # mean over the batch, times B = sum of the terms
    per_point = g_loss(D(x), loss) * x.shape[0]
    (grad,) = torch.autograd.grad(per_point, x)
    return -grad


def modes_covered(
    fake: torch.Tensor,
    centres: Optional[torch.Tensor] = None,
    radius: float = 3 * RING_STD,
    min_share: float = 0.02,
) -> int:
    """How many modes (centres (M, 2), default the ring's 8) have at least ``min_share`` of the
    fakes (B, 2) within ``radius`` (3 std of a mode) of their centre."""
    centres = ring_centres() if centres is None else centres
    near = torch.cdist(fake, centres) < radius  # (B, M)
    return int((near.float().mean(0) >= min_share).sum())
