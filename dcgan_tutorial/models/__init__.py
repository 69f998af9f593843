"""models: the networks. One module per family, and the table that picks one by name.

    dcgan.py        the paper's G and D (and the DCGAN weight initialisation)
    variants.py     the seed systems' own G and D (dense projection, 5x5 kernels, linear head)
    conditional.py  class-aware models: a conditional DCGAN, and one G/D pair per class

``ARCHITECTURES`` maps ``ModelConfig.arch`` to its builder; this is the only place that
chooses an architecture, so no model module imports another family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..config import ConfigError, ModelConfig
from .conditional import (
    ClassDiscriminator,
    ClassGenerator,
    ConditionalDiscriminator,
    ConditionalGenerator,
    PerClass,
    build_class,
    build_cond,
    class_labels,
    one_hot,
)
from .dcgan import (
    Discriminator,
    Generator,
    build_dcgan,
    count_parameters,
    dcgan_weights_init,
    g_activation,
)
from .variants import (
    DenseDiscriminator,
    DenseGenerator,
    LinDiscriminator,
    LinGenerator,
    Reshape,
    build_dense,
    build_lin,
)


@dataclass(frozen=True)
class Architecture:
    """How to build one ``arch``, and what its configs may ask of it."""

    build: Callable[[ModelConfig], tuple[nn.Module, nn.Module]]
    # G(z, labels), D(images, labels): needs n_classes >= 2
    class_aware: bool = False
    optional_batchnorm: bool = False  # ModelConfig.batchnorm=False is allowed


ARCHITECTURES: dict[str, Architecture] = {
    "dcgan": Architecture(
        build_dcgan, optional_batchnorm=True
    ),  # the paper (dcgan.py)
    "flux": Architecture(
        build_dense
    ),  # the Julia/Flux package and its tutorial (variants.py)
    "tf": Architecture(
        build_dense
    ),  # the TensorFlow MNIST-at-64x64 model (variants.py)
    "lin": Architecture(build_lin),  # the PyTorch seed's linDCGAN (variants.py)
    "cond": Architecture(
        build_cond, class_aware=True
    ),  # Mirza & Osindero 2014 (conditional.py)
    "class": Architecture(
        build_class, class_aware=True
    ),  # the PyTorch seed's classDCGAN (conditional.py)
}


def architecture(cfg: ModelConfig) -> Architecture:
    """The architecture ``cfg`` names, checked against what it allows; a ``ConfigError`` says what is wrong."""
    arch = ARCHITECTURES.get(cfg.arch)
    if arch is None:
        raise ConfigError(
            "arch", cfg.arch, f"choose one of {', '.join(ARCHITECTURES)}"
        )
    if arch.class_aware and (
        isinstance(cfg.n_classes, bool)
        or not isinstance(cfg.n_classes, int)
        or cfg.n_classes < 2
    ):
        raise ConfigError(
            "n_classes",
            cfg.n_classes,
            f"arch {cfg.arch!r} needs the number of classes (>= 2)",
        )
    if not arch.class_aware and cfg.n_classes != 0:
        raise ConfigError(
            "n_classes",
            cfg.n_classes,
            f"arch {cfg.arch!r} is unconditional: use 0, or arch cond/class",
        )
    if not cfg.batchnorm and not arch.optional_batchnorm:
        raise ConfigError(
            "batchnorm",
            cfg.batchnorm,
            "only arch 'dcgan' can drop its batchnorm layers",
        )
    return arch


def build_models(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """G and D for ``cfg``, initialised the DCGAN way. Seed ``torch`` first for repeatable weights."""
    G, D = architecture(cfg).build(cfg)
    G.apply(dcgan_weights_init)
    D.apply(dcgan_weights_init)
    if cfg.spectral_norm:  # after the init: each layer is divided by its initial weights' largest singular value
        from ..tricks.spectral import apply_spectral_norm

        apply_spectral_norm(D)
    return G, D


def build_generator(cfg: ModelConfig) -> nn.Module:
    """G alone, for loading trained weights into (not initialised)."""
    return architecture(cfg).build(cfg)[0]


def n_classes_of(model: nn.Module) -> int:
    """The number of classes a model takes as labels (``G(z, labels)``), 0 for an unconditional one."""
    return getattr(getattr(model, "module", model), "n_classes", 0)


__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "ClassDiscriminator",
    "ClassGenerator",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "DenseDiscriminator",
    "DenseGenerator",
    "Discriminator",
    "Generator",
    "LinDiscriminator",
    "LinGenerator",
    "PerClass",
    "Reshape",
    "architecture",
    "build_generator",
    "build_models",
    "class_labels",
    "count_parameters",
    "dcgan_weights_init",
    "g_activation",
    "n_classes_of",
    "one_hot",
]
