"""Spectral normalisation of D (Miyato et al. 2018): every layer's weight divided by its largest singular value.

A layer ``W`` changes its input's length by at most ``sigma(W)``, its largest singular value.
Dividing each of D's convolution and linear weights by an estimate of ``sigma(W)`` (one step
of power iteration per forward pass, carried over between steps) bounds how steeply D's logit
can change with its input, which keeps D's gradients to G tame. PyTorch's
``torch.nn.utils.parametrizations.spectral_norm`` does the work; the original weight is kept
as ``weight.original`` in the state dict. D's BatchNorm layers stay: they rescale activations
again, so the bound is on the layers, not on the whole of D.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def apply_spectral_norm(D: nn.Module) -> nn.Module:
    """Spectral-normalise D's Conv2d and Linear layers in place; returns D."""
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer in layers:
        spectral_norm(layer)
    return D
