"""MNIST and Fashion-MNIST through ``torchvision.datasets``, laid out as torchvision expects.

Files: ``ROOT/MNIST/raw/*.gz`` and ``ROOT/FashionMNIST/raw/*.gz``; torchvision downloads them
when they are missing and a network is there. Their MD5 checksums are checked first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torchvision
from torchvision.datasets.utils import check_integrity

from .errors import DATA_ENV, DatasetCorruptError, DatasetNotFoundError

# name -> (torchvision class, folder under the root, raw files it reads)
_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
DATASET_SOURCES = {
    "mnist": (torchvision.datasets.MNIST, "MNIST", _IDX_FILES),
    "fashion-mnist": (
        torchvision.datasets.FashionMNIST,
        "FashionMNIST",
        _IDX_FILES,
    ),
}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


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
    return all(
        (raw / f).is_file() or (raw / f.removesuffix(".gz")).is_file()
        for f in files
    )


def check_dataset_files(name: str, root: Path) -> None:
    """Compare the downloaded ``.gz`` files that are present with torchvision's MD5 checksums."""
    cls, folder, _ = DATASET_SOURCES[name]
    raw = root / folder / "raw"
    bad = [
        f
        for f, md5 in cls.resources
        if (raw / f).is_file() and not check_integrity(str(raw / f), md5)
    ]
    if bad:
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {raw} failed the checksum check (a truncated or corrupt download). Delete "
            f"{'it' if len(bad) == 1 else 'them'} so {'it is' if len(bad) == 1 else 'they are'} downloaded "
            f"again, or replace {'it' if len(bad) == 1 else 'them'} with the original file(s)."
        )


def load_mnist(
    name: str,
    root: Path,
    train: bool = True,
    download: bool = True,
    verify: bool = True,
    limit: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST or Fashion-MNIST (``name``): images (N, 1, 28, 28) uint8, labels (N,) int64."""
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
    # (N, 28, 28) -> (N, 1, 28, 28), uint8 in [0, 255]
    images = dataset.data.unsqueeze(1)
    return images[:limit].contiguous(), dataset.targets[:limit].long()
