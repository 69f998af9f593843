"""What helps a GAN on a small colour dataset? Width, DiffAugment, R1, EMA and the class, on the emoji.

About 1,240 training emoji (``--dataset emoji``) are 50 times fewer images than MNIST's 60,000:
the setting DiffAugment (Zhao et al. 2020) and R1 (Mescheder et al. 2018; Karras et al. 2020)
were made for. Every variant is the same 32x32 colour DCGAN (``BASE``: ngf = ndf = 32, batch
64, lr_G 5e-4, lr_D 2e-4, as ``mnist28``) with one change, trained for the same number of steps
with the package's ``train_gan``, for several seeds, one run at a time in its own process
(``tricks.in_processes``). EMA does not change training (it is a running average of G's
weights kept beside it), so every run keeps one (decay 0.999) and is measured twice: its G as
trained, and the EMA copy with BatchNorm re-estimated (``evaluated_generator``); the "ema" row is
the baseline runs' EMA copies. After each run:

* FID on the features of the shipped emoji classifier, of as many samples as there are training
  emoji against the training emoji (a conditional G is asked for their groups in their mix);
  for scale, the held-out real emoji score ``reference_fid_held_out``;
* the memorisation check (``metrics.memorisation_check``): the median pixel distance of a sample
  to its nearest training emoji, and the share of samples nearer a training emoji than every
  held-out emoji is;
* the training speed: steps/s of every variant timed together at the end, interleaved.

A verdict is Welch's t test of each variant's FIDs against the baseline's (two-sided, p < 0.05);
the same test is applied to the MNIST runs of ``tricks.py`` (``benchmarks/results/tricks_cpu.json``)
so the two datasets are judged alike.

    python benchmarks/emoji_tricks.py --steps 400 --seeds 0 1 2 \
        --only baseline diffaugment r1 cond --time-only wide --ship

writes ``benchmarks/results/emoji_tricks.json`` and ``emoji_tricks.txt``; ``--ship`` copies the JSON
to ``dcgan_tutorial/assets/results/emoji_tricks.json`` for the book. It saves after every run and,
given the same ``--out``, skips the runs already there.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # tricks.py beside this file
from tricks import in_processes  # noqa: E402

from dcgan_tutorial import load_images, train_gan, train_step  # noqa: E402
from dcgan_tutorial.classifier import load_classifier  # noqa: E402
from dcgan_tutorial.device import hardware_name  # noqa: E402
from dcgan_tutorial.metrics import (  # noqa: E402
    class_coverage,
    generator_samples,
    memorisation_check,
)
from dcgan_tutorial.run import plan_run, prepare_run  # noqa: E402
from dcgan_tutorial.tricks.fid_tracker import ReferenceFID, evaluated_generator  # noqa: E402

BASELINE = "baseline"
BASE_MODEL = {"image_size": 32, "ngf": 32, "ndf": 32}
BASE_TRAIN = {
    "dataset": "emoji",
    "batch_size": 64,
    "lr_g": 5e-4,
    "lr_d": 2e-4,
    "ema_decay": 0.999,
}
# name: (ModelConfig overrides, TrainConfig overrides, what it is); the tricks' values are tricks.py's
VARIANTS = {
    BASELINE: (
        {},
        {},
        "32x32 colour DCGAN, ngf = ndf = 32, batch 64, lr_G 5e-4, lr_D 2e-4",
    ),
    "diffaugment": (
        {},
        {"diffaugment": True},
        "DiffAugment: translation 1/8 + cutout 1/2",
    ),
    "r1": ({}, {"r1_gamma": 1.0}, "R1 penalty on reals, gamma 1"),
    "cond": (
        {"arch": "cond", "n_classes": 9},
        {},
        "conditioned on the Unicode group (9 classes)",
    ),
    "wide": ({"ngf": 64, "ndf": 64}, {}, "twice as wide: ngf = ndf = 64"),
}
EMA_NOTE = "EMA of G's weights, decay 0.999, BatchNorm re-estimated: the baseline runs' averaged G"
# the MNIST runs of tricks.py judged by the same test: emoji variant -> tricks.py variant
MNIST_NAMES = {"diffaugment": "diffaugment", "r1": "r1", "ema": "ema"}
RESULTS = Path("benchmarks/results")
SHIPPED = Path("dcgan_tutorial/assets/results/emoji_tricks.json")


def plan(name: str, steps: int, seed: int):
    model_over, train_over, _ = VARIANTS[name]
    train = {
        **BASE_TRAIN,
        **train_over,
        "seed": seed,
        "sample_every": steps + 1,
        "log_every": 50,
        "checkpoint_every": steps + 1,
        "checkpoint_minutes": None,
    }
    return plan_run(
        "mnist28",
        model={**BASE_MODEL, **model_over},
        train=train,
        limits={"steps": steps},
    )


_DATA: dict = {}  # per process: the emoji and the classifier's reference features, made once


def data() -> dict:
    if not _DATA:
        train, train_labels = load_images("emoji", train=True, image_size=32)
        held_out, _ = load_images("emoji", train=False, image_size=32)
        classifier = load_classifier("emoji")
        reference = ReferenceFID(train, classifier)
        _DATA.update(
            train=train,
            labels=train_labels,
            held_out=held_out,
            classifier=classifier,
            reference=reference,
            held_out_fid=reference(held_out),
        )
    return _DATA


def run_job(job: tuple) -> tuple:
    """One (variant, seed) run, in a worker process with ``threads`` torch threads."""
    name, steps, seed, threads = job
    torch.set_num_threads(threads)
    d = data()
    state, loader = prepare_run(plan(name, steps, seed), "cpu")
    start = time.perf_counter()
    train_gan(state, loader, progress=False)
    seconds = time.perf_counter() - start
    mix = d["labels"][
        torch.randperm(
            len(d["labels"]), generator=torch.Generator().manual_seed(1)
        )
    ]
    run = {
        "seed": seed,
        "steps": state.step,
        "train_seconds": seconds,
        "held_out_fid": d["held_out_fid"],
    }
    for prefix, G in (
        ("", state.G),
        ("ema_", evaluated_generator(state)),
    ):  # as trained; the EMA copy
        fakes = generator_samples(G, len(d["train"]), seed=1, labels=mix)
        memo = memorisation_check(fakes, d["train"], d["held_out"])
        run.update(
            {
                f"{prefix}fid": d["reference"](fakes),
                f"{prefix}median_nn_distance": float(
                    memo.sample_distances.median()
                ),
                f"{prefix}closer_than_any_held_out": memo.closer_than_any_held_out,
                f"{prefix}group_counts": class_coverage(
                    fakes, d["classifier"]
                ).counts,
            }
        )
    run["held_out_median_nn_distance"] = float(memo.held_out_distances.median())
    return name, run


def steps_per_second(
    names: list[str], warmup: int = 5, steps: int = 30, repeats: int = 2
) -> dict:
    """Training steps/s of each variant: the median of ``repeats`` timings, interleaved across variants."""
    setups = {n: prepare_run(plan(n, 10**6, 0), "cpu") for n in names}
    timings = {n: [] for n in names}
    for _ in range(repeats):
        for name, (state, loader) in setups.items():
            batches = itertools.chain.from_iterable(
                loader.batches(e) for e in itertools.count()
            )  # 19 per epoch
            for i in range(warmup + steps):
                if i == warmup:
                    start = time.perf_counter()
                real, labels = next(batches)
                train_step(state, real, labels)
                state.step += 1
            timings[name].append(steps / (time.perf_counter() - start))
    return {n: statistics.median(v) for n, v in timings.items()}


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction (Numerical Recipes 6.4)."""
    if x <= 0 or x >= 1:
        return min(max(x, 0.0), 1.0)
    if x > (a + 1) / (a + b + 2):
        return 1 - _incomplete_beta(b, a, 1 - x)
    front = (
        math.exp(
            math.lgamma(a + b)
            - math.lgamma(a)
            - math.lgamma(b)
            + a * math.log(x)
            + b * math.log(1 - x)
        )
        / a
    )
    c, d, f = 1.0, 1 - (a + b) * x / (a + 1), 0.0
    d = 1 / (d if abs(d) > 1e-30 else 1e-30)
    f = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > 1e-30 else 1e-30)
            c = 1 + numerator / c
            c = c if abs(c) > 1e-30 else 1e-30
            f *= c * d
        if abs(c * d - 1) < 1e-12:
            break
    return front * f


def welch(a: list[float], b: list[float]) -> dict:
    """Welch's t test of mean(a) - mean(b): the difference, its standard error, t, the degrees of freedom, p."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff, se = statistics.mean(a) - statistics.mean(b), math.sqrt(va + vb)
    t = diff / se
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = _incomplete_beta(
        df / 2, 0.5, df / (df + t * t)
    )  # two-sided, Student's t with df degrees of freedom
    return {"difference": diff, "standard_error": se, "t": t, "df": df, "p": p}


def verdict(test: dict, alpha: float = 0.05) -> str:
    if test["p"] >= alpha:
        return "no measurable difference"
    return "helps" if test["difference"] < 0 else "hurts"  # FID: lower is better


def mnist_verdicts(path: Path) -> dict:
    """tricks.py's MNIST runs (FID of the last G) judged by the same Welch test."""
    if not path.is_file():
        return {}
    results = json.loads(path.read_text())["results"]
    base = [r["fid_last"] for r in results[BASELINE]["runs"]]
    out = {}
    for ours, theirs in MNIST_NAMES.items():
        fids = [r["fid_last"] for r in results[theirs]["runs"]]
        test = welch(fids, base)
        out[ours] = {
            "fids": fids,
            "baseline_fids": base,
            "test": test,
            "verdict": verdict(test),
            "steps_per_s": results[theirs].get("steps_per_s"),
            "baseline_steps_per_s": results[BASELINE].get("steps_per_s"),
        }
    return out


def summarise(record: dict) -> None:
    """Mean, standard deviation and the verdict against the baseline of every variant with runs.

    The "ema" entry is made here from the baseline runs' EMA measurements.
    """
    results = record["results"]
    results.pop("ema", None)
    base_runs = results.get(BASELINE, {}).get("runs", [])
    if base_runs:
        ema_runs = []
        for r in base_runs:  # the EMA measurements in place of the trained G's
            run = {k: v for k, v in r.items() if not k.startswith("ema_")}
            ema_runs.append(
                {
                    **run,
                    **{k[4:]: v for k, v in r.items() if k.startswith("ema_")},
                }
            )
        results["ema"] = {"runs": ema_runs}
        if "steps_per_s" in results[BASELINE]:
            results["ema"]["steps_per_s"] = results[BASELINE]["steps_per_s"]
    base = [r["fid"] for r in base_runs]
    for name, entry in results.items():
        runs = entry["runs"]
        fids = [r["fid"] for r in runs]
        entry["summary"] = {
            k: {
                "mean": statistics.mean(v),
                "std": statistics.stdev(v) if len(v) > 1 else 0.0,
            }
            for k in (
                "fid",
                "median_nn_distance",
                "closer_than_any_held_out",
                "train_seconds",
            )
            if (v := [r[k] for r in runs])
        }
        if name != BASELINE and len(fids) > 1 and len(base) > 1:
            entry["test"] = welch(fids, base)
            entry["verdict"] = verdict(entry["test"])


def table(record: dict) -> str:
    lines = [
        record["title"],
        f"machine: {record['machine']}; torch {record['torch']}; {record['date']}",
        f"command: {record['command']}",
        "",
        f"{'variant':12s} {'steps/s':>8s} {'FID':>15s} {'p vs base':>9s}  {'verdict':24s} "
        f"{'NN dist':>7s} {'copies':>7s}",
    ]
    for name, entry in record["results"].items():
        s = entry.get("summary", {})
        if "fid" not in s:
            if "steps_per_s" in entry:  # timed only
                lines.append(
                    f"{name:12s} {entry['steps_per_s']:8.1f} {'(speed only)':>15s}"
                )
            continue
        p = f"{entry['test']['p']:.3f}" if "test" in entry else ""
        lines.append(
            f"{name:12s} {entry.get('steps_per_s', float('nan')):8.1f} {s['fid']['mean']:7.1f} ± "
            f"{s['fid']['std']:5.1f} {p:>9s}  {entry.get('verdict', ''):24s} "
            f"{s['median_nn_distance']['mean']:7.2f} {100 * s['closer_than_any_held_out']['mean']:6.1f}%"
        )
    runs = [r for e in record["results"].values() for r in e["runs"]]
    if runs:
        lines += [
            "",
            f"held-out real emoji against the training emoji: FID {runs[0]['held_out_fid']:.1f}, median "
            f"NN distance {runs[0]['held_out_median_nn_distance']:.2f}",
        ]
    lines += [
        "",
        "mean ± standard deviation over seeds. FID: samples (as many as training emoji) against the "
        "training emoji on the emoji classifier's features (lower is better). p: Welch's t test against the "
        "baseline (two-sided). NN dist: median pixel distance of a sample to its nearest training emoji; "
        "copies: share of samples nearer a training emoji than every held-out emoji is.",
    ]
    for name, m in record.get("mnist", {}).items():
        lines.append(
            f"MNIST (tricks_cpu.json), {name}: FID {statistics.mean(m['fids']):.1f} vs baseline "
            f"{statistics.mean(m['baseline_fids']):.1f}, p {m['test']['p']:.3f}: {m['verdict']}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=800, help="training steps of every run"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--only", nargs="*", default=None, help="variants to run (default: all)"
    )
    parser.add_argument(
        "--time-only",
        nargs="*",
        default=[],
        help="variants whose speed alone is measured",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per run"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs at a time, each in its own process",
    )
    parser.add_argument("--out", default=str(RESULTS / "emoji_tricks.json"))
    parser.add_argument(
        "--ship",
        action="store_true",
        help=f"copy the JSON to {SHIPPED} for the book",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    record = json.loads(out.read_text()) if out.is_file() else {"results": {}}
    names = args.only or list(VARIANTS)
    record.update(
        {
            "title": f"Tricks on the emoji (32x32 colour), {args.steps} steps, seeds {args.seeds}",
            "date": datetime.date.today().isoformat(),
            "torch": torch.__version__,
            "machine": hardware_name("cpu"),
            "steps": args.steps,
            "seeds": args.seeds,
            "command": f"python benchmarks/emoji_tricks.py --steps {args.steps} --seeds "
            f"{' '.join(map(str, args.seeds))} --threads {args.threads} --jobs {args.jobs}"
            + (" --only " + " ".join(args.only) if args.only else "")
            + (
                " --time-only " + " ".join(args.time_only)
                if args.time_only
                else ""
            )
            + (" --ship" if args.ship else ""),
            "variants": {
                **{n: v[2] for n, v in VARIANTS.items()},
                "ema": EMA_NOTE,
            },
            "base_model": BASE_MODEL,
            "base_train": BASE_TRAIN,
            "mnist": mnist_verdicts(RESULTS / "tricks_cpu.json"),
        }
    )
    results = record["results"]

    def save() -> None:
        summarise(record)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        out.with_suffix(".txt").write_text(table(record))
        if args.ship:
            shutil.copyfile(out, SHIPPED)

    jobs = []
    for name in names:
        entry = results.setdefault(name, {"runs": []})
        entry["runs"] = [
            r
            for r in entry["runs"]
            if r["steps"] == args.steps and r["seed"] in args.seeds
        ]
        done = {r["seed"] for r in entry["runs"]}
        jobs += [
            (name, args.steps, seed, args.threads)
            for seed in args.seeds
            if seed not in done
        ]
    jobs.sort(
        key=lambda job: args.seeds.index(job[2])
    )  # every variant's first seed first
    for name, run in in_processes(
        run_job, jobs, args.jobs, lambda job: f"{job[0]} seed {job[2]}"
    ):
        results[name]["runs"].append(run)
        print(
            f"{name} seed {run['seed']}: FID {run['fid']:.1f} (EMA {run['ema_fid']:.1f}), median NN distance "
            f"{run['median_nn_distance']:.2f} (held out {run['held_out_median_nn_distance']:.2f}), "
            f"{run['train_seconds']:.0f} s",
            flush=True,
        )
        save()
    speed = steps_per_second(names + args.time_only)
    print("steps/s:", json.dumps(speed), flush=True)
    for name in names + args.time_only:
        results.setdefault(name, {"runs": []})["steps_per_s"] = speed[name]
    save()
    print(table(record))


if __name__ == "__main__":
    main()
