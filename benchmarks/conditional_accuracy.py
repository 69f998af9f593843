"""Does a conditional DCGAN draw the digit it is asked for? Train it for a time budget, then read it back.

Runs the package's own ``train`` command (``--preset cond-mnist --time-budget 300 --device cpu``
by default), then draws ``--n-per-class`` images of each class with ``sample_images(G, n,
class_index=K)`` and lets the shipped MNIST classifier (trained separately, on real digits only)
read them. Prints, per class, the share read as the class asked for, the lowest share, and the
FID and class coverage of an even mix; writes them to ``--out`` with the command and hardware.

    python benchmarks/conditional_accuracy.py --data-root DIR --out benchmarks/results/conditional_cpu.json

Target (README): at least 90% for every class after 5 minutes of CPU training.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from dcgan_tutorial.checkpoint import load_generator, read_checkpoint
from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.metrics import (
    class_coverage,
    classifier_fid,
    conditional_accuracy,
    generator_samples,
)
from dcgan_tutorial.runfolder import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--preset", default="cond-mnist")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=300.0,
        help="seconds of training (default 300)",
    )
    parser.add_argument("--n-per-class", type=int, default=1000)
    parser.add_argument(
        "--run-dir",
        default=None,
        help="keep the run here (default: a temporary folder)",
    )
    parser.add_argument(
        "--extra",
        nargs=argparse.REMAINDER,
        default=[],
        help="more train flags, after --extra",
    )
    parser.add_argument(
        "--out", default=None, help="write the figures here as JSON"
    )
    args = parser.parse_args()

    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="cond-run-"))
    command = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "train",
        "--preset",
        args.preset,
        "--out",
        str(run_dir),
        "--overwrite",
        "--no-progress",
        "--device",
        "cpu",
        "--time-budget",
        str(args.time_budget),
        "--sample-every",
        "500",
        "--checkpoint-every",
        "100000",
        *args.extra,
    ]
    if args.data_root:
        command += ["--data-root", args.data_root]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)

    G, model_cfg = load_generator(RunFolder(run_dir).checkpoint)
    step = int(read_checkpoint(RunFolder(run_dir).checkpoint)["step"])
    classifier = load_classifier("mnist")
    shares = conditional_accuracy(G, classifier, n_per_class=args.n_per_class)
    fakes = generator_samples(G, 10_000)
    real, _ = load_images("mnist", args.data_root, train=False)
    fid = classifier_fid(real, fakes, classifier)
    coverage = class_coverage(fakes, classifier)
    for k, share in enumerate(shares):
        print(
            f"class {k}: {100 * share:.1f}% of {args.n_per_class} images read as {k}"
        )
    print(
        f"lowest per-class accuracy {100 * min(shares):.1f}% after {step} steps ({args.time_budget:.0f} s); "
        f"target >= 90%: {'met' if min(shares) >= 0.9 else 'NOT met'}"
    )
    print(
        f"FID (classifier features, 10,000 even-mix samples vs MNIST test) {fid:.1f}; coverage: {coverage}"
    )
    if args.out:
        result = {
            "command": "python benchmarks/conditional_accuracy.py "
            + " ".join(sys.argv[1:]),
            "train_command": "python -m dcgan_tutorial " + " ".join(command[3:]),
            "date": datetime.date.today().isoformat(),
            "device": hardware_name(torch.device("cpu")),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "preset": args.preset,
            "steps": step,
            "time_budget_s": args.time_budget,
            "per_class_accuracy": shares,
            "lowest": min(shares),
            "fid": fid,
            "coverage_counts": coverage.counts,
            "classes_present": coverage.classes_present,
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
