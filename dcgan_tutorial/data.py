"""Data: MNIST, Fashion-MNIST, CIFAR-10 or a folder of images, held in memory, scaled to [-1, 1].

These datasets are small (60,000 images of 28x28 bytes: 47 MB; CIFAR-10's 50,000 of 32x32x3:
154 MB), so the whole training set lives in one uint8 tensor, on the training device when it
fits. A batch is one index operation and one multiply-add: no per-image PIL work and no worker
processes per step. A folder of images (CelebA's ``img_align_celeba``, 200k faces: 2.5 GB at
64x64) is decoded, centre-cropped and resized once, when it is loaded.

Where the files live: ``--data-root``, else the environment variable ``DCGAN_TUTORIAL_DATA``,
else ``./data``. MNIST and Fashion-MNIST are laid out as torchvision expects
(``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``), CIFAR-10 as the extracted python archive
(``cifar-10-batches-py/data_batch_1`` ... ``test_batch``). For ``folder`` the data root *is*
the image folder: images directly in it, or one subfolder of images per class.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
import torchvision
from torchvision.datasets.utils import check_integrity

from .config import DATASET_CHANNELS, DATASETS, ConfigError

DATA_ENV = "DCGAN_TUTORIAL_DATA"

# name -> (torchvision class, folder under the root, raw files it reads)
_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
DATASET_SOURCES = {
    "mnist": (torchvision.datasets.MNIST, "MNIST", _IDX_FILES),
    "fashion-mnist": (torchvision.datasets.FashionMNIST, "FashionMNIST", _IDX_FILES),
}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}  # a folder's classes are its subfolders: see class_names()


class DatasetError(Exception):
    """The dataset cannot be loaded; the message names the files and the fix."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not in the data root and could not be downloaded."""


class DatasetCorruptError(DatasetError):
    """The dataset's files are there but truncated, corrupt or not what torchvision expects."""


def resolve_data_root(data_root: Optional[str | os.PathLike] = None) -> Path:
    """The data folder: the argument, else ``$DCGAN_TUTORIAL_DATA``, else ``./data``."""
    if data_root is not None:
        return Path(data_root).expanduser()
    return Path(os.environ.get(DATA_ENV) or "data").expanduser()


def _missing_message(name: str, root: Path, cause: object) -> str:
    _, folder, files = DATASET_SOURCES[name]
    raw = root / folder / "raw"
    return (
        f"dataset {name!r} not found in {raw} and it could not be downloaded ({cause}). "
        f"Expected files: {', '.join(files)} in {raw}. Put them there, or point at the folder "
        f"that holds {folder}/raw with --data-root DIR or the environment variable {DATA_ENV}=DIR."
    )


def _raw_files_present(name: str, root: Path) -> bool:
    """Every file is there, compressed or already extracted by torchvision."""
    _, folder, files = DATASET_SOURCES[name]
    raw = root / folder / "raw"
    return all((raw / f).is_file() or (raw / f.removesuffix(".gz")).is_file() for f in files)


def check_dataset_files(name: str, root: Path) -> None:
    """Compare the downloaded ``.gz`` files that are present with torchvision's MD5 checksums."""
    cls, folder, _ = DATASET_SOURCES[name]
    raw = root / folder / "raw"
    bad = [f for f, md5 in cls.resources if (raw / f).is_file() and not check_integrity(str(raw / f), md5)]
    if bad:
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {raw} failed the checksum check (a truncated or corrupt download). Delete "
            f"{'it' if len(bad) == 1 else 'them'} so {'it is' if len(bad) == 1 else 'they are'} downloaded "
            f"again, or replace {'it' if len(bad) == 1 else 'them'} with the original file(s)."
        )


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
    """All images and labels of a dataset as tensors: images (N, C, H, W) uint8, labels (N,) int64.

    MNIST and Fashion-MNIST give (N, 1, 28, 28), CIFAR-10 (N, 3, 32, 32), a folder of images
    (N, 3, S, S) with S = ``image_size`` (default 64; see ``load_image_folder``).
    ``download=True`` lets torchvision fetch missing files (on Colab or a machine online);
    when it cannot, a ``DatasetNotFoundError`` says which files are expected where.
    ``verify=False`` skips the MD5 check of the downloaded files; ``limit`` keeps the first images.
    """
    if name not in DATASETS:
        raise ConfigError("dataset", name, f"choose one of {', '.join(DATASETS)}")
    root = resolve_data_root(data_root)
    if name == "folder":
        from .colour_data import load_image_folder
        return load_image_folder(root, image_size or 64, limit)
    if name == "cifar10":
        from .colour_data import load_cifar10
        images, labels = load_cifar10(root, train, download, verify)
        return images[:limit], labels[:limit]
    cls, folder, _ = DATASET_SOURCES[name]
    if verify:
        check_dataset_files(name, root)
    present = _raw_files_present(name, root)
    try:
        dataset = cls(root=str(root), train=train, download=download)
    except Exception as err:  # torchvision: RuntimeError when missing, assorted errors when damaged
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if present:
            raise DatasetCorruptError(
                f"the {name} files in {root / folder / 'raw'} could not be read ({first}): they are damaged. "
                f"Delete that folder's files so they are downloaded again, or replace them with the originals."
            ) from err
        cause = "downloading is switched off" if not download else first
        raise DatasetNotFoundError(_missing_message(name, root, cause)) from err
    images = dataset.data.unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28), uint8 in [0, 255]
    return images[:limit].contiguous(), dataset.targets[:limit].long()


def class_names(name: str, data_root: Optional[str | os.PathLike] = None) -> list[str]:
    """The names of the labels 0, 1, ...: ``CLASS_NAMES``, or a folder's class subfolders."""
    if name == "folder":
        from .colour_data import list_image_folder
        return list_image_folder(resolve_data_root(data_root))[2]
    return CLASS_NAMES[name]


def resize_images(images: torch.Tensor, size: int, chunk: int = 8192) -> torch.Tensor:
    """Resize uint8 images (N, C, H, W) to (N, C, size, size), once, before training.

    Bilinear with antialiasing, as ``torchvision.transforms.Resize`` does on tensors.
    """
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for part in images.split(chunk):
        resized = F.interpolate(part.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def scale_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels in [0, 255] -> float in [-1, 1], the range of G's tanh output."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def unscale_images(images: torch.Tensor) -> torch.Tensor:
    """float images in [-1, 1] -> uint8 pixels in [0, 255] (for saving and display)."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


class InMemoryLoader:
    """Shuffled mini-batches from one uint8 image tensor, scaled to [-1, 1] on the device.

    The data order of an epoch depends only on ``(seed, epoch)``, so training can stop and
    resume at any step and see the same batches. The last incomplete batch is dropped, as in
    the paper's and the PyTorch tutorial's loops (BatchNorm dislikes tiny batches).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 seed: int = 0, device: torch.device | str = "cpu", rank: int = 0, world_size: int = 1):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"images must be uint8 of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if batch_size * world_size > len(images):
            raise ConfigError("batch_size", batch_size,
                              f"the dataset has only {len(images)} images; use at most {len(images) // world_size}")
        self.device = torch.device(device)
        self.images = images.to(self.device)  # the whole dataset, once
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.seed = seed
        # With several processes (DDP), each step's global batch of batch_size * world_size
        # images is split between ranks: rank r takes its own slice of it.
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        """Batches (steps) per epoch."""
        return len(self.images) // (self.batch_size * self.world_size)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image indices of ``epoch`` (a permutation of range(N))."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=gen).to(self.device)

    def batches(self, epoch: int = 0, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (images (B, C, H, W) in [-1, 1], labels (B,)) of ``epoch``, from batch ``start`` on."""
        order = self.epoch_order(epoch)
        step_size = self.batch_size * self.world_size
        for i in range(start, len(self)):
            first = i * step_size + self.rank * self.batch_size
            idx = order[first:first + self.batch_size]
            yield scale_images(self.images[idx]), self.labels[idx]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.batches(0)


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
        raise ConfigError("nc", nc, f"{name} images are {kind.get(channels, channels)}: use a "
                                    f"model with nc={channels} (a preset made for this dataset)")
    images, labels = load_images(name, data_root, train=True, download=download, verify=verify,
                                 image_size=image_size, limit=limit)
    images = resize_images(images, image_size)  # a folder's images already have this size
    return InMemoryLoader(images, labels, batch_size, seed=seed, device=device, rank=rank, world_size=world_size)
