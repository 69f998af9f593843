"""The seed systems' own generators and discriminators, where they differ from the paper's.

Each follows one of the seed systems this project grows from: the Julia/Flux DCGAN package and
its beginner tutorial, the TensorFlow MNIST-at-64x64 model, and the PyTorch seed for CIFAR-10
(convDCGAN, linDCGAN, classDCGAN); the presets in ``presets.py`` pick them. The paper's model
itself (and its small variants: LeakyReLU in G, batchnorm on D's input) is ``dcgan.py``.

* ``flux``: the Julia/Flux package and its tutorial. G starts with a **dense layer** (a fully
  connected projection of z to 7x7x256) and a stride-1 5x5 transposed conv; D has **no
  batchnorm**, uses **dropout**, and ends in a dense logit.
* ``tf``: the TensorFlow MNIST-at-64x64 model. Dense projection to 4x4x1024, then **5x5**
  stride-2 transposed convs ("same" padding); D mirrors it with 5x5 stride-2 convs and a
  dense logit.
* ``lin``: the PyTorch seed's linDCGAN. G projects z straight to twice the base size, grows
  with transposed convs and ends with a stride-1 3x3 conv; D is four convs and a linear logit.

Every size is an argument and the image size sets the number of stride-2 blocks, as in
``dcgan.py`` (``config.upsampling_plan``). Shapes below are for the presets' sizes.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..config import ModelConfig, upsampling_plan
from .dcgan import g_activation


class Reshape(nn.Module):
    """(B, C*H*W) -> (B, C, H, W): a dense layer's output as a feature map."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class DenseGenerator(nn.Module):
    """G with a dense projection of z, then transposed convs (flux and tf); images
    in [-1, 1].

    ``kernel`` 4: the flux model (a 5x5 stride-1 conv first, then 4x4 stride-2
    convs). ``kernel`` 5: the tf model (5x5 stride-2 convs with "same" padding all
    the way).
    """

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        nc: int = 1,
        image_size: int = 28,
        kernel: int = 4,
        dense_bias: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        act = g_activation(activation)
        # flux: 256 at 7x7; tf: 1024 at 4x4
        ch = ngf * 2 ** (n_up if kernel == 4 else n_up - 1)
        blocks = OrderedDict()
        blocks["project"] = (
            nn.Sequential(  # the fully connected layer the paper's G avoids
                nn.Linear(nz, ch * base * base, bias=dense_bias),
                nn.BatchNorm1d(ch * base * base),
                act(),
                Reshape(ch, base, base),
            )
        )  # ch x base x base
        if kernel == 4:  # flux: refine at the base size before growing
            blocks["refine"] = nn.Sequential(
                nn.ConvTranspose2d(
                    ch, ch // 2, kernel_size=5, stride=1, padding=2, bias=False
                ),
                nn.BatchNorm2d(ch // 2),
                act(),
            )  # (ch / 2) x base x base: 128 x 7 x 7
            ch //= 2
        # 4x4 s2 p1 and 5x5 s2 p2 (+1 output padding, TF's "same") both double
        # the size exactly
        up = (
            dict(kernel_size=4, stride=2, padding=1)
            if kernel == 4
            else dict(kernel_size=5, stride=2, padding=2, output_padding=1)
        )
        for i in range(1, n_up):
            blocks[f"up{i}"] = nn.Sequential(
                nn.ConvTranspose2d(ch, ch // 2, bias=False, **up),
                nn.BatchNorm2d(ch // 2),
                act(),
            )  # (ch / 2) x (2 size) x (2 size)
            ch //= 2
        # its output: nc x S x S
        blocks["to_image"] = nn.Sequential(
            nn.ConvTranspose2d(ch, nc, **up), nn.Tanh()
        )
        self.blocks = nn.Sequential(blocks)
        self.nz = nz

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, nz, 1, 1) or (B, nz) -> images (B, nc, S, S) in [-1, 1]."""
        return self.blocks(z.flatten(1))


class DenseDiscriminator(nn.Module):
    """D with strided convs and a dense logit (flux and tf): images (B, nc, S, S)
    -> logits (B,).

    ``kernel`` 4 with ``batchnorm=False`` and ``dropout``: flux. ``kernel`` 5 with
    batchnorm on every block but the first: tf.
    """

    def __init__(
        self,
        ndf: int = 64,
        nc: int = 1,
        image_size: int = 28,
        kernel: int = 4,
        leaky_slope: float = 0.2,
        batchnorm: bool = False,
        dropout: tuple[float, ...] = (),
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        down = (
            dict(kernel_size=4, stride=2, padding=1)
            if kernel == 4
            else dict(kernel_size=5, stride=2, padding=2)
        )
        blocks = OrderedDict()
        ch_in, ch = nc, ndf
        for i in range(n_up):
            layers = [nn.Conv2d(ch_in, ch, bias=not batchnorm or i == 0, **down)]
            if batchnorm and i > 0:  # never on D's input (both seeds)
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(leaky_slope, inplace=True))
            if i < len(dropout) and dropout[i] > 0:
                layers.append(nn.Dropout(dropout[i]))
            # its output: ch x (S / 2^(i+1))^2
            blocks["from_image" if i == 0 else f"down{i}"] = nn.Sequential(
                *layers
            )
            ch_in, ch = ch, ch * 2
        # flux: 7*7*128 -> 1
        blocks["to_logit"] = nn.Sequential(
            nn.Flatten(), nn.Linear(ch_in * base * base, 1)
        )
        self.blocks = nn.Sequential(blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, nc, S, S) in [-1, 1] -> logits (B,)."""
        return self.blocks(images).flatten()


class LinGenerator(nn.Module):
    """linDCGAN's G: z -> transposed convs -> a stride-1 3x3 conv; (B, nc, S, S) in [-1, 1].

    At 32x32: a 8x8 projection (transposed conv), two stride-2 transposed convs, one conv.
    """

    def __init__(
        self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 32
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        ch = ngf * 2 ** (n_up - 1)
        blocks = OrderedDict()
        blocks["project"] = (
            nn.Sequential(  # z as a 1x1 map straight to twice the base size
                nn.ConvTranspose2d(
                    nz, ch, kernel_size=2 * base, stride=1, padding=0, bias=False
                ),
                nn.BatchNorm2d(ch),
                nn.ReLU(inplace=True),
            )
        )  # ch x (2 base) x (2 base): 256 x 8 x 8 at 32x32
        for i in range(1, n_up):
            blocks[f"up{i}"] = nn.Sequential(
                nn.ConvTranspose2d(
                    ch, ch // 2, kernel_size=4, stride=2, padding=1, bias=False
                ),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(inplace=True),
            )  # (ch / 2) x (2 size) x (2 size)
            ch //= 2
        blocks["to_image"] = (
            nn.Sequential(  # a plain conv makes the pixels: no upsampling here
                nn.Conv2d(ch, nc, kernel_size=3, stride=1, padding=1, bias=False),
                nn.Tanh(),
            )
        )  # nc x S x S
        self.blocks = nn.Sequential(blocks)
        self.nz = nz

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, nz, 1, 1) or (B, nz) -> images (B, nc, S, S) in [-1, 1]."""
        if z.dim() == 2:
            z = z[:, :, None, None]
        return self.blocks(z)


class LinDiscriminator(nn.Module):
    """linDCGAN's D: stride-2 convs, one stride-1 conv, then a linear logit; (B,
    nc, S, S) -> (B,)."""

    def __init__(
        self,
        ndf: int = 64,
        nc: int = 3,
        image_size: int = 32,
        leaky_slope: float = 0.1,
        input_bn: bool = True,
    ):
        super().__init__()
        base, n_up = upsampling_plan(image_size)
        blocks = OrderedDict()
        ch_in, ch = nc, ndf
        for i in range(n_up):
            bn = i > 0 or input_bn  # the seed: batchnorm after every layer
            blocks["from_image" if i == 0 else f"down{i}"] = nn.Sequential(
                nn.Conv2d(
                    ch_in, ch, kernel_size=4, stride=2, padding=1, bias=False
                ),
                *([nn.BatchNorm2d(ch)] if bn else []),
                nn.LeakyReLU(leaky_slope, inplace=True),
            )  # ch x (S / 2^(i+1))^2
            ch_in, ch = ch, ch * 2
        blocks["refine"] = nn.Sequential(
            nn.Conv2d(
                ch_in, ch_in, kernel_size=3, stride=1, padding=1, bias=False
            ),
            nn.BatchNorm2d(ch_in),
            nn.LeakyReLU(leaky_slope, inplace=True),
        )  # 256 x 4 x 4 at 32x32
        # the linear layer
        blocks["to_logit"] = nn.Sequential(
            nn.Flatten(), nn.Linear(ch_in * base * base, 1)
        )
        self.blocks = nn.Sequential(blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, nc, S, S) in [-1, 1] -> logits (B,)."""
        return self.blocks(images).flatten()


def build_dense(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D of ``arch`` flux (4x4 kernels, dropout, no batchnorm in D) or tf (5x5 kernels), not initialised."""
    kernel = 4 if cfg.arch == "flux" else 5
    G = DenseGenerator(
        cfg.nz,
        cfg.ngf,
        cfg.nc,
        cfg.image_size,
        kernel=kernel,
        dense_bias=cfg.g_dense_bias,
        activation=cfg.g_activation,
    )
    D = DenseDiscriminator(
        cfg.ndf,
        cfg.nc,
        cfg.image_size,
        kernel=kernel,
        leaky_slope=cfg.leaky_slope,
        batchnorm=cfg.arch == "tf",
        dropout=cfg.d_dropout,
    )
    return G, D


def build_lin(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D of ``arch`` lin (linDCGAN), not initialised."""
    return (
        LinGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size),
        LinDiscriminator(
            cfg.ndf,
            cfg.nc,
            cfg.image_size,
            cfg.leaky_slope,
            input_bn=cfg.d_input_bn,
        ),
    )
