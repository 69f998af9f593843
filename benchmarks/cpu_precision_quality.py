"""Does bf16 autocast on the CPU keep quality? FID at equal steps, fp32 against bf16, over seeds.

For each seed, the ``mnist28`` run is trained twice through the package's own loop
(``train_gan``): once in fp32 (the CPU's fast path: channels_last, fused Adam) and once with
bf16 autocast added, the two alternating so they share the machine's load. At each
``--eval-at`` step the generator's FID (the shipped digit classifier's features, 10,000
samples against the 10,000 test images, as in README "What we measured") and its class
coverage are recorded. bf16 keeps quality when its mean FID lies within the seed-to-seed
spread of fp32 (the fp32 runs' min..max at that step).

    python benchmarks/cpu_precision_quality.py --data-root DIR --seeds 0 1 2 --eval-at 1500 3000 \
        --out benchmarks/results/cpu_precision_quality.json

On a shared machine the two precisions can run as two processes of one thread each, and their
files merged afterwards (the summary is computed from the merged runs):

    python benchmarks/cpu_precision_quality.py --precisions fp32 --threads 1 --out A.json ... &
    python benchmarks/cpu_precision_quality.py --precisions bf16 --threads 1 --out B.json ... &
    python benchmarks/cpu_precision_quality.py --merge A.json B.json --out C.json
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import re
import shlex
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.device import cpu_has_native_bf16, hardware_name
from dcgan_tutorial.metrics import (
    class_coverage,
    classifier_fid,
    generator_samples,
)
from dcgan_tutorial.run import plan_run, prepare_run
from dcgan_tutorial.train import train_gan


def train_and_evaluate(
    preset: str,
    seed: int,
    precision: str,
    eval_at: list[int],
    data_root,
    real_test,
    classifier,
    save=lambda points: None,
) -> list[dict]:
    """One run of ``preset`` in ``precision``: FID and coverage at each step of ``eval_at`` (``save``d as they come)."""
    plan = plan_run(preset, train={"seed": seed}, limits={"steps": max(eval_at)})
    state, loader = prepare_run(plan, "cpu", data_root)
    state.speed = replace(state.speed, precision=precision)
    points, seconds = [], 0.0
    for step in sorted(eval_at):
        state.train_cfg = replace(state.train_cfg, steps=step)
        started = time.perf_counter()
        train_gan(state, loader, progress=False)
        seconds += time.perf_counter() - started
        fakes = generator_samples(state.G, 10_000, seed=1)
        coverage = class_coverage(fakes, classifier)
        point = {
            "step": state.step,
            "fid": classifier_fid(real_test, fakes, classifier),
            "classes_present": coverage.classes_present,
            "kl_from_uniform": coverage.kl_from_uniform,
            "train_seconds": seconds,
        }
        points.append(point)
        save(points)
        print(f"seed {seed} {precision}: {point}", flush=True)
    return points


def summarise(runs: dict, eval_at: list[int]) -> dict:
    """Per step: each precision's FIDs, mean, and whether bf16's mean is inside fp32's min..max."""
    summary = {}
    for step in eval_at:
        fids = {
            p: [
                pt["fid"]
                for curve in per_seed.values()
                for pt in curve
                if pt["step"] == step
            ]
            for p, per_seed in runs.items()
        }  # runs that reached ``step``
        entry = {
            p: {
                "fids": v,
                "seeds": len(v),
                "mean": statistics.fmean(v),
                "min": min(v),
                "max": max(v),
            }
            for p, v in fids.items()
            if v
        }
        if "fp32" in entry and "bf16" in entry:
            entry["bf16_mean_within_fp32_spread"] = (
                entry["fp32"]["min"]
                <= entry["bf16"]["mean"]
                <= entry["fp32"]["max"]
            )
            entry["bf16_minus_fp32_mean"] = (
                entry["bf16"]["mean"] - entry["fp32"]["mean"]
            )
        summary[str(step)] = entry
    return summary


def read_printed(path: str) -> dict:
    """The points a run printed (``seed S PRECISION: {...}`` lines of its output), for a run stopped early."""
    runs: dict = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"seed (\d+) (fp32|bf16): (\{.*\})$", line)
        if match:
            runs.setdefault(match[2], {}).setdefault(match[1], []).append(
                ast.literal_eval(match[3])
            )
    return {
        "command": f"printed output: {Path(path).name}",
        "date": None,
        "runs": runs,
    }


def merge(paths: list[str], out: str) -> None:
    """One record holding every run of ``paths`` (result files, or a stopped run's printed output), and the summary."""
    parts = [
        json.loads(Path(p).read_text())
        if p.endswith(".json")
        else read_printed(p)
        for p in paths
    ]
    parts = sorted(
        parts, key=lambda p: "machine" not in p
    )  # a result file's header first
    record = {
        **parts[0],
        "merged_from": [
            {"command": p["command"], "date": p["date"]} for p in parts
        ],
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }
    if any(p["command"].startswith("printed output") for p in parts):
        record["note"] = (
            "some runs were stopped before their last evaluation: their points are the ones "
            "they printed; a step's summary uses the runs that reached it"
        )
    for key, value in (
        ("machine", hardware_name("cpu")),
        ("torch", torch.__version__),
        ("cpu_has_native_bf16", cpu_has_native_bf16()),
        ("preset", "mnist28"),
    ):
        record.setdefault(
            key, value
        )  # printed output carries no header: this machine's
    record["runs"] = {}
    for part in parts:
        for precision, per_seed in part["runs"].items():
            record["runs"].setdefault(precision, {}).update(per_seed)
    steps = sorted(
        {
            pt["step"]
            for per_seed in record["runs"].values()
            for curve in per_seed.values()
            for pt in curve
        }
    )
    record["summary"] = summarise(record["runs"], steps)
    Path(out).write_text(json.dumps(record, indent=1))
    for step, entry in record["summary"].items():
        print(
            f"step {step}: "
            + ", ".join(
                f"{p} FID {e['mean']:.1f} ({e['min']:.1f}..{e['max']:.1f})"
                for p, e in entry.items()
                if isinstance(e, dict)
            )
        )
    print("wrote", out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--preset", default="mnist28")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--eval-at", type=int, nargs="+", default=[2000, 4000, 6000]
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["fp32", "bf16"],
        choices=("fp32", "bf16"),
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (FID at a step does not depend on it)",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="combine the runs of these result files",
    )
    parser.add_argument(
        "--out", default="benchmarks/results/cpu_precision_quality.json"
    )
    args = parser.parse_args()
    if args.merge:
        merge(args.merge, args.out)
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    classifier = load_classifier()
    real_test, _ = load_images("mnist", args.data_root, train=False)
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "torch": torch.__version__,
        "machine": hardware_name("cpu"),
        "cpu_has_native_bf16": cpu_has_native_bf16(),
        "preset": args.preset,
        "command": "python "
        + " ".join(shlex.quote(a) for a in sys.argv if a != args.data_root),
        "note": "the machine was shared with other work while this ran: train_seconds are indicative only; "
        "FID at a step does not depend on the load",
        "runs": {p: {} for p in args.precisions},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for (
            precision
        ) in args.precisions:  # alternating: both see the same machine load

            def save(points, runs=record["runs"][precision], seed=seed):
                runs[str(seed)] = points
                out.write_text(json.dumps(record, indent=1))

            train_and_evaluate(
                args.preset,
                seed,
                precision,
                args.eval_at,
                args.data_root,
                real_test,
                classifier,
                save,
            )
    record["summary"] = summarise(record["runs"], sorted(args.eval_at))
    out.write_text(json.dumps(record, indent=1))
    for step, entry in record["summary"].items():
        print(
            f"step {step}: "
            + ", ".join(
                f"{p} FID {entry[p]['mean']:.1f} ({entry[p]['min']:.1f}..{entry[p]['max']:.1f})"
                for p in args.precisions
            )
        )
    print("wrote", out)


if __name__ == "__main__":
    main()
