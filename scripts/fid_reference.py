"""Reference points for the classifier FID of a dataset: real training images and uniform noise.

FID has no absolute scale; these two numbers bracket it. A generator as good as the data
would score near the first, one that draws noise near the second.

    python scripts/fid_reference.py --dataset fashion-mnist --data-root DIR --n 10000
"""

from __future__ import annotations

import argparse

import torch

from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.metrics import class_coverage, classifier_fid


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset", default="mnist", choices=("mnist", "fashion-mnist")
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--n",
        type=int,
        default=10_000,
        help="images from each set (default 10000)",
    )
    args = parser.parse_args()

    classifier = load_classifier(args.dataset)
    train, _ = load_images(args.dataset, args.data_root, train=True)
    test, _ = load_images(args.dataset, args.data_root, train=False)
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[
        : args.n
    ]
    noise = torch.randint(
        0,
        256,
        (args.n, *test.shape[1:]),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    print(
        f"{args.dataset}: classifier FID against the {len(test):,} test images, {args.n:,} images each"
    )
    print(
        f"  real training images: {classifier_fid(test, train[pick], classifier):.2f} "
        f"(coverage: {class_coverage(train[pick], classifier)})"
    )
    print(f"  uniform noise: {classifier_fid(test, noise, classifier):.2f}")


if __name__ == "__main__":
    main()
