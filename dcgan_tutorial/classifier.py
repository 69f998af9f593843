"""A small image classifier, shipped with the package, whose features measure generated images.

The usual FID uses an Inception network whose weights are downloaded at run time, which fails
offline and was trained on ImageNet photos, not digits. This network is trained on MNIST
train by ``scripts/train_classifier.py`` (its test accuracy is recorded in
``dcgan_tutorial/assets/README.md``) and its 128 penultimate activations are the features.
The same network with colour input (``nc=3``) is trained on the emoji's 9 Unicode groups.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import read_pt
from .data.pixels import scale_images

ASSETS = Path(__file__).resolve().parent / "assets"
CLASSIFIER_FILES = {
    "mnist": ASSETS / "mnist_classifier.pt",
    "fashion-mnist": ASSETS / "fashion-mnist_classifier.pt",
    "emoji": ASSETS / "emoji_classifier.pt",
}


class ClassifierError(ValueError):
    """The shipped classifier is missing, damaged, or there is none for a dataset."""


class DigitClassifier(nn.Module):
    """Images (B, nc, 28, 28) in [-1, 1] -> class logits (B, n_classes); ``features`` gives (B, 128)."""

    num_features = 128  # read by torchmetrics' FrechetInceptionDistance

    def __init__(self, n_classes: int = 10, nc: int = 1):
        super().__init__()
        self.nc = nc  # 1: grey (digits); 3: colour (emoji)
        self.body = nn.Sequential(
            nn.Conv2d(nc, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 32 x 14 x 14
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 64 x 7 x 7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, self.num_features),
            nn.ReLU(inplace=True),  # the features
        )
        self.head = nn.Sequential(
            nn.Dropout(0.3), nn.Linear(self.num_features, n_classes)
        )

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Any (B, C, H, W) images, uint8 or float in [-1, 1] -> (B, nc, 28, 28) float in [-1, 1]."""
        if images.dtype == torch.uint8:
            images = scale_images(images)
        if images.shape[1] == 3 and self.nc == 1:
            images = images.mean(dim=1, keepdim=True)
        elif images.shape[1] == 1 and self.nc == 3:
            images = images.expand(-1, 3, -1, -1)
        if images.shape[-2:] != (28, 28):
            images = F.interpolate(
                images,
                size=(28, 28),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return images

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(self.prepare(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class ClassifierFeatures(nn.Module):
    """The classifier's 128 features, as the feature extractor torchmetrics' FID expects."""

    def __init__(self, classifier: DigitClassifier):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


def load_classifier(
    dataset: str = "mnist", device: torch.device | str = "cpu"
) -> DigitClassifier:
    """The shipped classifier for ``dataset``, in eval mode (loaded with ``weights_only=True``)."""
    path = CLASSIFIER_FILES.get(dataset)
    if path is None:
        raise ClassifierError(
            f"dataset={dataset!r} has no shipped classifier: choose one of "
            f"{', '.join(CLASSIFIER_FILES)}"
        )
    fix = f"reinstall dcgan_tutorial, or train it with 'python scripts/train_classifier.py --dataset {dataset}'"
    data = read_pt(path, "classifier weights file", fix, error=ClassifierError)
    try:
        model = DigitClassifier(
            n_classes=int(data["n_classes"]), nc=int(data.get("nc", 1))
        )
        model.load_state_dict(data["state_dict"])
    except (
        Exception
    ) as err:  # a damaged or foreign file: say which and how to fix
        raise ClassifierError(
            f"{path} is not a usable classifier file ({err}); reinstall dcgan_tutorial or retrain "
            f"it with scripts/train_classifier.py"
        ) from err
    return model.to(device).eval()
