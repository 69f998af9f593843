"""Which recipe for a long CPU run? Short runs of candidate recipes, FID tracked as they train.

Each variant is the ``mnist28`` preset with the changes in ``VARIANTS`` (width, EMA of G, the
R1 penalty, a learning-rate decay), trained with ``python -m dcgan_tutorial train`` for the same number of steps on
one CPU thread per run, two runs side by side. ``--fid-every`` makes the run measure the
classifier FID of its evaluated generator (the EMA generator when there is one) on 2,000
samples against 10,000 training images as it goes (``RUN/fid_history.json``); the script
collects those curves and each run's training speed, and prints the mean over seeds at every
measured step and at equal CPU time.

    python benchmarks/mnist_recipes.py --data-root DIR --steps 4000 --seeds 0 1

writes ``benchmarks/results/mnist_recipes.json`` (every run and its curve) and
``mnist_recipes.txt`` (the table). A run already in the JSON is not trained again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dcgan_tutorial.device import hardware_name

# name: (extra train flags, what it is)
VARIANTS = {
    "mnist28": (
        [],
        "the default: ngf = ndf = 32, batch 64, lr_G 5e-4, lr_D 2e-4",
    ),
    "w64": (["--ngf", "64", "--ndf", "64"], "twice as wide: ngf = ndf = 64"),
    "w64_ema": (
        ["--ngf", "64", "--ndf", "64", "--ema-decay", "0.999"],
        "w64 with an EMA of G (0.999)",
    ),
    "w64_ema_r1": (
        ["--ngf", "64", "--ndf", "64", "--ema-decay", "0.999", "--r1-gamma", "1"],
        "w64_ema with the R1 penalty on reals (gamma 1)",
    ),
    "w64_ema_r1_decay": (
        [
            *[
                "--ngf",
                "64",
                "--ndf",
                "64",
                "--ema-decay",
                "0.999",
                "--r1-gamma",
                "1",
            ],
            *["--lr-half-life", "2000"],
        ],
        "w64_ema_r1 with both learning rates halved every 2,000 steps",
    ),
}
RESULTS = Path("benchmarks/results")


def run_one(
    name: str,
    seed: int,
    steps: int,
    fid_every: int,
    data_root: str | None,
    work: Path,
) -> dict:
    """Train one variant for ``steps`` steps on one thread; its FID curve and its speed."""
    out = work / f"{name}_s{seed}"
    flags, _ = VARIANTS[name]
    command = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "train",
        "--preset",
        "mnist28",
        "--out",
        str(out),
        "--overwrite",
        "--no-progress",
        "--device",
        "cpu",
        "--steps",
        str(steps),
        "--seed",
        str(seed),
        "--fid-every",
        str(fid_every),
        "--sample-every",
        str(steps),
        "--checkpoint-every",
        str(steps),
        "--checkpoint-minutes",
        "1000",
        *flags,
    ]
    if data_root:
        command += ["--data-root", data_root]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    curve = json.loads((out / "fid_history.json").read_text())["history"]
    return {
        "variant": name,
        "seed": seed,
        "steps": steps,
        "seconds": round(seconds, 1),
        "steps_per_s": round(steps / seconds, 2),
        "curve": curve,
    }


def table(runs: list[dict]) -> str:
    lines = [
        "variant          steps/s  "
        + "  ".join(f"{p['step']:>6}" for p in runs[0]["curve"])
    ]
    for name in VARIANTS:
        mine = [r for r in runs if r["variant"] == name]
        if not mine:
            continue
        speed = statistics.mean(r["steps_per_s"] for r in mine)
        cols = []
        for i in range(len(mine[0]["curve"])):
            fids = [r["curve"][i]["fid"] for r in mine if i < len(r["curve"])]
            cols.append(f"{statistics.mean(fids):6.1f}")
        lines.append(f"{name:<16} {speed:7.1f}  " + "  ".join(cols))
    lines.append(
        "(mean classifier FID over seeds at each step; 2,000 samples against 10,000 training images)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--fid-every", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS)
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=2,
        help="runs side by side, one thread each",
    )
    parser.add_argument("--work", default="runs/mnist_recipes")
    parser.add_argument("--out", default=str(RESULTS / "mnist_recipes.json"))
    args = parser.parse_args()
    out = Path(args.out)
    record = json.loads(out.read_text()) if out.exists() else {"runs": []}
    done = {(r["variant"], r["seed"], r["steps"]) for r in record["runs"]}
    jobs = [
        (v, s)
        for s in args.seeds
        for v in args.variants
        if (v, s, args.steps) not in done
    ]
    record.update(
        {
            "hardware": hardware_name(),
            "command": "python "
            + " ".join(sys.argv).replace(str(args.data_root), "DIR"),
            "variants": {k: v[1] for k, v in VARIANTS.items()},
        }
    )

    def job(item):
        return run_one(
            *item, args.steps, args.fid_every, args.data_root, Path(args.work)
        )

    with ThreadPoolExecutor(args.parallel) as pool:
        for result in pool.map(job, jobs):
            record["runs"].append(result)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record, indent=1))
            print(
                f"{result['variant']} seed {result['seed']}: {result['steps_per_s']} steps/s, "
                f"FID {[round(p['fid'], 1) for p in result['curve']]}",
                flush=True,
            )
    runs = [r for r in record["runs"] if r["steps"] == args.steps]
    text = table(runs)
    out.with_suffix(".txt").write_text(
        f"{record['command']}\n{record['hardware']}\n\n{text}\n"
    )
    print(text)


if __name__ == "__main__":
    main()
