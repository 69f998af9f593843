"""Class-aware GANs: a conditional DCGAN, and one DCGAN pair per class.

Both take the class of each image as well: ``G(z, labels)`` and ``D(images, labels)`` with
``labels`` of shape (B,), ints in [0, n_classes). Training feeds G the labels of the real
batch, so G learns each class as often as the data shows it (``train.train_step``).
``n_classes_of(G)`` (``models/__init__``) is the one test of "does this model take labels?".

* ``cond`` (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets", on the DCGAN of
  ``dcgan.py``): G reads the class as a one-hot vector next to z; D reads it as one-hot
  planes next to the image's channels, so D can reject a good 3 that was asked to be a 7. G
  must then make the digit it was asked for.
* ``class`` (the PyTorch seed's classDCGAN): no sharing at all. One G/D pair per class, each
  an ordinary DCGAN; each image goes to its class's pair. Sampling a class runs that class's G.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .dcgan import Discriminator, Generator


def one_hot(
    labels: torch.Tensor, n_classes: int, dtype: torch.dtype
) -> torch.Tensor:
    """labels (B,) ints in [0, n_classes) -> (B, n_classes) with a 1 at each label."""
    return F.one_hot(labels.long(), n_classes).to(dtype)


class ConditionalGenerator(nn.Module):
    """G(z, labels): the DCGAN generator with the one-hot class appended to z (nz
    + n_classes inputs)."""

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        nc: int = 1,
        image_size: int = 28,
        n_classes: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        self.net = Generator(nz + n_classes, ngf, nc, image_size, activation)
        self.nz, self.n_classes = nz, n_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """z: (B, nz, 1, 1) or (B, nz); labels: (B,) -> images (B, nc, S, S) in
        [-1, 1]."""
        z = z.flatten(1)
        # (B, nz + n_classes)
        zy = torch.cat([z, one_hot(labels, self.n_classes, z.dtype)], dim=1)
        return self.net(zy[:, :, None, None])


class ConditionalDiscriminator(nn.Module):
    """D(images, labels): the DCGAN discriminator reading n_classes one-hot planes
    next to the image."""

    def __init__(
        self,
        ndf: int = 64,
        nc: int = 1,
        image_size: int = 28,
        n_classes: int = 10,
        leaky_slope: float = 0.2,
        input_bn: bool = False,
    ):
        super().__init__()
        self.net = Discriminator(
            ndf, nc + n_classes, image_size, leaky_slope, input_bn
        )
        self.n_classes = n_classes

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """images: (B, nc, S, S) in [-1, 1]; labels: (B,) -> logits (B,)."""
        b, _, h, w = images.shape
        planes = one_hot(labels, self.n_classes, images.dtype)[
            :, :, None, None
        ].expand(b, self.n_classes, h, w)
        # (B, nc + n_classes, S, S) -> (B,)
        return self.net(torch.cat([images, planes], dim=1))


class PerClass(nn.Module):
    """One model per class: ``forward(x, labels)`` runs each class's model on that
    class's rows."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        self.per_class = nn.ModuleList(models)
        self.n_classes = len(models)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """x: (B, ...) inputs; labels: (B,) -> the outputs of each row's class
        model, in row order."""
        out = None
        for k in labels.unique().tolist():
            rows = (labels == k).nonzero().flatten()
            y = self.per_class[k](x[rows])
            if out is None:
                out = y.new_empty((len(labels), *y.shape[1:]))
            # out of place: autograd sees every class's part
            out = out.index_copy(0, rows, y)
        return out


class ClassGenerator(PerClass):
    """classDCGAN's G: n_classes DCGAN generators; ``G(z, labels)`` images (B, nc,
    S, S) in [-1, 1]."""

    def __init__(
        self,
        nz: int = 100,
        ngf: int = 64,
        nc: int = 3,
        image_size: int = 32,
        n_classes: int = 10,
        activation: str = "relu",
    ):
        super().__init__(
            [
                Generator(nz, ngf, nc, image_size, activation)
                for _ in range(n_classes)
            ]
        )
        self.nz = nz

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return super().forward(z.flatten(1)[:, :, None, None], labels)


class ClassDiscriminator(PerClass):
    """classDCGAN's D: n_classes DCGAN discriminators; ``D(images, labels)`` logits (B,)."""

    def __init__(
        self,
        ndf: int = 64,
        nc: int = 3,
        image_size: int = 32,
        n_classes: int = 10,
        leaky_slope: float = 0.2,
        input_bn: bool = False,
    ):
        super().__init__(
            [
                Discriminator(ndf, nc, image_size, leaky_slope, input_bn)
                for _ in range(n_classes)
            ]
        )


def _class_aware_args(cfg: ModelConfig) -> tuple[dict, dict]:
    g_args = dict(
        nz=cfg.nz,
        ngf=cfg.ngf,
        nc=cfg.nc,
        image_size=cfg.image_size,
        n_classes=cfg.n_classes,
        activation=cfg.g_activation,
    )
    d_args = dict(
        ndf=cfg.ndf,
        nc=cfg.nc,
        image_size=cfg.image_size,
        n_classes=cfg.n_classes,
        leaky_slope=cfg.leaky_slope,
        input_bn=cfg.d_input_bn,
    )
    return g_args, d_args


def build_cond(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D of ``arch`` cond (the conditional DCGAN), not initialised."""
    g_args, d_args = _class_aware_args(cfg)
    return ConditionalGenerator(**g_args), ConditionalDiscriminator(**d_args)


def build_class(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D of ``arch`` class (one DCGAN pair per class), not initialised."""
    g_args, d_args = _class_aware_args(cfg)
    return ClassGenerator(**g_args), ClassDiscriminator(**d_args)


def class_labels(
    n: int, n_classes: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(n,) labels in blocks: the first n / n_classes are class 0, and so on (a grid row per class)."""
    return (torch.arange(n, device=device) * n_classes // n).long()
