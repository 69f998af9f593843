"""The paper's DCGAN: generator G, discriminator D, and the weight initialisation.

Both follow the paper's architecture guidelines (Radford et al. 2015, section 3):
transposed convolutions in G and strided convolutions in D instead of pooling, batchnorm in
both except G's output and D's input, ReLU in G with a tanh output, LeakyReLU(0.2) in D,
no fully connected hidden layers.

The image grows from ``base x base`` (4 for 32/64/128, 7 for MNIST's 28) by doubling, so
the number of blocks follows from ``image_size`` (see ``config.upsampling_plan``). The
seed systems' variants are in ``variants.py``, the class-aware models in ``conditional.py``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..config import ModelConfig, upsampling_plan


class Generator(nn.Module):
    """G: noise ``z`` of shape (B, nz, 1, 1) to images (B, nc, image_size,
    image_size) in [-1, 1]."""

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        nc: int = 1,
        image_size: int = 64,
        activation: str = "relu",
        batchnorm: bool = True,
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        act = g_activation(activation)
        # batchnorm=False: to see why the paper uses it
        norm = nn.BatchNorm2d if batchnorm else nn.Identity
        # widest block first: ngf*8 at 4x4 for 64x64, as in the paper
        ch = ngf * 2 ** (n_up - 1)
        blocks = OrderedDict()
        blocks["project"] = nn.Sequential(  # z is a 1x1 "image" with nz channels
            nn.ConvTranspose2d(
                nz, ch, kernel_size=base, stride=1, padding=0, bias=False
            ),
            norm(ch),
            act(),
        )  # (ngf * 2^(n_up-1)) x base x base
        size = base
        for i in range(1, n_up):
            blocks[f"up{i}"] = nn.Sequential(
                nn.ConvTranspose2d(
                    ch, ch // 2, kernel_size=4, stride=2, padding=1, bias=False
                ),
                norm(ch // 2),
                act(),
            )  # (ch / 2) x (2 size) x (2 size)
            ch, size = ch // 2, size * 2
        blocks["to_image"] = nn.Sequential(  # no batchnorm on G's output (paper)
            nn.ConvTranspose2d(
                ch, nc, kernel_size=4, stride=2, padding=1, bias=False
            ),
            nn.Tanh(),
        )  # nc x image_size x image_size, values in [-1, 1] like the scaled data
        self.blocks = nn.Sequential(blocks)
        self.nz = nz

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, nz, 1, 1) or (B, nz) -> images (B, nc, H, W) in [-1, 1]."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.blocks(z)


class Discriminator(nn.Module):
    """D: images (B, nc, image_size, image_size) to one logit per image, (B,).

    D returns a logit, not a probability: ``sigmoid(logit)`` is D's belief that
    the image is real. The losses take logits (``BCEWithLogits``), which is
    numerically stable and safe under mixed precision.
    """

    def __init__(
        self,
        ndf: int = 64,
        nc: int = 1,
        image_size: int = 64,
        leaky_slope: float = 0.2,
        input_bn: bool = False,
        batchnorm: bool = True,
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        norm = nn.BatchNorm2d if batchnorm else nn.Identity
        blocks = OrderedDict()
        blocks["from_image"] = (
            nn.Sequential(  # no batchnorm on D's input (paper), unless input_bn
                nn.Conv2d(
                    nc, ndf, kernel_size=4, stride=2, padding=1, bias=False
                ),
                *([norm(ndf)] if input_bn else []),
                nn.LeakyReLU(leaky_slope, inplace=True),
            )
        )  # ndf x (image_size / 2) x (image_size / 2)
        ch = ndf
        for i in range(1, n_up):
            blocks[f"down{i}"] = nn.Sequential(
                nn.Conv2d(
                    ch, ch * 2, kernel_size=4, stride=2, padding=1, bias=False
                ),
                norm(ch * 2),
                nn.LeakyReLU(leaky_slope, inplace=True),
            )  # (2 ch) x (size / 2) x (size / 2)
            ch *= 2
        # its output: 1 x 1 x 1, one logit per image
        blocks["to_logit"] = nn.Conv2d(
            ch, 1, kernel_size=base, stride=1, padding=0, bias=False
        )
        self.blocks = nn.Sequential(blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, nc, H, W) in [-1, 1] -> logits (B,)."""
        return self.blocks(images).flatten()


def g_activation(name: str):
    """G's hidden activation, as a layer factory: "relu" (paper) or "leaky" (LeakyReLU 0.2)."""
    if name == "relu":
        return lambda: nn.ReLU(inplace=True)
    if name == "leaky":
        return lambda: nn.LeakyReLU(0.2, inplace=True)
    raise ValueError(f"activation={name!r} is not allowed: choose relu or leaky")


def dcgan_weights_init(module: nn.Module) -> None:
    """DCGAN's init: conv weights ~ N(0, 0.02); BN weight ~ N(1, 0.02), bias 0.

    Use as ``model.apply(dcgan_weights_init)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, mean=1.0, std=0.02)
        nn.init.zeros_(module.bias)


def build_dcgan(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D of ``arch`` dcgan (the paper's, with this config's small options), not initialised."""
    G = Generator(
        nz=cfg.nz,
        ngf=cfg.ngf,
        nc=cfg.nc,
        image_size=cfg.image_size,
        activation=cfg.g_activation,
        batchnorm=cfg.batchnorm,
    )
    D = Discriminator(
        ndf=cfg.ndf,
        nc=cfg.nc,
        image_size=cfg.image_size,
        leaky_slope=cfg.leaky_slope,
        input_bn=cfg.d_input_bn,
        batchnorm=cfg.batchnorm,
    )
    return G, D


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
