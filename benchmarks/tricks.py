"""What actually helps a GAN? Each training trick alone on the mnist28 recipe, then the best combination.

Every variant is the ``mnist28`` preset with one change (``VARIANTS``), trained for the same
fixed number of steps with the package's ``train_gan``, for several seeds. During each run
``FIDTracker`` measures the classifier FID of 2,000 samples (the same noise every time) against
10,000 *training* images every ``--eval-every`` steps: the curve, and the best generator. After
the run: the FID of the last generator and of the tracked best, each on 5,000 samples against
the 10,000 *test* images, and the digit shares the shipped classifier reads in those samples.
An EMA run is judged by its averaged generator (BatchNorm statistics re-estimated); for it the
FID of the raw G and of the EMA generator with G's copied statistics are recorded too.

Then the combination: every trick whose mean FID beat the baseline's, together. Tricks can cost
time, so each variant's training speed is measured separately (steps/s, its repeats interleaved
with the other variants' in one process, so all share the machine's load the same way), and the
baseline is trained again for as many steps as it makes in the combination's time, when that
is more: the comparison at equal CPU time.

    python benchmarks/tricks.py --data-root DIR --steps 1500 --seeds 0 1 2 --ship

writes ``benchmarks/results/tricks_cpu.json`` (every run, the curves) and ``tricks_cpu.txt`` (the
table); ``--ship`` copies the JSON to ``dcgan_tutorial/assets/results/tricks_cpu.json`` for the book. It
saves after every run and, given the same ``--out``, skips the runs already there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import shutil
import statistics
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import torch

from dcgan_tutorial import load_images, train_gan, train_step
from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.metrics import ReferenceFID, class_coverage, generator_samples
from dcgan_tutorial.run import RunPlan, plan_run, prepare_run
from dcgan_tutorial.watchers import FIDTracker, evaluated_generator

BASELINE = "baseline"
# name: (ModelConfig overrides, TrainConfig overrides, what it is). The values are the papers'
# usual ones; instance noise falls to 0 over the run (its steps are set from --steps).
VARIANTS = {
    BASELINE: ({}, {}, "mnist28 as it is: BCE, lr_G 5e-4, lr_D 2e-4"),
    "ema": (
        {},
        {"ema_decay": 0.999},
        "EMA of G's weights, decay 0.999, BatchNorm re-estimated",
    ),
    "ttur": (
        {},
        {"lr_g": 1e-4, "lr_d": 4e-4},
        "two time-scales the usual way round: lr_G 1e-4, lr_D 4e-4",
    ),
    "hinge": ({}, {"loss": "hinge"}, "hinge loss for D and G"),
    "spectral_norm": (
        {"spectral_norm": True},
        {},
        "spectral norm on D's conv and linear layers",
    ),
    "label_smoothing": (
        {},
        {"label_smoothing": 0.1},
        "one-sided label smoothing: real target 0.9",
    ),
    "instance_noise": (
        {},
        {"instance_noise": 0.2},
        "instance noise, sigma 0.2 falling to 0 over the run",
    ),
    "diffaugment": (
        {},
        {"diffaugment": True},
        "DiffAugment: translation 1/8 + cutout 1/2",
    ),
    "r1": ({}, {"r1_gamma": 1.0}, "R1 penalty on reals, gamma 1"),
}
COMBINATION = "combination"
EQUAL_TIME = "baseline_equal_time"
RESULTS = Path("benchmarks/results")
SHIPPED = Path(
    "dcgan_tutorial/assets/results/tricks_cpu.json"
)  # read by the book (notebook.stored_result)


def plan(
    model_over: dict, train_over: dict, steps: int, seed: int, eval_every: int
) -> RunPlan:
    """The mnist28 preset with the overrides, for a fixed number of steps."""
    train = {
        "instance_noise_steps": steps,
        **train_over,
        "seed": seed,
        "sample_every": steps + 1,
        "log_every": 50,
        "checkpoint_every": steps + 1,
        "checkpoint_minutes": None,
    }
    assert eval_every % 50 == 0, (
        "--eval-every must be a multiple of 50 (FIDTracker measures at log steps)"
    )
    return plan_run(
        "mnist28", model=model_over, train=train, limits={"steps": steps}
    )


def steps_per_second(
    variants: dict, data_root, warmup: int = 5, steps: int = 30, repeats: int = 2
) -> dict:
    """Training steps/s of each variant: the median of ``repeats`` timings, interleaved across variants."""
    setups, timings = {}, {name: [] for name in variants}
    for name, (model_over, train_over) in variants.items():
        setups[name] = prepare_run(
            plan(model_over, train_over, 10**6, 0, 50),
            "cpu",
            data_root,
            limit=8192,
        )
    for _ in range(repeats):
        for name, (state, loader) in setups.items():
            batches = loader.batches(
                len(timings[name])
            )  # a fresh epoch per repeat: 35 of its 128 batches
            for _ in range(warmup):
                train_step(state, next(batches)[0])
                state.step += 1
            start = time.perf_counter()
            for _ in range(steps):
                train_step(state, next(batches)[0])
                state.step += 1
            timings[name].append(steps / (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in timings.items()}


_REFERENCES: dict = {}  # per process: the classifier and the real images' features, computed once


def references(data_root) -> tuple:
    """(classifier, FID against 10,000 training images, FID against the 10,000 test images)."""
    if not _REFERENCES:
        classifier = load_classifier()
        train_images, _ = load_images("mnist", data_root, train=True)
        pick = torch.randperm(
            len(train_images), generator=torch.Generator().manual_seed(0)
        )[:10_000]
        _REFERENCES["refs"] = (
            classifier,
            ReferenceFID(train_images[pick], classifier),
            ReferenceFID(
                load_images("mnist", data_root, train=False)[0], classifier
            ),
        )
    return _REFERENCES["refs"]


def in_processes(work, jobs: list, n: int, describe):
    """Yield ``work(job)`` for each job as it finishes, ``n`` at a time, each in its own process.

    A job that fails is reported (``describe(job)`` and its traceback) and the others go on; a
    rerun of the benchmark retries it.
    """
    with ProcessPoolExecutor(
        n, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {pool.submit(work, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception:
                print(f"FAILED: {describe(futures[future])}", flush=True)
                traceback.print_exc()
                continue
            yield result


def run_job(job: tuple) -> tuple:
    """One (variant, seed) run in a worker process with ``threads`` torch threads."""
    name, model_over, train_over, steps, seed, eval_every, data_root, threads = (
        job
    )
    torch.set_num_threads(threads)
    return name, one_run(
        model_over,
        train_over,
        steps,
        seed,
        eval_every,
        data_root,
        *references(data_root),
    )


def one_run(
    model_over,
    train_over,
    steps,
    seed,
    eval_every,
    data_root,
    classifier,
    train_ref,
    test_fid,
    precision=None,
) -> dict:
    """Train one variant for one seed; its FID curve, final and best FID on the test set, digit shares.

    precision: "fp32" or "bf16" (None: the CPU's default from ``speed_settings``).
    """
    state, loader = prepare_run(
        plan(model_over, train_over, steps, seed, eval_every), "cpu", data_root
    )
    if precision is not None:
        state.speed = replace(state.speed, precision=precision)
    tracker = FIDTracker(
        train_ref, every=eval_every, n=2000, classifier=classifier
    )
    start = time.perf_counter()
    train_gan(state, loader, callbacks=[tracker], progress=False)
    wall = time.perf_counter() - start
    G = evaluated_generator(state)
    fakes = generator_samples(G, 5000, seed=1)
    coverage = class_coverage(fakes, classifier)
    shares = [c / len(fakes) for c in coverage.counts]
    last_state = {k: v.clone() for k, v in G.state_dict().items()}
    G.load_state_dict(tracker.best_state)
    fid_best = test_fid(generator_samples(G, 5000, seed=1))
    G.load_state_dict(last_state)
    run = {
        "seed": seed,
        "steps": state.step,
        "train_seconds": wall - tracker.seconds,
        "wall_seconds": wall,
        "curve": tracker.history,
        "fid_last": test_fid(fakes),
        "fid_best": fid_best,
        "best_step": tracker.best["step"],
        "shares": shares,
        "min_share": min(shares),
        "max_share": max(shares),
        "classes_present": coverage.classes_present,
        "kl_from_uniform": coverage.kl_from_uniform,
    }
    if (
        state.ema is not None
    ):  # what averaging and the BatchNorm statistics each contribute
        run["fid_raw_g"] = test_fid(generator_samples(state.G, 5000, seed=1))
        for ema_b, g_b in zip(state.ema.G.buffers(), state.G.buffers()):
            ema_b.copy_(g_b)
        run["fid_ema_copied_bn"] = test_fid(
            generator_samples(state.ema.G, 5000, seed=1)
        )
    return run


def summarise(runs: list[dict]) -> dict:
    """Mean and standard deviation over seeds of each measured number."""
    keys = (
        "fid_last",
        "fid_best",
        "min_share",
        "max_share",
        "train_seconds",
        "fid_raw_g",
        "fid_ema_copied_bn",
    )
    out = {}
    for k in keys:
        values = [r[k] for r in runs if k in r]
        if values:
            out[k] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
    return out


def choose_combination(results: dict) -> list[str]:
    """Every single trick whose mean FID (last generator) beat the baseline's; the best one if none did."""
    base = results[BASELINE]["summary"]["fid_last"]["mean"]
    singles = {
        n: r["summary"]["fid_last"]["mean"]
        for n, r in results.items()
        if n in VARIANTS and n != BASELINE
    }
    winners = sorted(
        (n for n, fid in singles.items() if fid < base), key=singles.get
    )
    return winners or [min(singles, key=singles.get)]


def merged(names: list[str]) -> tuple[dict, dict]:
    model, train = {}, {}
    for n in names:
        model.update(VARIANTS[n][0])
        train.update(VARIANTS[n][1])
    return model, train


def table(record: dict) -> str:
    lines = [
        f"{record['title']}",
        f"machine: {record['machine']}; torch {record['torch']}; {record['date']}",
        f"command: {record['command']}",
        "",
        f"{'variant':22s} {'steps':>6s} {'steps/s':>8s} {'FID last':>16s} {'FID best ckpt':>16s} "
        f"{'min share':>10s} {'max share':>10s}",
    ]
    for name, r in record["results"].items():
        s = r.get("summary", {})
        if "fid_last" not in s or not r["runs"]:
            continue
        lines.append(
            f"{name:22s} {r['runs'][0]['steps']:6d} {r.get('steps_per_s', float('nan')):8.1f} "
            f"{s['fid_last']['mean']:8.1f} ± {s['fid_last']['std']:5.1f} "
            f"{s['fid_best']['mean']:8.1f} ± {s['fid_best']['std']:5.1f} "
            f"{100 * s['min_share']['mean']:9.1f}% {100 * s['max_share']['mean']:9.1f}%"
        )
    lines += [
        "",
        "mean ± standard deviation over seeds; FID of 5,000 samples on the shipped classifier's features "
        "against the 10,000 MNIST test images (lower is better); 'best ckpt': the generator with the lowest "
        "FID against training images among those measured every --eval-every steps; shares: of the 5,000 "
        "samples, the rarest and the commonest digit (10% each is even).",
    ]
    if record.get("combination"):
        lines.append(f"combination: {' + '.join(record['combination'])}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--steps", type=int, default=1500, help="training steps of every run"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--eval-every",
        type=int,
        default=250,
        help="steps between FID measurements (multiple of 50)",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="single variants to run (default: all)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per run (1: steadiest on a shared CPU)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="runs at a time, each in its own process",
    )
    parser.add_argument("--out", default=str(RESULTS / "tricks_cpu.json"))
    parser.add_argument(
        "--ship",
        action="store_true",
        help=f"copy the JSON to {SHIPPED} for the book",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    record = json.loads(out.read_text()) if out.is_file() else {"results": {}}
    record.update(
        {
            "title": f"Training tricks on mnist28, {args.steps} steps, seeds {args.seeds}",
            "date": datetime.date.today().isoformat(),
            "torch": torch.__version__,
            "machine": hardware_name("cpu"),
            "steps": args.steps,
            "seeds": args.seeds,
            "eval_every": args.eval_every,
            "command": "python benchmarks/tricks.py --data-root DIR "
            + " ".join(
                f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in vars(args).items()
                if k not in ("data_root", "ship", "only") and v is not None
            )
            + (" --only " + " ".join(args.only) if args.only else "")
            + (" --ship" if args.ship else ""),
            "variants": {n: v[2] for n, v in VARIANTS.items()},
        }
    )
    results = record["results"]

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        out.with_suffix(".txt").write_text(table(record))
        if args.ship:
            SHIPPED.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, SHIPPED)

    def time_singles(names: list[str]) -> None:
        """Every single variant's steps/s, timed together (last: the quality runs come first)."""
        speed = steps_per_second(
            {n: VARIANTS[n][:2] for n in names}, args.data_root
        )
        print("steps/s:", json.dumps(speed), flush=True)
        for name in names:
            results[name]["steps_per_s"] = speed[name]
        record["single_speed_note"] = (
            "steps/s of the single variants, timed together after their runs"
        )
        save()

    def run_variants(variants: dict[str, tuple[dict, dict, int]]) -> None:
        """Every seed of every variant not already in the results, ``--jobs`` runs at a time."""
        jobs = []
        for name, (model_over, train_over, steps) in variants.items():
            entry = results.setdefault(name, {"runs": []})
            entry.update(
                {"model_overrides": model_over, "train_overrides": train_over}
            )
            entry["runs"] = [
                r for r in entry["runs"] if r["steps"] == steps
            ]  # runs of another length are dropped,
            entry["summary"] = summarise(entry["runs"])  # and so is their summary
            done = {r["seed"] for r in entry["runs"]}
            jobs += [
                (
                    name,
                    model_over,
                    train_over,
                    steps,
                    seed,
                    args.eval_every,
                    args.data_root,
                    args.threads,
                )
                for seed in args.seeds
                if seed not in done
            ]
        jobs.sort(
            key=lambda job: args.seeds.index(job[4])
        )  # every variant's first seed first
        for name, run in in_processes(
            run_job, jobs, args.jobs, lambda job: f"{job[0]} seed {job[4]}"
        ):
            entry = results[name]
            entry["runs"].append(run)
            entry["summary"] = summarise(entry["runs"])
            print(
                f"{name} seed {run['seed']}: FID {run['fid_last']:.1f} (best {run['fid_best']:.1f} at step "
                f"{run['best_step']}), shares {100 * run['min_share']:.1f}-{100 * run['max_share']:.1f}%, "
                f"{run['train_seconds']:.0f} s",
                flush=True,
            )
            save()

    singles = args.only or list(VARIANTS)
    run_variants({name: (*VARIANTS[name][:2], args.steps) for name in singles})
    if args.only:
        time_singles(singles)
        save()
        return

    record["combination"] = choose_combination(results)
    model_over, train_over = merged(record["combination"])
    speed = steps_per_second(
        {BASELINE: ({}, {}), COMBINATION: (model_over, train_over)},
        args.data_root,
    )
    results.setdefault(COMBINATION, {"runs": []})["steps_per_s"] = speed[
        COMBINATION
    ]
    record["speed_ratio_note"] = (
        "baseline and combination re-timed together: "
        + json.dumps({BASELINE: speed[BASELINE], COMBINATION: speed[COMBINATION]})
    )
    # equal CPU time: the baseline for as many steps as it makes while the combination makes --steps
    equal_steps = (
        int(
            round(
                args.steps
                * speed[BASELINE]
                / speed[COMBINATION]
                / args.eval_every
            )
        )
        * args.eval_every
    )
    record["equal_time_steps"] = equal_steps
    last = {COMBINATION: (model_over, train_over, args.steps)}
    if equal_steps > args.steps:
        results.setdefault(EQUAL_TIME, {"runs": []})["steps_per_s"] = speed[
            BASELINE
        ]
        last[EQUAL_TIME] = ({}, {}, equal_steps)
    run_variants(last)
    time_singles(singles)
    save()
    print(table(record))


if __name__ == "__main__":
    main()
