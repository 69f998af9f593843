"""Any folder of images (CelebA's ``img_align_celeba`` included): flat, or one subfolder per class.

Each image is decoded, centre-cropped to a square and resized once, when the folder is loaded.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from .errors import DATA_ENV, DatasetCorruptError, DatasetNotFoundError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    """The image files in ``folder`` (and below it if ``recursive``), sorted.

    Hidden names are skipped: Jupyter's ``.ipynb_checkpoints`` and the ``._name.jpg`` files macOS
    leaves on copied drives are not images of the dataset.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = (
            sorted(d for d in dirnames if not d.startswith("."))
            if recursive
            else []
        )
        found += [
            Path(dirpath, f)
            for f in filenames
            if not f.startswith(".")
            and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        ]
    return sorted(found)


def list_image_folder(folder: Path) -> tuple[list[Path], list[int], list[str]]:
    """The image files of a folder, sorted, with their labels (N,) and the class names.

    Images directly in ``folder``: one class, every label 0 (subfolders are then ignored).
    Otherwise ``ImageFolder`` style: each subfolder holding images (searched recursively) is a
    class, labelled by its index among those subfolders sorted by name.
    """
    folder = Path(folder)
    fix = (
        f"Point --data-root DIR (or the environment variable {DATA_ENV}=DIR) at the folder that holds "
        f"the images, e.g. CelebA's extracted img_align_celeba folder."
    )
    if not folder.is_dir():
        raise DatasetNotFoundError(f"image folder {folder} does not exist. {fix}")
    files = _image_files(folder, recursive=False)
    if files:
        return files, [0] * len(files), [folder.name]
    labels, classes = [], []
    for sub in sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        found = _image_files(sub, recursive=True)
        if found:  # a subfolder without images is not a class
            files, labels = files + found, labels + [len(classes)] * len(found)
            classes.append(sub.name)
    if not files:
        raise DatasetNotFoundError(
            f"no images found in image folder {folder}: looked for {', '.join(IMAGE_EXTENSIONS)} files (any case) "
            f"directly in it or in its subfolders (one per class). {fix}"
        )
    return files, labels, classes


def _read_square(path: Path, size: int) -> Optional[np.ndarray]:
    """One image file as uint8 (size, size, 3): RGB, centre square, resized; None if unreadable."""
    try:
        with Image.open(path) as img:
            # JPEG: decode at 1/2, 1/4, 1/8 scale when still >= size (faster)
            img.draft("RGB", (size, size))
            # grey, palette and RGBA images become 3 channels
            img = img.convert("RGB")
    except (
        Exception
    ):  # PIL raises OSError, SyntaxError, ValueError... on damaged files
        return None
    w, h = img.size
    # the largest centred square: faces and objects sit in the middle
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    # bilinear, antialiased when shrinking (PIL widens the filter), like resize_images
    return np.array(
        img.resize(
            (size, size),
            Image.Resampling.BILINEAR,
            box=(left, top, left + side, top + side),
        )
    )


def load_image_folder(
    folder: Path, image_size: int = 64, limit: Optional[int] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A folder of images (see ``list_image_folder``): images (N, 3, S, S) uint8, labels (N,) int64.

    Each image is centre-cropped to a square and resized to S = ``image_size``. ``limit`` keeps
    the first ``limit`` files (sorted order) before anything is decoded. A folder has no
    train/test split, so ``load_images(..., train=False)`` returns these same images.
    """
    files, labels, _ = list_image_folder(folder)
    files, labels = files[:limit], labels[:limit]
    images = torch.empty(
        (len(files), 3, image_size, image_size), dtype=torch.uint8
    )
    bad = []
    # PIL releases the GIL while decoding, so threads decode large folders several times faster
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, array in enumerate(
            pool.map(lambda p: _read_square(p, image_size), files)
        ):
            if array is None:
                bad.append(str(files[i].relative_to(folder)))
            else:
                # (S, S, 3) -> (3, S, S)
                images[i] = torch.from_numpy(array).permute(2, 0, 1)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DatasetCorruptError(
            f"{len(bad)} of the {len(files)} image files in {folder} could not be read (damaged or not images): "
            f"{', '.join(bad[:5])}{more}. Delete or replace {'it' if len(bad) == 1 else 'them'}."
        )
    return images, torch.tensor(labels, dtype=torch.int64)
