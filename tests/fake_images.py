"""Images for tests: noise where the content does not matter, and tiny datasets in real file formats."""

import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def random_images(
    n: int, size: int = 28, nc: int = 1, seed: int = 0
) -> torch.Tensor:
    """uint8 (n, nc, size, size) noise images standing in for data where content does not matter."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (n, nc, size, size), dtype=torch.uint8, generator=gen
    )


CIFAR10_LABEL_NAMES = [
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


def write_cifar10(root, n_per_batch: int = 3, seed: int = 0) -> dict:
    """A tiny CIFAR-10 in the real python-pickle layout under ``root/cifar-10-batches-py``.

    Each of data_batch_1..5 and test_batch holds ``n_per_batch`` noise images, except that the
    first image of every file is pure red (the R plane 255, G and B 0). Pickle keys are ``str``,
    as the original Python 2 pickles read with ``encoding="latin1"``. Returns
    {file name: (pixels uint8 (n, 3, 32, 32), labels list)}.
    """
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for i, name in enumerate(
        [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    ):
        pixels = rng.integers(0, 256, (n_per_batch, 3, 32, 32), dtype=np.uint8)
        pixels[0] = 0
        pixels[0, 0] = 255  # image 0: pure red
        labels = [(i + j) % 10 for j in range(n_per_batch)]
        # a row is the R plane, then G, then B, 1024 bytes each, row-major: exactly (3, 32, 32) flattened
        entry = {
            "batch_label": name,
            "labels": labels,
            "data": pixels.reshape(n_per_batch, 3072),
            "filenames": [f"img_{i}_{j}.png" for j in range(n_per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry))
        written[name] = (pixels, labels)
    meta = {
        "label_names": CIFAR10_LABEL_NAMES,
        "num_cases_per_batch": n_per_batch,
        "num_vis": 3072,
    }
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return written


def write_image(
    path,
    width: int,
    height: int,
    color=(255, 255, 255),
    mode: str = "RGB",
    band: int = 0,
):
    """Save a ``width`` x ``height`` image of one ``color`` (format from the suffix) and return its path.

    ``band`` > 0 paints that many pixels black at both ends of the long side: with a centred
    square of ``color`` in between, a centre crop must keep only ``color``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new(mode, (width, height), color)
    if band:
        black = 0 if mode == "L" else (0,) * len(mode)
        boxes = (
            [(0, 0, band, height), (width - band, 0, width, height)]
            if width > height
            else [(0, 0, width, band), (0, height - band, width, height)]
        )
        for box in boxes:
            img.paste(black, box)
    img.save(path)
    return path
