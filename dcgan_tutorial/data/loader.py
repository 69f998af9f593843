"""The in-memory loader: shuffled mini-batches from one uint8 tensor, scaled to [-1, 1] on the device."""

from __future__ import annotations

from typing import Iterator

import torch

from ..config import ConfigError
from .pixels import scale_images


class InMemoryLoader:
    """Shuffled mini-batches of uint8 images, scaled to [-1, 1] on the device.

    The data order of an epoch depends only on ``(seed, epoch)``, so training can
    stop and resume at any step and see the same batches. The last incomplete
    batch is dropped, as in the paper's and the PyTorch tutorial's loops
    (BatchNorm dislikes tiny batches).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        seed: int = 0,
        device: torch.device | str = "cpu",
        rank: int = 0,
        world_size: int = 1,
    ):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be uint8 of shape (N, C, H, W), got "
                f"{images.dtype} {tuple(images.shape)}"
            )
        if batch_size * world_size > len(images):
            raise ConfigError(
                "batch_size",
                batch_size,
                f"the dataset has only {len(images)} images; use at "
                f"most {len(images) // world_size}",
            )
        self.device = torch.device(device)
        self.images = images.to(self.device)  # the whole dataset, once
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.seed = seed
        # With several processes (DDP), each step's global batch of
        # batch_size * world_size images is split between ranks: rank r takes
        # its own slice of it.
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        """Batches (steps) per epoch."""
        return len(self.images) // (self.batch_size * self.world_size)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image indices of ``epoch`` (a permutation of range(N))."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=gen).to(self.device)

    def batches(
        self, epoch: int = 0, start: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (images (B, C, H, W) in [-1, 1], labels (B,)) of ``epoch``, from
        batch ``start`` on."""
        order = self.epoch_order(epoch)
        step_size = self.batch_size * self.world_size
        for i in range(start, len(self)):
            first = i * step_size + self.rank * self.batch_size
            idx = order[first : first + self.batch_size]
            yield scale_images(self.images[idx]), self.labels[idx]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.batches(0)
