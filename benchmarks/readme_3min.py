"""The README's first command, measured: three minutes of training with the default recipe, then
its FID and digit shares on the test set; ``mnist28`` the same way beside it, for reference.

    python benchmarks/readme_3min.py --data-root DIR

For each preset (default ``mnist28-tuned`` and ``mnist28``, one after the other on the otherwise idle
machine, 2 threads as the README's command gets them) it runs

    python -m dcgan_tutorial train --preset NAME --dataset mnist --out RUN --time-budget 180 --device cpu --seed 0

and evaluates the generator the README samples (``RUN/ema_generator.pt`` when the recipe keeps
an EMA of G, else ``RUN/checkpoint.pt``) with ``python -m dcgan_tutorial evaluate``: FID of
10,000 samples against the 10,000 test images on the shipped classifier's features. A run's time
budget counts everything the command does (checkpoints, grids, the EMA's BatchNorm statistics), so
the machine must be idle: the steps made in 180 s are the figure. Writes
``benchmarks/results/readme_3min.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.presets import DEFAULT_PRESET, get_preset

RESULTS = Path("benchmarks/results")


def run(preset: str, args) -> dict:
    out = Path(args.work) / preset
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    train = [
        *[
            "-m",
            "dcgan_tutorial",
            "train",
            "--preset",
            preset,
            "--dataset",
            "mnist",
        ],
        *[
            "--out",
            str(out),
            "--overwrite",
            "--no-progress",
            "--time-budget",
            str(args.budget),
        ],
        *["--device", "cpu", "--seed", str(args.seed)],
        *(["--data-root", args.data_root] if args.data_root else []),
    ]
    text = subprocess.run(
        [sys.executable, *train],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    steps = int(re.search(r"step (\d+), epoch", text).group(1))
    ema = bool(get_preset(preset).train.ema_decay)
    generator = out / ("ema_generator.pt" if ema else "checkpoint.pt")
    evaluate = [
        *["-m", "dcgan_tutorial", "evaluate", "--checkpoint", str(generator)],
        *["--device", "cpu"],
        *(["--data-root", args.data_root] if args.data_root else []),
    ]
    report = subprocess.run(
        [sys.executable, *evaluate],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    fid = float(re.search(r"^FID .*\):\s*([0-9.]+)", report, re.M).group(1))
    shares = [
        float(s) / 100 for s in re.findall(r"\d+ \d+ \(([0-9.]+)%\)", report)
    ]
    shown = ["python", *train]
    shown[shown.index("--out") + 1] = "RUN"
    if args.data_root:
        shown[shown.index("--data-root") + 1] = "DIR"
    return {
        "preset": preset,
        "command": " ".join(shown),
        "generator": generator.name,
        "steps": steps,
        "fid": fid,
        "shares": shares,
        "evaluate_output": report.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--presets", nargs="+", default=[DEFAULT_PRESET, "mnist28"]
    )
    parser.add_argument("--budget", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="runs/readme_3min")
    parser.add_argument("--out", default=str(RESULTS / "readme_3min.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for preset in args.presets:
        results.append(run(preset, args))
        r = results[-1]
        print(
            f"{preset}: {r['steps']:,} steps in {args.budget:.0f} s, FID {r['fid']:.1f} "
            f"({r['generator']}), digits {100 * min(r['shares']):.1f}% to "
            f"{100 * max(r['shares']):.1f}%",
            flush=True,
        )
    record = {
        "hardware": hardware_name(),
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/readme_3min.py --data-root DIR",
        "budget_s": args.budget,
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
