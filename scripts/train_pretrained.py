"""Train a generator shipped as ``--pretrained NAME`` with the package's own ``train`` command,
then export its generator with the command, the hardware and the time recorded in the file.

    python scripts/train_pretrained.py --data-root DIR -- --time-budget 1800 --device auto
    python scripts/train_pretrained.py --name mnist-cond --data-root DIR -- --preset cond-mnist --steps 8480
    python scripts/train_pretrained.py --name emoji --ema --grids 8 -- --preset emoji32 --dataset emoji

Everything after ``--`` is passed to ``python -m dcgan_tutorial train``.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import subprocess
import sys
import time

import torch

from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.pretrained import PRETRAINED, export_generator
from dcgan_tutorial.runfolder import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--name",
        default="mnist",
        choices=sorted(PRETRAINED),
        help="which shipped generator",
    )
    parser.add_argument(
        "--run-dir", default=None, help="default: runs/pretrained-NAME"
    )
    parser.add_argument(
        "--ema",
        action="store_true",
        help="ship the run's EMA generator (RUN_DIR/ema_generator.pt)",
    )
    parser.add_argument(
        "--grids",
        type=int,
        default=0,
        help="also ship up to this many of the run's sample grids",
    )
    parser.add_argument(
        "train_args",
        nargs="*",
        help="arguments for 'python -m dcgan_tutorial train'",
    )
    args = parser.parse_args()
    args.run_dir = args.run_dir or f"runs/pretrained-{args.name}"

    command = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "train",
        "--dataset",
        "mnist",
        "--out",
        args.run_dir,
        "--overwrite",
        "--no-progress",
        *(["--data-root", args.data_root] if args.data_root else []),
        *args.train_args,
    ]
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C: the run wrote the checkpoint of its last step; ship that
    seconds = time.perf_counter() - start
    shown = ["python", *command[1:]]
    if args.data_root:
        i = shown.index("--data-root")
        shown[i + 1] = "DIR"
    provenance = {
        "command": shlex.join(shown),
        "hardware": hardware_name(),
        "seconds": round(seconds, 1),
        "torch": str(torch.__version__),
        "date": datetime.date.today().isoformat(),
    }
    weights = None
    if args.ema:
        weights = torch.load(
            RunFolder(args.run_dir).ema_generator,
            map_location="cpu",
            weights_only=True,
        )["G"]
        provenance["selected"] = (
            "the moving average of G's weights (EMA), BatchNorm statistics re-estimated"
        )
    path = export_generator(
        RunFolder(args.run_dir).checkpoint,
        PRETRAINED[args.name],
        provenance,
        weights,
        args.grids,
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {provenance}")


if __name__ == "__main__":
    main()
