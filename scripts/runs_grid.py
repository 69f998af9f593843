"""Train the grid of real MNIST runs behind chapter 8's runs panel on the book's web page.

    python scripts/runs_grid.py [--steps 800] [--out _static/run-grid] [--only 1]

Every run is the ``mnist28`` preset (seed 0: the same initial networks, noise and batches)
with one value of each axis changed: lr of G x lr of D x G's loss x Adam's beta1, 24 runs,
trained one after the other on one CPU thread with the package's own ``prepare_run`` and
``train_gan``. For each run it keeps the curves (D loss, G loss, D(x), D(G(z)), every
``CURVE_EVERY``-th step) and G(fixed_z) for 16 fixed noise vectors every ``steps / 5`` steps,
in about 0.7 MB for the whole grid. It writes

- ``OUT/mnist28-grid.json``: the axes, the device, and per run its settings, seconds and curves;
- ``OUT/mnist28-grid.jpg``: the sample grids as one grey JPEG sprite sheet, a row per run (in the order
  of the JSON's runs) and a column per kept step (the JSON's ``sample_steps``).

``_static/dcgan-runs.js`` draws them in the page. ``--only N`` trains the first N runs (to
measure the time of one run before choosing ``--steps``).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import platform
import time
from pathlib import Path

import torch
from PIL import Image

from dcgan_tutorial.run import plan_run, prepare_run
from dcgan_tutorial.train import train_gan
from dcgan_tutorial.viz import image_grid

REPO = Path(__file__).resolve().parents[1]
# the axes, in the order of the panel's controls; mnist28's own values are among them
AXES = {
    "lr_g": [2e-4, 5e-4, 2e-3],  # the paper's, the preset's, 4x the preset's
    "lr_d": [
        2e-4,
        5e-3,
    ],  # the preset's (and paper's), 25x: chapter 8's experiment 2
    "loss": ["non-saturating", "saturating"],
    "beta1": [0.5, 0.9],  # the paper's, Adam's default: chapter 8's experiment 1
}
START = {
    "loss": "non-saturating",
    "lr_g": 5e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
}  # mnist28's own: the panel shows it first
N_FIXED, KEEP = 16, 5  # a 4x4 grid of G(fixed_z), kept KEEP times after step 0
DECIMALS = 3  # the curves are drawn, not computed with: 3 decimals are plenty
CURVE_EVERY = 4  # the curves of every 4th step: the panel draws 200 points per run, in a quarter of the bytes
JPEG_QUALITY = 80  # measured on one run's grids: 20 KB against 56 KB for PNG, the digits as legible


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), for the record of where the runs were made."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def grid_image(images: torch.Tensor) -> Image.Image:
    """(16, 1, 28, 28) uint8 images as one 4x4 grey picture (2-pixel white lines)."""
    grid = image_grid(images, nrow=4)[
        0
    ]  # (H, W) in [0, 1]; the channels are equal for grey data
    return Image.fromarray((grid * 255).round().to(torch.uint8).numpy(), mode="L")


def train_one(
    settings: dict, steps: int, data_root=None
) -> tuple[dict, list[Image.Image], list[int]]:
    """One run of mnist28 with ``settings``: (its record for the JSON, its grids, their steps)."""
    plan = plan_run(
        "mnist28",
        train={
            **settings,
            "n_fixed": N_FIXED,
            "sample_every": steps // KEEP,
            "log_every": 10,
            "checkpoint_every": 10**9,
        },
        limits={"steps": steps},
    )
    state, loader = prepare_run(plan, "cpu", data_root)
    start = time.perf_counter()
    train_gan(state, loader, progress=False)
    seconds = time.perf_counter() - start
    h = state.history
    keep = [i for i, step in enumerate(h["step"]) if step % CURVE_EVERY == 0]
    record = {
        **settings,
        "seconds": round(seconds, 1),
        **{
            k: [round(h[k][i], DECIMALS) for i in keep]
            for k in ("d_loss", "g_loss", "d_real", "d_fake")
        },
    }
    return (
        record,
        [grid_image(images) for _, images in state.samples],
        [s for s, _ in state.samples],
    )


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=800, help="steps of every run (default 800)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "_static" / "run-grid")
    parser.add_argument(
        "--only", type=int, default=None, help="train only the first N runs"
    )
    args = parser.parse_args(argv)
    if args.steps < KEEP or args.steps % KEEP:
        parser.error(
            f"--steps {args.steps} is not allowed: use a multiple of {KEEP}"
        )
    torch.set_num_threads(
        1
    )  # one thread: the runs are small, and the machine is shared
    combos = [
        dict(zip(AXES, values)) for values in itertools.product(*AXES.values())
    ]
    runs, rows, sample_steps = [], [], None
    for i, settings in enumerate(combos[: args.only]):
        record, grids, steps = train_one(settings, args.steps)
        sample_steps = sample_steps or steps
        assert steps == sample_steps, (
            f"run {i} kept grids at {steps}, not {sample_steps}"
        )
        runs.append(record)
        rows.append(grids)
        print(
            f"{i + 1}/{len(combos)} {settings}: {record['seconds']} s, last D(x) {record['d_real'][-1]:.2f}, "
            f"D(G(z)) {record['d_fake'][-1]:.2f}",
            flush=True,
        )
    cell = rows[0][0].size
    sheet = Image.new(
        "L", (cell[0] * len(sample_steps), cell[1] * len(rows)), 255
    )
    for r, grids in enumerate(rows):
        for c, grid in enumerate(grids):
            sheet.paste(grid, (c * cell[0], r * cell[1]))
    args.out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    sheet.save(buffer, format="jpeg", quality=JPEG_QUALITY, optimize=True)
    (args.out / "mnist28-grid.jpg").write_bytes(buffer.getvalue())
    meta = {
        "preset": "mnist28",
        "steps": args.steps,
        "seed": 0,
        "axes": AXES,
        "sample_steps": sample_steps,
        "curve_steps": list(range(CURVE_EVERY, args.steps + 1, CURVE_EVERY)),
        "cell": list(cell),
        "sprite": "mnist28-grid.jpg",
        "start": START,
        "command": "python scripts/runs_grid.py --steps " + str(args.steps),
        "device": f"{cpu_name()}, 1 thread, torch {torch.__version__}",
        "runs": runs,
    }
    path = args.out / "mnist28-grid.json"
    path.write_text(json.dumps(meta, separators=(",", ":")))
    print(
        f"wrote {path} ({path.stat().st_size:,} bytes) and the sprite ({len(buffer.getvalue()):,} bytes)"
    )
    return path


if __name__ == "__main__":
    main()
