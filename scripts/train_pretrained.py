"""Train a generator shipped as ``--pretrained NAME`` with the package's own ``train`` command,
then export its generator with the command, the hardware and the time recorded in the file.

    python scripts/train_pretrained.py --data-root DIR -- --time-budget 1800 --device auto
    python scripts/train_pretrained.py --name mnist-cond --data-root DIR -- --preset cond-mnist --steps 8480
    python scripts/train_pretrained.py --name emoji --ema --grids 8 -- --preset emoji32 --dataset emoji

The shipped ``mnist`` generator comes from a long run on one CPU thread, stopped (Ctrl-C or
SIGTERM) and continued with ``--resume`` several times, and stopped for good once its FID on the
test set was below 30; ``--best`` ships the EMA generator of its lowest FID against training
images (``RUN/best_generator.pt``)::

    OMP_NUM_THREADS=1 python scripts/train_pretrained.py --data-root DIR --best --resume \
        -- --preset mnist28 --ngf 64 --ndf 64 --ema-decay 0.999 --r1-gamma 1 --steps 300000 --fid-every 2000 \
        --checkpoint-every 2000 --keep 200 --sample-every 2000 --seed 0 --device cpu

``--export-only`` ships a run folder as it stands (its run stopped earlier) without training.
Everything after ``--`` is passed to ``python -m dcgan_tutorial train``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
import time

import torch

from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.presets import DEFAULT_PRESET
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
        "--out",
        default=None,
        help="where to write the generator file (default: the shipped one, "
        "dcgan_tutorial/assets/NAME_generator.pt)",
    )
    parser.add_argument(
        "--best",
        action="store_true",
        help="ship the generator of the run's lowest FID (RUN_DIR/best_generator.pt, from "
        "--fid-every; the EMA generator where the run has one)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in RUN_DIR where it stopped instead of starting it afresh",
    )
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="do not train: ship RUN_DIR as it stands",
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

    folder = RunFolder(args.run_dir)
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
        # the recorded command names its preset: the default may change, the record must not
        *([] if "--preset" in args.train_args else ["--preset", DEFAULT_PRESET]),
        *args.train_args,
    ]
    run = command
    if (
        args.resume and folder.checkpoint.is_file()
    ):  # the same run, where it stopped
        run = [*command, "--resume", args.run_dir]
        run.remove("--overwrite")
        at = run.index("--preset")  # the checkpoint holds the preset's configs
        del run[at : at + 2]
    start = time.perf_counter()
    if not args.export_only:
        try:
            subprocess.run(run, check=True)
        except KeyboardInterrupt:
            pass  # Ctrl-C: the run wrote the checkpoint of its last step; ship that
    seconds = time.perf_counter() - start
    shown = ["python", *command[1:]]
    if args.data_root:
        i = shown.index("--data-root")
        shown[i + 1] = "DIR"
    if args.run_dir != f"runs/pretrained-{args.name}":
        shown[shown.index("--out") + 1] = "RUN"
    provenance = {
        "command": shlex.join(shown),
        "hardware": hardware_name(),
        "seconds": round(seconds, 1),
        "torch": str(torch.__version__),
        "date": datetime.date.today().isoformat(),
    }
    weights = None
    if args.best:
        best = torch.load(
            folder.best_generator, map_location="cpu", weights_only=True
        )
        weights = best["G"]
        curve = json.loads(folder.fid_history.read_text())
        provenance["selected"] = (
            f"step {best['step']}: {best['provenance']['selected']}"
            + (" (the EMA generator)" if folder.ema_generator.is_file() else "")
        )
        # the training's own CPU time (one process, all its threads) up to that step, across
        # every resume; the wall time of a run that spans stops says little
        provenance["seconds"] = curve["best"]["cpu_seconds"]
        provenance["seconds_are"] = (
            "CPU seconds of training up to the shipped step"
        )
        # the learning curve (FID of 2,000 samples against 10,000 training images, CPU
        # seconds), so a chapter can draw it from the installed package
        provenance["fid_curve"] = [
            {k: point[k] for k in ("step", "fid", "cpu_seconds")}
            for point in curve["history"]
        ]
    elif args.ema:
        weights = torch.load(
            folder.ema_generator, map_location="cpu", weights_only=True
        )["G"]
        provenance["selected"] = (
            "the moving average of G's weights (EMA), BatchNorm statistics re-estimated"
        )
    source = (
        folder.kept_checkpoint(best["step"]) if args.best else folder.checkpoint
    )
    if not source.is_file():
        sys.exit(
            f"error: {source} is missing: the run no longer keeps the checkpoint of the step "
            f"to ship; train with a larger --keep"
        )
    path = export_generator(
        source,
        args.out or PRETRAINED[args.name],
        provenance,
        weights,
        args.grids,
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {provenance}")


if __name__ == "__main__":
    main()
