"""MNIST and Fashion-MNIST, read from their IDX files in the folders torchvision uses.

Files: ``ROOT/MNIST/raw/*.gz`` and ``ROOT/FashionMNIST/raw/*.gz``. They are decompressed in
memory: nothing is written next to them, so a read-only folder shared by a course works.
Extracted files beside them (``train-images-idx3-ubyte``, as torchvision leaves them) are read
instead when they are complete. With a ``limit``, only the first images are read. Missing
files are downloaded by torchvision when a network is there and the folder can be written. The
``.gz`` files are checked against torchvision's MD5 checksums first: only a file that fails its
checksum, or an IDX file that does not hold what its own header says, is called damaged.
"""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torchvision
from torchvision.datasets.utils import check_integrity

from .errors import DATA_ENV, DatasetCorruptError, DatasetNotFoundError

# name -> (torchvision class: its download and MD5s, folder under the root, raw files it reads)
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


def _present(raw: Path, gz_name: str) -> bool:
    """The file is there, compressed or already extracted."""
    extracted = raw / gz_name.removesuffix(".gz")
    return (raw / gz_name).is_file() or extracted.is_file()


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


def _download(name: str, root: Path, missing: list[str], train: bool) -> None:
    """Let torchvision fetch the dataset into ``ROOT/<folder>/raw`` (it also extracts the files there, so its
    own reader, shown in the book, finds them); a folder that cannot be written is said to be one."""
    cls, folder, _ = DATASET_SOURCES[name]
    raw = root / folder / "raw"
    try:  # a read-only folder (a course's shared data): say so instead of failing inside a download
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=raw):
            pass
    except OSError as err:
        raise DatasetNotFoundError(
            f"dataset {name!r} is incomplete in {raw}: {', '.join(missing)} missing, and that folder cannot be "
            f"written ({err.strerror}), so they cannot be downloaded there. Put them in {raw}, or point "
            f"--data-root DIR (or {DATA_ENV}=DIR) at a folder that holds {folder}/raw or that you can write to."
        ) from err
    try:
        cls(root=str(root), train=train, download=True)
    except Exception as err:  # no network, a proxy, a mirror down...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DatasetNotFoundError(_missing_message(name, root, first)) from err


# unsigned bytes; 3 dimensions (N, 28, 28) or 1 (N,)
IDX_MAGIC = {"images": 0x803, "labels": 0x801}


def _read_open_idx(
    f, kind: str, limit: Optional[int], size: Optional[int]
) -> Optional[np.ndarray]:
    """The first ``limit`` items (all when None) of an open IDX file of ``kind``; None when it is not one, or
    is shorter than its header says (``size``, the file's size when known, must match the header exactly)."""
    ndim = IDX_MAGIC[kind] & 0xFF
    header = f.read(4 + 4 * ndim)
    if (
        len(header) < 4 + 4 * ndim
        or int.from_bytes(header[:4], "big") != IDX_MAGIC[kind]
    ):
        return None
    shape = [
        int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    ]
    if size is not None and size != len(header) + int(np.prod(shape)):
        return None
    shape[0] = shape[0] if limit is None else min(limit, shape[0])
    # read straight into it: one copy of the data in memory
    out = np.empty(shape, dtype=np.uint8)
    view, got = memoryview(out).cast("B"), 0
    while got < view.nbytes:
        n = f.readinto(view[got:])
        if not n:
            return None  # the file ends early
        got += n
    return out


def _read_idx(
    raw: Path, gz_name: str, kind: str, limit: Optional[int]
) -> np.ndarray:
    """One IDX file: the extracted file when it is complete, else the ``.gz`` decompressed in memory."""
    extracted, compressed = raw / gz_name.removesuffix(".gz"), raw / gz_name
    if extracted.is_file():
        with open(extracted, "rb") as f:
            array = _read_open_idx(f, kind, limit, extracted.stat().st_size)
        if array is not None:
            return array
        if not compressed.is_file():
            raise DatasetCorruptError(
                f"{extracted} could not be read: it is not a complete IDX file of {kind} (truncated, or another "
                f"kind of file), so it is damaged. Replace it with the original, or put {gz_name} beside it "
                f"(that is read instead)."
            )
    try:
        with gzip.open(compressed) as f:
            array = _read_open_idx(f, kind, limit, None)
            cause = f"not a complete IDX file of {kind}"
    # verify=False lets a damaged download through
    except (OSError, EOFError, zlib.error) as err:
        array, cause = None, err
    if array is None:
        raise DatasetCorruptError(
            f"{compressed} could not be read ({cause}): it is damaged. Delete it so it is "
            f"downloaded again, or replace it with the original."
        )
    return array


def load_mnist(
    name: str,
    root: Path,
    train: bool = True,
    download: bool = True,
    verify: bool = True,
    limit: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST or Fashion-MNIST (``name``): images (N, 1, 28, 28) uint8, labels (N,) int64."""
    _, folder, files = DATASET_SOURCES[name]
    raw, split = root / folder / "raw", "train" if train else "t10k"
    if verify:
        check_dataset_files(name, root)
    # this split's two files
    missing = [f for f in files if f.startswith(split) and not _present(raw, f)]
    if missing:
        if not download:
            raise DatasetNotFoundError(
                _missing_message(name, root, "downloading is switched off")
            )
        _download(name, root, missing, train)
    # only the first ``limit`` of each
    images = _read_idx(raw, f"{split}-images-idx3-ubyte.gz", "images", limit)
    labels = _read_idx(raw, f"{split}-labels-idx1-ubyte.gz", "labels", limit)
    if len(images) != len(labels):
        raise DatasetCorruptError(
            f"{raw} holds {len(images)} {split} images but {len(labels)} labels: one of "
            f"the files is from another dataset. Replace them with the originals."
        )
    # (N, 28, 28) -> (N, 1, 28, 28), uint8 in [0, 255]
    images = torch.from_numpy(images).unsqueeze(1)
    return images.contiguous(), torch.from_numpy(labels).long()
