"""What ``python -m dcgan_tutorial evaluate`` measures of a generator, as printable lines.

FID on the shipped classifier's features (offline) against the test images, the classes
present and their histogram, the standard Inception FID when asked for, and for a
conditional model how often each asked-for class is read back. For a small dataset (the
emoji: 134 held-out images, too few for a 128-feature FID) the reference is the training set,
a conditional G is asked for its classes in the training mix, and the memorisation check
compares the samples' nearest training images with the held-out images'.
"""

from __future__ import annotations

import os
from typing import Iterator, Optional

import torch
from torch import nn

from .classifier import load_classifier
from .data import class_names, load_images
from .metrics import (
    class_coverage,
    classifier_fid,
    conditional_accuracy,
    generator_samples,
    inception_fid,
    memorisation_check,
)
from .models import n_classes_of

SMALL_DATASETS = {
    "emoji"
}  # FID against the training images; the held-out ones serve the memorisation check


def evaluation_lines(
    G: nn.Module,
    dataset: str,
    n: int = 10_000,
    seed: int = 0,
    data_root: Optional[str | os.PathLike] = None,
    download: bool = True,
    inception: bool = False,
    device: torch.device | str = "cpu",
) -> Iterator[str]:
    """Measure ``n`` images of G against ``dataset``'s test images; yields one line per result as it is ready."""
    real, labels = load_images(
        dataset, data_root, train=dataset in SMALL_DATASETS, download=download
    )
    which = "training" if dataset in SMALL_DATASETS else "test"
    classifier = load_classifier(dataset, device)
    names = class_names(dataset, data_root)
    mix = labels[
        torch.randint(
            len(labels), (n,), generator=torch.Generator().manual_seed(seed)
        )
    ]
    fakes = generator_samples(
        G, n, seed=seed, labels=mix if dataset in SMALL_DATASETS else None
    )
    fid = classifier_fid(real, fakes, classifier)
    coverage = class_coverage(fakes, classifier)
    yield f"FID ({dataset} classifier features, {n} generated vs {len(real)} {which} images): {fid:.2f}"
    if dataset in SMALL_DATASETS:
        held_out, _ = load_images(
            dataset, data_root, train=False, download=download
        )
        if len(held_out) > 1:  # FID needs two images on each side
            yield (
                f"FID of the {len(held_out)} held-out real images for scale: "
                f"{classifier_fid(real, held_out, classifier):.2f}"
            )
        yield f"memorisation: {memorisation_check(fakes, real, held_out)}"
    if inception:
        score = inception_fid(real, fakes, device=device)
        yield f"Inception FID (Inception-v3 pool features, {n} generated vs {len(real)} test images): {score:.2f}"
    yield (
        f"coverage: {coverage.classes_present} of {len(coverage.counts)} classes present, "
        f"KL from uniform {coverage.kl_from_uniform:.4f} nats"
    )
    yield "class histogram: " + ", ".join(
        f"{name} {count} ({100 * count / n:.1f}%)"
        for name, count in zip(names, coverage.counts)
    )
    if n_classes_of(
        G
    ):  # a conditional model: does it draw the class it is asked for?
        shares = conditional_accuracy(
            G, classifier, n_per_class=max(1, n // n_classes_of(G)), seed=seed
        )
        yield (
            f"asked-for class read back by the classifier: lowest {100 * min(shares):.1f}%, per class: "
            + ", ".join(
                f"{name} {100 * share:.1f}%" for name, share in zip(names, shares)
            )
        )
