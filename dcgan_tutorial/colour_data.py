"""Colour datasets: CIFAR-10 (torchvision's reader) and any folder of images (CelebA included).

``data.load_images("cifar10" | "folder", ...)`` calls these; the results are uint8 tensors
like MNIST's, so the rest of the package does not care where images came from.
"""
from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.datasets.utils import check_integrity, download_and_extract_archive

from .data import DATA_ENV, DatasetCorruptError, DatasetNotFoundError

CIFAR10 = torchvision.datasets.CIFAR10
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
# every file of the extracted archive that the reader opens, with its published MD5
CIFAR10_FILES = [*CIFAR10.train_list, *CIFAR10.test_list, [CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class _CIFAR10Reader(CIFAR10):
    """torchvision's CIFAR-10 reader, with its MD5 checks left to ``load_cifar10`` (``verify``)."""

    def _check_integrity(self) -> bool:  # torchvision: every file has the published MD5
        return all(Path(self.root, self.base_folder, f).is_file() for f, _ in CIFAR10_FILES)

    def _load_meta(self) -> None:  # as torchvision's, without the MD5 check
        with open(Path(self.root, self.base_folder, self.meta["filename"]), "rb") as f:
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
            return np.asarray(entry["data"]).shape == (len(entry["labels"]), 3 * 32 * 32)
        except Exception:  # unpickling garbage raises many kinds of error
            return False
    return [name for name in names if not readable(name)] or names  # none alone: blame them all


def load_cifar10(root: Path, train: bool = True, download: bool = True,
                 verify: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from ``root/cifar-10-batches-py``: images (N, 3, 32, 32) uint8, labels (N,) int64.

    N is 50,000 (``data_batch_1..5``) or, with ``train=False``, 10,000 (``test_batch``).
    """
    folder = root / CIFAR10.base_folder
    missing = [f for f, _ in CIFAR10_FILES if not (folder / f).is_file()]
    cause = "downloading is switched off"
    if missing and download:
        try:
            download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
        except Exception as err:  # no network, a proxy, a full disk...
            cause = (str(err).strip().splitlines() or [type(err).__name__])[0]
        missing = [f for f, _ in CIFAR10_FILES if not (folder / f).is_file()]
    if missing:
        expected = ", ".join(f for f, _ in CIFAR10_FILES)
        partly = f" ({', '.join(missing)} missing)" if len(missing) < len(CIFAR10_FILES) else ""
        raise DatasetNotFoundError(
            f"dataset 'cifar10' not found in {folder} and it could not be downloaded ({cause}). Expected files: "
            f"{expected} in {folder}{partly}. Download {CIFAR10.filename} from {CIFAR10_URL} and extract it in "
            f"{root}, or point at the folder that holds {CIFAR10.base_folder} with --data-root DIR or the "
            f"environment variable {DATA_ENV}=DIR.")
    bad = [f for f, md5 in CIFAR10_FILES if verify and not check_integrity(str(folder / f), md5)]
    if bad:
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {folder} failed the checksum check (a truncated or corrupt download). Delete "
            f"{'it' if len(bad) == 1 else 'them'} and extract {CIFAR10.filename} again (or let it be downloaded "
            f"again), or pass verify=False to read files you made yourself.")
    try:
        dataset = _CIFAR10Reader(str(root), train=train, download=False)
        if len(dataset.data) != len(dataset.targets):  # torchvision pairs them without looking
            raise ValueError(f"{len(dataset.data)} images but {len(dataset.targets)} labels")
    except Exception as err:  # unpickling garbage raises assorted errors
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        split = [f for f, _ in (CIFAR10.train_list if train else CIFAR10.test_list)] + [CIFAR10.meta["filename"]]
        bad = _unreadable_cifar10_files(folder, split)
        raise DatasetCorruptError(
            f"{', '.join(bad)} in {folder} could not be read as CIFAR-10 python batches ({first}): "
            f"{'it is' if len(bad) == 1 else 'they are'} damaged. Delete {'it' if len(bad) == 1 else 'them'} and "
            f"extract {CIFAR10.filename} (from {CIFAR10_URL}) again.") from err
    # torchvision holds (N, 32, 32, 3) numpy: channels first, as the models want
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(dataset.targets, dtype=torch.int64)


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    """The image files in ``folder`` (and below it if ``recursive``), sorted.

    Hidden names are skipped: Jupyter's ``.ipynb_checkpoints`` and the ``._name.jpg`` files macOS
    leaves on copied drives are not images of the dataset.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found += [Path(dirpath, f) for f in filenames
                  if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS]
    return sorted(found)


def list_image_folder(folder: Path) -> tuple[list[Path], list[int], list[str]]:
    """The image files of a folder, sorted, with their labels (N,) and the class names.

    Images directly in ``folder``: one class, every label 0 (subfolders are then ignored).
    Otherwise ``ImageFolder`` style: each subfolder holding images (searched recursively) is a
    class, labelled by its index among those subfolders sorted by name.
    """
    folder = Path(folder)
    fix = (f"Point --data-root DIR (or the environment variable {DATA_ENV}=DIR) at the folder that holds "
           f"the images, e.g. CelebA's extracted img_align_celeba folder.")
    if not folder.is_dir():
        raise DatasetNotFoundError(f"image folder {folder} does not exist. {fix}")
    files = _image_files(folder, recursive=False)
    if files:
        return files, [0] * len(files), [folder.name]
    labels, classes = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = _image_files(sub, recursive=True)
        if found:  # a subfolder without images is not a class
            files, labels = files + found, labels + [len(classes)] * len(found)
            classes.append(sub.name)
    if not files:
        raise DatasetNotFoundError(
            f"no images found in image folder {folder}: looked for {', '.join(IMAGE_EXTENSIONS)} files (any case) "
            f"directly in it or in its subfolders (one per class). {fix}")
    return files, labels, classes


def _read_square(path: Path, size: int) -> Optional[np.ndarray]:
    """One image file as uint8 (size, size, 3): RGB, centre square, resized; None if unreadable."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))  # JPEG: decode at 1/2, 1/4, 1/8 scale when still >= size (faster)
            img = img.convert("RGB")  # grey, palette and RGBA images become 3 channels
    except Exception:  # PIL raises OSError, SyntaxError, ValueError... on damaged files
        return None
    w, h = img.size
    side = min(w, h)  # the largest centred square: faces and objects sit in the middle
    left, top = (w - side) // 2, (h - side) // 2
    # bilinear, antialiased when shrinking (PIL widens the filter), like resize_images
    return np.array(img.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side)))


def load_image_folder(folder: Path, image_size: int = 64,
                      limit: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A folder of images (see ``list_image_folder``): images (N, 3, S, S) uint8, labels (N,) int64.

    Each image is centre-cropped to a square and resized to S = ``image_size``. ``limit`` keeps
    the first ``limit`` files (sorted order) before anything is decoded. A folder has no
    train/test split, so ``load_images(..., train=False)`` returns these same images.
    """
    files, labels, _ = list_image_folder(folder)
    files, labels = files[:limit], labels[:limit]
    images = torch.empty((len(files), 3, image_size, image_size), dtype=torch.uint8)
    bad = []
    # PIL releases the GIL while decoding, so threads decode large folders several times faster
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, array in enumerate(pool.map(lambda p: _read_square(p, image_size), files)):
            if array is None:
                bad.append(str(files[i].relative_to(folder)))
            else:
                images[i] = torch.from_numpy(array).permute(2, 0, 1)  # (S, S, 3) -> (3, S, S)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DatasetCorruptError(
            f"{len(bad)} of the {len(files)} image files in {folder} could not be read (damaged or not images): "
            f"{', '.join(bad[:5])}{more}. Delete or replace {'it' if len(bad) == 1 else 'them'}.")
    return images, torch.tensor(labels, dtype=torch.int64)
