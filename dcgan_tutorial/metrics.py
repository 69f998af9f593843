"""How good is a generator? FID on the shipped classifier's features, and class coverage.

* **FID** (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features
  of real and generated images, ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``. Lower
  is better; 0 means the same feature statistics. Computed by torchmetrics'
  ``FrechetInceptionDistance`` with the shipped MNIST classifier as feature extractor, so it
  works offline. Its numbers are on another scale than Inception FID: compare them only with
  each other.
* **Inception FID** (``inception_fid``): the standard FID on Inception-v3's 2048 pool features,
  the number papers report. Its weights (an ImageNet photo classifier, 92 MB) are downloaded on
  first use, so it needs a machine online (Colab) or the weights file put in place by hand. It
  scores grey 28x28 digits after upsampling them to 299x299 colour photos; the classifier FID
  looks with a network that knows digits. Use Inception FID to compare with published numbers,
  the classifier FID to compare runs of this package with each other, offline.
* **Coverage**: the classifier's histogram of the generated classes, how many classes are
  present, and the KL divergence from the uniform distribution: mode collapse shows here.
* **Memorisation** (``memorisation_check``): on a small dataset G can learn to copy. Each
  sample's distance to its nearest training image is set against the same distance for real
  images held out of training: copies sit closer than any held-out image does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .classifier import ClassifierFeatures, DigitClassifier, load_classifier
from .data.pixels import scale_images, unscale_images
from .models import n_classes_of
from .sample import generate, sample_images, sample_labels, sample_noise


def classifier_fid(
    real: torch.Tensor,
    fake: torch.Tensor,
    classifier: DigitClassifier | None = None,
    batch_size: int = 1000,
) -> float:
    """FID between two image sets (N, C, H, W), uint8 or float in [-1, 1], on the
    classifier's features."""
    from torchmetrics.image.fid import (
        FrechetInceptionDistance,
    )  # on first use: `--help` starts without it

    classifier = classifier or load_classifier()
    device = next(classifier.parameters()).device
    fid = FrechetInceptionDistance(
        feature=ClassifierFeatures(classifier), reset_real_features=True
    ).to(device)
    for images, is_real in ((real, True), (fake, False)):
        for batch in images.split(batch_size):
            fid.update(batch.to(device), real=is_real)
    return float(fid.compute())


class ReferenceFID:
    """``classifier_fid`` against a fixed set of real images whose features are computed once.

    reference: (N, nc, H, W) uint8 or [-1, 1] real images. Calling it with generated images
    (M, nc, H, W) returns their FID; measuring many generators against the same reference
    (during training, or one per run of a benchmark) then costs only the generated images.
    """

    def __init__(
        self,
        reference: torch.Tensor,
        classifier: DigitClassifier | None = None,
        batch_size: int = 1000,
    ):
        from torchmetrics.image.fid import FrechetInceptionDistance

        self.classifier = classifier or load_classifier()
        self.batch_size = batch_size
        device = next(self.classifier.parameters()).device
        self.metric = FrechetInceptionDistance(
            feature=ClassifierFeatures(self.classifier), reset_real_features=False
        ).to(device)
        for batch in reference.split(batch_size):
            self.metric.update(batch.to(device), real=True)

    def __call__(self, fakes: torch.Tensor) -> float:
        self.metric.reset()  # forgets the previous fakes, keeps the reference's features
        device = next(self.classifier.parameters()).device
        for batch in fakes.split(self.batch_size):
            self.metric.update(batch.to(device), real=False)
        return float(self.metric.compute())


@dataclass
class Coverage:
    counts: list[int]  # images the classifier puts in each class
    classes_present: int  # classes holding at least ``min_share`` of the images
    kl_from_uniform: float  # KL(p || uniform) in nats: 0 when balanced, log(10) = 2.30 when one class

    def __str__(self) -> str:
        return (
            f"{self.classes_present} of {len(self.counts)} classes present, KL from uniform "
            f"{self.kl_from_uniform:.3f}, counts {self.counts}"
        )


@torch.no_grad()
def predict_classes(
    images: torch.Tensor,
    classifier: DigitClassifier | None = None,
    batch_size: int = 1000,
) -> torch.Tensor:
    """The classifier's class for each image (N,)."""
    classifier = classifier or load_classifier()
    device = next(classifier.parameters()).device
    return torch.cat(
        [
            classifier(b.to(device)).argmax(1).cpu()
            for b in images.split(batch_size)
        ]
    )


def class_coverage(
    images: torch.Tensor,
    classifier: DigitClassifier | None = None,
    min_share: float = 0.01,
) -> Coverage:
    """Class histogram of ``images`` under the classifier, and what it says about mode collapse.

    A class counts as present when it holds at least ``min_share`` of the images (1% by default:
    a tenth of its share in a balanced set), so a few misread images do not count as a mode.
    """
    classifier = classifier or load_classifier()
    n_classes = classifier.head[-1].out_features
    counts = torch.bincount(
        predict_classes(images, classifier), minlength=n_classes
    )
    p = counts.double() / counts.sum()
    kl = float((p[p > 0] * (p[p > 0] * n_classes).log()).sum())
    present = int((p >= min_share).sum())
    return Coverage(counts.tolist(), present, kl)


@torch.no_grad()
def generator_samples(
    G: nn.Module,
    n: int,
    seed: int = 0,
    batch_size: int = 1000,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` uint8 images from G (eval mode), made in batches on G's device, returned on the CPU.

    labels: (n,) the classes to ask a conditional G for (e.g. the training labels, to match an
    uneven class mix); default every class equally often. An unconditional G ignores them.
    """
    device = next(G.parameters()).device
    z = sample_noise(n, G.nz, seed)
    labels = (
        sample_labels(G, n)
        if labels is None or not n_classes_of(G)
        else labels[:n]
    )
    parts = (
        labels.split(batch_size)
        if labels is not None
        else [None] * len(z.split(batch_size))
    )
    return torch.cat(
        [
            unscale_images(
                generate(G, b.to(device), None if y is None else y.to(device))
            ).cpu()
            for b, y in zip(z.split(batch_size), parts)
        ]
    )


def max_kl_from_uniform(n_classes: int = 10) -> float:
    """The KL of a one-class histogram from uniform: ``log(n_classes)``."""
    return math.log(n_classes)


@torch.no_grad()
def nearest_training_images(
    fakes: torch.Tensor, train: torch.Tensor, k: int = 1, chunk: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each generated image, the ``k`` nearest training images by pixel
    distance.

    fakes (M, C, h, w) and train (N, C, H, W), uint8 or float in [-1, 1]. Fakes of
    another size (a 64x64 generator against MNIST's 28x28) are resized to the
    training images' size first. Returns (distances (M, k), indices into ``train``
    (M, k)): a generator that memorised its data would have near-zero distances.
    """
    size = tuple(train.shape[-2:])

    def flat(x):
        x = scale_images(x) if x.dtype == torch.uint8 else x.float()
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(
                x, size=size, mode="bilinear", antialias=True, align_corners=False
            )
        return x.flatten(1)

    train_flat = flat(train)
    dists, idxs = [], []
    for part in fakes.split(chunk):
        d = torch.cdist(flat(part), train_flat)
        values, indices = d.topk(k, dim=1, largest=False)
        dists.append(values)
        idxs.append(indices)
    return torch.cat(dists), torch.cat(idxs)


@dataclass
class Memorisation:
    """Nearest-training-image distances of generated images and of held-out real images (pixels in [-1, 1])."""

    sample_distances: (
        torch.Tensor
    )  # (M,) each sample's distance to its nearest training image
    nearest: torch.Tensor  # (M,) the index of that training image
    held_out_distances: (
        torch.Tensor
    )  # (K,) each held-out real image's distance to its nearest training image

    @property
    def closer_than_any_held_out(self) -> float:
        """Share of samples nearer a training image than every held-out image is: likely copies."""
        return float(
            (self.sample_distances < self.held_out_distances.min()).float().mean()
        )

    def __str__(self) -> str:
        return (
            f"median distance to the nearest training image: samples {self.sample_distances.median():.2f}, "
            f"held-out real images {self.held_out_distances.median():.2f}; "
            f"{100 * self.closer_than_any_held_out:.1f}% of samples closer than any held-out image"
        )


def memorisation_check(
    fakes: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor
) -> Memorisation:
    """Are the samples copies? fakes (M, C, h, w), train (N, C, H, W), held_out (K, C, H, W), uint8 or [-1, 1].

    Real images that were never trained on show how near "new but alike" comes to the training
    set; a copying G puts its samples nearer than that (distance near 0). The check is one-sided:
    blurred samples are far from everything without being new.
    """
    sample_d, nearest = nearest_training_images(fakes, train)
    held_d, _ = nearest_training_images(held_out, train)
    return Memorisation(sample_d[:, 0], nearest[:, 0], held_d[:, 0])


@torch.no_grad()
def conditional_accuracy(
    G: nn.Module,
    classifier: DigitClassifier | None = None,
    n_per_class: int = 1000,
    seed: int = 0,
) -> list[float]:
    """For a conditional G: the share of its images of each class that the
    classifier reads as that class.

    Returns one number per class in [0, 1]. 0.1 for every class means the labels
    are ignored (with 10 balanced classes); 1.0 means G always draws what it is
    asked for.
    """
    classifier = classifier or load_classifier()
    n_classes = n_classes_of(G)
    if not n_classes:
        raise ValueError(
            "conditional_accuracy needs a conditional generator "
            "(a cond or class model)"
        )
    shares = []
    for k in range(n_classes):
        images = sample_images(G, n_per_class, seed=seed + k, class_index=k)
        shares.append(
            float((predict_classes(images.cpu(), classifier) == k).float().mean())
        )
    return shares


INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)


class InceptionUnavailable(RuntimeError):
    """The Inception network for the standard FID cannot be had here; the message says what to do."""


def _inception_fid_metric():
    """torchmetrics' standard FID (Inception-v3, 2048 features); its weights are downloaded on first use."""
    from pathlib import Path
    from urllib.error import URLError

    from torchmetrics.image.fid import FrechetInceptionDistance

    weights = (
        Path(torch.hub.get_dir())
        / "checkpoints"
        / INCEPTION_WEIGHTS_URL.rsplit("/", 1)[1]
    )
    try:
        return FrechetInceptionDistance(feature=2048, reset_real_features=True)
    except ModuleNotFoundError as err:
        raise InceptionUnavailable(
            "the standard Inception FID needs the package torch-fidelity: "
            "pip install torch-fidelity (classifier_fid works without it)"
        ) from err
    except (URLError, OSError, RuntimeError) as err:
        raise InceptionUnavailable(
            f"the Inception-v3 weights for the standard FID could not be downloaded ({err}). On a machine "
            f"online they are fetched once; offline, download {INCEPTION_WEIGHTS_URL} elsewhere and put it at "
            f"{weights}. Without them, use the classifier FID (classifier_fid, or evaluate without --inception), "
            f"which works offline."
        ) from err


def inception_fid(
    real: torch.Tensor,
    fake: torch.Tensor,
    batch_size: int = 100,
    device: torch.device | str = "cpu",
) -> float:
    """The standard FID between two image sets (N, C, H, W), uint8 or float in [-1, 1], on Inception features.

    Grey images are repeated to three channels; torchmetrics resizes them to 299x299. Raises
    ``InceptionUnavailable`` (saying what is missing and where to put it) when the weights
    cannot be had, e.g. offline.
    """
    fid = _inception_fid_metric().to(device)
    for images, is_real in ((real, True), (fake, False)):
        for batch in images.split(batch_size):
            if batch.dtype != torch.uint8:
                batch = unscale_images(batch)
            if batch.shape[1] == 1:
                batch = batch.expand(-1, 3, -1, -1)
            fid.update(batch.to(device), real=is_real)
    return float(fid.compute())
