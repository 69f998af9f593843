"""Quality per CPU second: which CPU preset gives the best MNIST digits in a 3-minute budget?

For each candidate recipe this (1) measures training throughput (steps/s, median of repeats,
candidates interleaved so they share the machine's noise), (2) trains it on real MNIST and
evaluates a classifier-feature FID and class coverage every ``--eval-every`` steps, and
(3) reports the quality at the step count the budget allows at the measured throughput.
Step-indexed quality does not depend on how busy the machine was during training.

    python benchmarks/cpu_quality.py --data-root DIR --budget 180 --out benchmarks/results/cpu_quality.json
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.metrics import (
    class_coverage,
    classifier_fid,
    generator_samples,
)
from dcgan_tutorial.run import RunPlan, plan_run, prepare_run
from dcgan_tutorial.train import train_step

CANDIDATES = {
    # name: (model overrides, train overrides)
    "tutorial-style 64/64 b128 lr2e-4": (
        dict(ngf=64, ndf=64),
        dict(batch_size=128, lr_g=2e-4, lr_d=2e-4),
    ),
    "32/32 b64 lr2e-4": (
        dict(ngf=32, ndf=32),
        dict(batch_size=64, lr_g=2e-4, lr_d=2e-4),
    ),
    "32/32 b64 lrG5e-4 lrD2e-4": (
        dict(ngf=32, ndf=32),
        dict(batch_size=64, lr_g=5e-4, lr_d=2e-4),
    ),
}


def recipe(name: str) -> RunPlan:
    """The mnist28 preset with the candidate's changes (no step limit: the loops below stop)."""
    model_over, train_over = CANDIDATES[name]
    return plan_run(
        "mnist28", model=model_over, train=train_over, limits={"steps": 10**9}
    )


def throughput(
    names, data_root, warmup=15, steps=60, repeats=3
) -> dict[str, float]:
    """Training steps per second of each recipe, median over interleaved repeats."""
    runs = {n: [] for n in names}
    setups = {}
    for n in names:
        setups[n] = prepare_run(recipe(n), "cpu", data_root, limit=8192)
    for _ in range(repeats):
        for n in names:
            state, loader = setups[n]
            batches = loader.batches(0)
            for _ in range(warmup):
                train_step(state, next(batches)[0])
            start = time.perf_counter()
            for _ in range(steps):
                real = next(batches, None)
                if real is None:
                    batches = loader.batches(1)
                    real = next(batches)
                train_step(state, real[0])
            runs[n].append(steps / (time.perf_counter() - start))
    return {n: statistics.median(v) for n, v in runs.items()}


def quality_curve(
    name, data_root, max_steps, eval_every, real_test, classifier
) -> list[dict]:
    plan = recipe(name)
    state, loader = prepare_run(plan, "cpu", data_root)
    curve = []
    while state.step < max_steps:
        epoch, offset = divmod(state.step, len(loader))
        for real, _ in loader.batches(epoch, offset):
            train_step(state, real)
            state.step += 1
            if state.step % eval_every == 0 or state.step >= max_steps:
                fakes = generator_samples(state.G, 10_000, seed=1)
                G_train = copy.deepcopy(state.G).train()
                with torch.no_grad():
                    z = torch.randn(
                        10_000,
                        plan.model_cfg.nz,
                        1,
                        1,
                        generator=torch.Generator().manual_seed(1),
                    )
                    fakes_train_bn = torch.cat([G_train(b) for b in z.split(500)])
                cov = class_coverage(fakes, classifier)
                point = {
                    "step": state.step,
                    "fid": classifier_fid(real_test, fakes, classifier),
                    "fid_train_mode_bn": classifier_fid(
                        real_test, fakes_train_bn, classifier
                    ),
                    "classes_present": cov.classes_present,
                    "kl_from_uniform": cov.kl_from_uniform,
                }
                curve.append(point)
                print(name, point, flush=True)
            if state.step >= max_steps:
                break
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--budget",
        type=float,
        default=180.0,
        help="seconds of CPU training to compare at",
    )
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="train each recipe this far (default: budget)",
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="names of candidates to run"
    )
    parser.add_argument(
        "--speed",
        default=None,
        help="JSON of steps/s per recipe measured earlier on an idle machine (skips measuring)",
    )
    parser.add_argument(
        "--curve-threads",
        type=int,
        default=None,
        help="torch threads while training the curves (quality per step does not depend on it)",
    )
    parser.add_argument("--out", default="benchmarks/results/cpu_quality.json")
    args = parser.parse_args()

    threads = torch.get_num_threads()
    names = args.only or list(CANDIDATES)
    speed = (
        json.loads(args.speed)
        if args.speed
        else throughput(names, args.data_root)
    )
    print("steps/s:", json.dumps(speed), flush=True)
    if args.curve_threads:
        torch.set_num_threads(args.curve_threads)
    classifier = load_classifier()
    real_test, _ = load_images("mnist", args.data_root, train=False)
    results = {}
    for n in names:
        budget_steps = int(speed[n] * args.budget)
        curve = quality_curve(
            n,
            args.data_root,
            args.max_steps or budget_steps,
            args.eval_every,
            real_test,
            classifier,
        )
        at_budget = min(curve, key=lambda p: abs(p["step"] - budget_steps))
        results[n] = {
            "steps_per_s": speed[n],
            "images_per_s": speed[n] * recipe(n)[1].batch_size,
            "steps_in_budget": budget_steps,
            "at_budget": at_budget,
            "curve": curve,
        }
    print(
        f"\n{'recipe':36s} {'steps/s':>8s} {'steps in budget':>16s} {'FID':>8s} {'classes':>8s}"
    )
    for n, r in results.items():
        print(
            f"{n:36s} {r['steps_per_s']:8.1f} {r['steps_in_budget']:16d} {r['at_budget']['fid']:8.2f} "
            f"{r['at_budget']['classes_present']:8d}"
        )
    record = {
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {threads} threads",
        "budget_s": args.budget,
        "command": "python benchmarks/cpu_quality.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in vars(args).items()
            if v is not None
            and k not in ("only", "speed", "curve_threads", "data_root")
        ),
        "throughput_source": "--speed (measured earlier by this script)"
        if args.speed
        else "this run",
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
