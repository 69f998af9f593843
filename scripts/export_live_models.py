"""Write the files behind the book's live explorer: the shipped generators as ONNX, and stored pictures.

    python scripts/export_live_models.py            # writes _static/models/

For each shipped generator NAME (``mnist``, ``mnist-cond``) it writes ``NAME.onnx`` and
``NAME.json`` (``dcgan_tutorial.export.export_onnx``) and ``NAME-samples.png``, the grid a page
shows where the explorer cannot run (no JavaScript or no WebAssembly): 64 samples of seed 0 for
``mnist``, and for ``mnist-cond`` a row of 8 per digit. The weights are stored in float16 (half
the download; the graph computes in float32). It checks each graph with ONNX Runtime against
PyTorch's G with its weights rounded the same way, and stops if they differ by more than 1e-4;
it also prints the difference from G itself (the rounding's effect on the images).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from torchvision.utils import make_grid

from dcgan_tutorial import load_pretrained, sample_images, unscale_images
from dcgan_tutorial.export import (
    TOLERANCE,
    export_onnx,
    onnx_difference,
    weights_in_float16,
)

REPO = Path(__file__).resolve().parents[1]
MODELS = ("mnist", "mnist-cond")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=REPO / "_static" / "models",
        help="default: _static/models",
    )
    args = parser.parse_args(argv)
    for name in MODELS:
        G, cfg, meta = load_pretrained(name)
        source = f"python -m dcgan_tutorial export --pretrained {name} (step {meta['step']})"
        path = export_onnx(
            G,
            cfg,
            args.out_dir / f"{name}.onnx",
            source=source,
            half_weights=True,
        )
        difference = onnx_difference(path, weights_in_float16(G), n=64)
        rounding = onnx_difference(path, G, n=64)
        if not difference < TOLERANCE:
            print(
                f"error: ONNX Runtime and PyTorch differ by {difference:.2e} on {path}",
                file=sys.stderr,
            )
            return 1
        per_row = 8
        n = per_row * (cfg.n_classes or per_row)  # 8 x 8, or a row of 8 per class
        grid = args.out_dir / f"{name}-samples.png"
        # at the images' own size and in grey (the page enlarges it without smoothing): it counts in the
        # weight of the page
        pixels = make_grid(
            unscale_images(sample_images(G, n, seed=0)), nrow=per_row, padding=2
        )  # (3, H, W) uint8
        Image.fromarray(pixels[0].numpy()).save(grid, optimize=True)
        print(
            f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB, max |ONNX Runtime - "
            f"PyTorch| {difference:.1e} over 64 images, {rounding:.1e} from G's float32 "
            f"weights), {path.with_suffix('.json').name}, {grid.name}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
