"""Moving through G's noise space: fixed orthonormal directions, and spherical interpolation.

The latent explorer (``notebook/explorer.py``) and the live explorer of the rendered book
(``export.py`` writes the directions next to the ONNX graph) both use these, so a slider
means the same move in the notebook and in the browser.
"""

from __future__ import annotations

import torch


def orthonormal_directions(nz: int, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` orthonormal unit vectors of length ``nz`` (k, nz): QR of a seeded Gaussian matrix."""
    if not 1 <= k <= nz:
        raise ValueError(
            f"k={k} directions is not allowed for nz={nz}: use 1 <= k <= nz"
        )
    gaussian = torch.randn(
        nz, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    q, _ = torch.linalg.qr(gaussian)  # (nz, k), orthonormal columns
    return q.T.float().contiguous()


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation, row by row, from ``z0`` (t=0) to ``z1`` (t=1).

    Gaussian noise in many dimensions lies near a sphere of radius sqrt(nz); a
    straight line between two such points passes closer to the centre, where G
    rarely saw any z. Slerp keeps to the sphere (White, 2016, "Sampling generative
    networks", arXiv:1609.04468).
    """
    if t == 0:
        return z0.clone()
    if t == 1:
        return z1.clone()
    a, b = z0.flatten(1).double(), z1.flatten(1).double()
    cos = ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    # (anti)parallel rows: the straight line is as good as any
    parallel = sin.abs() < 1e-6
    w0 = torch.where(
        parallel,
        1.0 - t,
        torch.sin((1.0 - t) * omega) / sin.where(~parallel, 1.0),
    )
    w1 = torch.where(
        parallel,
        torch.full_like(omega, t),
        torch.sin(t * omega) / sin.where(~parallel, 1.0),
    )
    return (w0[:, None] * a + w1[:, None] * b).to(z0.dtype).view_as(z0)
