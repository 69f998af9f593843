"""Draw the book's first picture: 64 digits from the shipped generator, as one PNG.

    python scripts/intro_grid.py [--out book/images/intro_digits.png] [--seed 0] [--n 64] [--scale 3]

The generator is the one ``--pretrained mnist`` loads (``dcgan_tutorial/assets/README.md`` says
how it was trained); the noise comes from ``sample_noise(n, nz, seed)``, so the same seed draws
the same digits on any machine. Each pixel is enlarged ``scale`` times without smoothing, so the
picture stays sharp at page width.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torchvision.transforms.functional import to_pil_image

from dcgan_tutorial import load_pretrained, sample_images
from dcgan_tutorial.viz import image_grid

REPO = Path(__file__).resolve().parents[1]


def intro_grid(n: int = 64, seed: int = 0, scale: int = 3) -> torch.Tensor:
    """A (3, H, W) uint8 grid of ``n`` shipped-generator digits, each pixel ``scale`` x ``scale``."""
    G, _, _ = load_pretrained("mnist", "cpu")
    images = sample_images(G, n, seed=seed)  # (n, 1, 28, 28) in [-1, 1]
    grid = image_grid(
        images, nrow=round(n**0.5)
    )  # (3, H, W) in [0, 1], white lines between digits
    grid = grid.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    return (grid * 255).round().to(torch.uint8)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "book" / "images" / "intro_digits.png"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the noise (default 0)"
    )
    parser.add_argument(
        "--n",
        type=int,
        default=64,
        help="number of digits, a square is best (default 64)",
    )
    parser.add_argument(
        "--scale", type=int, default=3, help="pixel enlargement (default 3)"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.scale < 1:
        parser.error("--n and --scale must be at least 1")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    to_pil_image(intro_grid(args.n, args.seed, args.scale)[:1]).save(
        args.out, optimize=True
    )  # grey PNG
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB)")
    return args.out


if __name__ == "__main__":
    main()
