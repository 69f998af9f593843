"""data: the datasets, one reader each, held in memory and scaled to [-1, 1].

These datasets are small (60,000 images of 28x28 bytes: 47 MB; CIFAR-10's 50,000 of 32x32x3:
154 MB), so the whole training set lives in one uint8 tensor, on the training device when it
fits. A batch is one index operation and one multiply-add: no per-image PIL work and no worker
processes per step. A folder of images (CelebA's ``img_align_celeba``, 200k faces: 2.5 GB at
64x64) is decoded, centre-cropped and resized once, when it is loaded.

Where the files live: ``--data-root``, else the environment variable ``DCGAN_TUTORIAL_DATA``,
else ``./data``. MNIST and Fashion-MNIST are laid out as torchvision expects
(``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``), CIFAR-10 as the extracted python archive
(``cifar-10-batches-py/data_batch_1`` ... ``test_batch``). For ``folder`` the data root *is*
the image folder: images directly in it, or one subfolder of images per class. ``emoji`` is drawn
from the colour emoji font the system installs (or ``NotoColorEmoji.ttf`` and ``emoji-test.txt``
in the data root): nothing to download.

    mnist.py    MNIST and Fashion-MNIST      cifar10.py  CIFAR-10       folder.py  any image folder
    emoji.py    emoji drawn from a colour font, grouped by Unicode (9 groups)
    errors.py   where the data lives, what goes wrong     pixels.py  uint8 <-> [-1, 1], resizing
    loader.py   ``InMemoryLoader``: the batches of a training run

``READERS`` maps a dataset name to its reader; ``load_images`` and ``make_loader`` use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from ..config import DATASET_CHANNELS, DATASETS, ConfigError
from . import cifar10, emoji, folder, mnist
from .errors import (
    DATA_ENV,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    resolve_data_root,
)
from .loader import InMemoryLoader
from .pixels import resize_images, scale_images, unscale_images


@dataclass(frozen=True)
class Reader:
    """How to read one dataset: ``load(root, train, download, verify, image_size, limit)`` and its class names."""

    load: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    class_names: Callable[[Path], list[str]]


READERS: dict[str, Reader] = {
    "mnist": Reader(
        lambda root, train, download, verify, image_size, limit: mnist.load_mnist(
            "mnist", root, train, download, verify, limit
        ),
        lambda root: mnist.CLASS_NAMES["mnist"],
    ),
    "fashion-mnist": Reader(
        lambda root, train, download, verify, image_size, limit: mnist.load_mnist(
            "fashion-mnist", root, train, download, verify, limit
        ),
        lambda root: mnist.CLASS_NAMES["fashion-mnist"],
    ),
    "cifar10": Reader(
        lambda root, train, download, verify, image_size, limit: tuple(
            t[:limit] for t in cifar10.load_cifar10(root, train, download, verify)
        ),
        lambda root: cifar10.CLASS_NAMES,
    ),
    # a folder has no train/test split: train=False gives the same images
    "folder": Reader(
        lambda root, train, download, verify, image_size, limit: (
            folder.load_image_folder(root, image_size or 64, limit)
        ),
        lambda root: folder.list_image_folder(root)[2],
    ),
    # drawn from the installed font, nothing downloaded; train=False: the held-out emoji
    "emoji": Reader(
        lambda root, train, download, verify, image_size, limit: emoji.load_emoji(
            root, train, image_size, limit
        ),
        lambda root: emoji.CLASS_NAMES,
    ),
}
CLASS_NAMES = {
    **mnist.CLASS_NAMES,
    "cifar10": cifar10.CLASS_NAMES,
    "emoji": emoji.CLASS_NAMES,
}  # a folder's classes are its subfolders


def _reader(name: str) -> Reader:
    if name not in READERS:
        raise ConfigError("dataset", name, f"choose one of {', '.join(DATASETS)}")
    return READERS[name]


def load_images(
    name: str = "mnist",
    data_root: Optional[str | os.PathLike] = None,
    train: bool = True,
    download: bool = True,
    *,
    verify: bool = True,
    image_size: Optional[int] = None,
    limit: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All images and labels of a dataset as tensors: images (N, C, H, W) uint8,
    labels (N,) int64.

    MNIST and Fashion-MNIST give (N, 1, 28, 28), CIFAR-10 (N, 3, 32, 32), a folder
    of images (N, 3, S, S) with S = ``image_size`` (default 64; see
    ``folder.load_image_folder``). ``download=True`` lets torchvision fetch
    missing files (on Colab or a machine online); when it cannot, a
    ``DatasetNotFoundError`` says which files are expected where. ``verify=False``
    skips the MD5 check of the downloaded files; ``limit`` keeps the first images.
    """
    reader = _reader(name)
    return reader.load(
        resolve_data_root(data_root), train, download, verify, image_size, limit
    )


def class_names(
    name: str, data_root: Optional[str | os.PathLike] = None
) -> list[str]:
    """The names of the labels 0, 1, ...: ``CLASS_NAMES``, or a folder's class subfolders."""
    return _reader(name).class_names(resolve_data_root(data_root))


def make_loader(
    name: str,
    image_size: int,
    batch_size: int,
    data_root: Optional[str | os.PathLike] = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    limit: Optional[int] = None,
    download: bool = True,
    nc: Optional[int] = None,
    rank: int = 0,
    world_size: int = 1,
    verify: bool = True,
) -> InMemoryLoader:
    """The training loader for a dataset at the model's ``image_size``.

    ``limit`` keeps only the first ``limit`` images (quick runs and tests; a folder's are the only
    ones decoded). ``nc``, the model's channels, is checked against the data's (grey 1, colour 3)
    when given, before anything is loaded. ``verify`` is passed to ``load_images``.
    """
    channels = DATASET_CHANNELS.get(name)
    if nc is not None and channels is not None and channels != nc:
        kind = {1: "grey (1 channel)", 3: "colour (3 channels)"}
        raise ConfigError(
            "nc",
            nc,
            f"{name} images are {kind.get(channels, channels)}: use a "
            f"model with nc={channels} (a preset made for this dataset)",
        )
    images, labels = load_images(
        name,
        data_root,
        train=True,
        download=download,
        verify=verify,
        image_size=image_size,
        limit=limit,
    )
    # a folder's images already have this size
    images = resize_images(images, image_size)
    return InMemoryLoader(
        images,
        labels,
        batch_size,
        seed=seed,
        device=device,
        rank=rank,
        world_size=world_size,
    )
