"""Train the classifier shipped in dcgan_tutorial/assets (used by the metrics) and print its test accuracy.

    python scripts/train_classifier.py --dataset mnist --data-root DIR
    python scripts/train_classifier.py --dataset emoji --epochs 60 --flip

For the emoji the classes are the 9 Unicode groups, the network reads colour, and the test set
is the held-out emoji (none of which the classifier, or any generator, is trained on).
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from dcgan_tutorial.checkpoint import atomic_save
from dcgan_tutorial.classifier import CLASSIFIER_FILES, DigitClassifier
from dcgan_tutorial.config import DATASET_CHANNELS
from dcgan_tutorial.data import class_names, load_images, scale_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", default="mnist", choices=sorted(CLASSIFIER_FILES)
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--flip",
        action="store_true",
        help="also mirror half of each batch left-right "
        "(emoji: a mirrored emoji keeps its group; a mirrored digit does not)",
    )
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    # the emoji are drawn at 32x32, near the classifier's 28x28; the digits come at their own size
    x_train, y_train = load_images(
        args.dataset, args.data_root, train=True, image_size=32
    )
    x_test, y_test = load_images(
        args.dataset, args.data_root, train=False, image_size=32
    )
    n_classes = len(class_names(args.dataset, args.data_root))
    model = DigitClassifier(n_classes, nc=DATASET_CHANNELS[args.dataset])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=2e-3, total_steps=args.epochs * (len(x_train) // 128)
    )
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(len(x_train) // 128):
            idx = order[i * 128 : (i + 1) * 128]
            images = scale_images(x_train[idx])
            # small random shifts: generated digits are not all centred like MNIST's
            shift = torch.randint(-2, 3, (2,))
            images = torch.roll(
                images, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3)
            )
            if args.flip:
                images[::2] = images[::2].flip(3)
            loss = F.cross_entropy(model(images), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat(
                [model(scale_images(b)).argmax(1) for b in x_test.split(1000)]
            )
        acc = (pred == y_test).float().mean().item()
        print(
            f"epoch {epoch + 1}: test accuracy {acc:.4f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    path = atomic_save(
        {
            "n_classes": n_classes,
            "nc": model.nc,
            "state_dict": model.state_dict(),
            "test_accuracy": acc,
            "dataset": args.dataset,
        },
        CLASSIFIER_FILES[args.dataset],
    )
    print(
        f"wrote {path}: {args.dataset} test accuracy {acc:.4f}; torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"{time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
