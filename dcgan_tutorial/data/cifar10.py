"""CIFAR-10 through torchvision's reader: ``ROOT/cifar-10-batches-py``, MD5-checked."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision.datasets.utils import (
    check_integrity,
    download_and_extract_archive,
)

from .errors import DATA_ENV, DatasetCorruptError, DatasetNotFoundError

CIFAR10 = torchvision.datasets.CIFAR10
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
# every file of the extracted archive that the reader opens, with its published MD5
CIFAR10_FILES = [
    *CIFAR10.train_list,
    *CIFAR10.test_list,
    [CIFAR10.meta["filename"], CIFAR10.meta["md5"]],
]
CLASS_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


class _CIFAR10Reader(CIFAR10):
    """torchvision's CIFAR-10 reader, with its MD5 checks left to ``load_cifar10`` (``verify``)."""

    def _check_integrity(
        self,
    ) -> bool:  # torchvision: every file has the published MD5
        return all(
            Path(self.root, self.base_folder, f).is_file()
            for f, _ in CIFAR10_FILES
        )

    def _load_meta(self) -> None:  # as torchvision's, without the MD5 check
        with open(
            Path(self.root, self.base_folder, self.meta["filename"]), "rb"
        ) as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


def _unreadable_cifar10_files(folder: Path, names: list[str]) -> list[str]:
    """The files among ``names`` that are not CIFAR-10 pickles (a batch: (n, 3072) pixels, n labels)."""

    def readable(name: str) -> bool:
        try:
            with open(folder / name, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            if name == CIFAR10.meta["filename"]:
                return len(entry[CIFAR10.meta["key"]]) == 10
            return np.asarray(entry["data"]).shape == (
                len(entry["labels"]),
                3 * 32 * 32,
            )
        except Exception:  # unpickling garbage raises many kinds of error
            return False

    return [
        name for name in names if not readable(name)
    ] or names  # none alone: blame them all


def load_cifar10(
    root: Path, train: bool = True, download: bool = True, verify: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from ``root/cifar-10-batches-py``: images (N, 3, 32, 32) uint8, labels (N,) int64.

    N is 50,000 (``data_batch_1..5``) or, with ``train=False``, 10,000 (``test_batch``).
    """
    folder = root / CIFAR10.base_folder
    missing = [f for f, _ in CIFAR10_FILES if not (folder / f).is_file()]
    cause = "downloading is switched off"
    if missing and download:
        try:
            download_and_extract_archive(
                CIFAR10.url,
                str(root),
                filename=CIFAR10.filename,
                md5=CIFAR10.tgz_md5,
            )
        except Exception as err:  # no network, a proxy, a full disk...
            cause = (str(err).strip().splitlines() or [type(err).__name__])[0]
        missing = [f for f, _ in CIFAR10_FILES if not (folder / f).is_file()]
    if missing:
        expected = ", ".join(f for f, _ in CIFAR10_FILES)
        partly = (
            f" ({', '.join(missing)} missing)"
            if len(missing) < len(CIFAR10_FILES)
            else ""
        )
        raise DatasetNotFoundError(
            f"dataset 'cifar10' not found in {folder} and it could not be downloaded ({cause}). Expected files: "
            f"{expected} in {folder}{partly}. Download {CIFAR10.filename} from {CIFAR10_URL} and extract it in "
            f"{root}, or point at the folder that holds {CIFAR10.base_folder} with --data-root DIR or the "
            f"environment variable {DATA_ENV}=DIR."
        )
    bad = [
        f
        for f, md5 in CIFAR10_FILES
        if verify and not check_integrity(str(folder / f), md5)
    ]
    if bad:
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {folder} failed the checksum check (a truncated or corrupt download). Delete "
            f"{'it' if len(bad) == 1 else 'them'} and extract {CIFAR10.filename} again (or let it be downloaded "
            f"again), or pass verify=False to read files you made yourself."
        )
    try:
        dataset = _CIFAR10Reader(str(root), train=train, download=False)
        if len(dataset.data) != len(
            dataset.targets
        ):  # torchvision pairs them without looking
            raise ValueError(
                f"{len(dataset.data)} images but {len(dataset.targets)} labels"
            )
    except Exception as err:  # unpickling garbage raises assorted errors
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        split = [
            f for f, _ in (CIFAR10.train_list if train else CIFAR10.test_list)
        ] + [CIFAR10.meta["filename"]]
        bad = _unreadable_cifar10_files(folder, split)
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {folder} could not be read as CIFAR-10 python batches ({first}): "
            f"{'it is' if len(bad) == 1 else 'they are'} damaged. Delete {'it' if len(bad) == 1 else 'them'} and "
            f"extract {CIFAR10.filename} (from {CIFAR10_URL}) again."
        ) from err
    # torchvision holds (N, 32, 32, 3) numpy: channels first, as the models want
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(dataset.targets, dtype=torch.int64)
