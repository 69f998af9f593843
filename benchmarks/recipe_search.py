"""The best 3-minute recipe, found by search: Optuna's TPE over the recipe space, pruned on FID.

The objective is the classifier FID a recipe reaches in the CPU time the README's command gets:
180 seconds of training on this machine's 2 cores. Recipes differ in speed, so each trial first
times its recipe's step, interleaved with ``mnist28``'s step in the same process
(``tricks.steps_per_second``), and trains for

    steps = 180 s x REF x (its steps/s / mnist28's steps/s)

where REF is ``mnist28``'s steps/s on the idle machine (``--ref-steps-per-s``, default 54.6:
``benchmarks/results/cpu_batch_size_speed.json``, bf16, 2 threads, AMD EPYC). The ratio, not the
absolute speed, is measured per trial, so a loaded machine changes neither the steps nor the
result. The timing uses one thread by default (``--speed-threads``): two OpenMP threads on a
machine busy with other work wait on each other at every operation, and their timings say
nothing; on an idle machine ``--speed-threads 2`` times the README's setting itself. The trial
then trains with ``python -m dcgan_tutorial train`` on ONE thread (the step count fixes the
work, so the thread count does not change the result), with ``--fid-every`` measuring FID on
2,000 samples against 10,000 training images four times; each measurement is reported to
Optuna, whose median pruner stops a trial that is worse than the median of earlier trials at
the same point. The study lives in ``benchmarks/results/recipe_search.db`` (SQLite),
so a search stopped at any point continues where it was with the same command.

    python benchmarks/recipe_search.py search --data-root DIR --trials 40
    python benchmarks/recipe_search.py search --data-root DIR --trials 40 --join --sampler-seed 1
    python benchmarks/recipe_search.py confirm --data-root DIR --finalists 3 --seeds 0 1 2 --jobs 2

``confirm`` trains the best finalists (their learning rates rounded to 3 significant digits, as a
preset writes them) and ``mnist28`` with 3+ seeds each for their 180-second
step counts, measures FID on 10,000 samples against the 10,000 test images and the digit shares
(``python -m dcgan_tutorial evaluate``), and compares each finalist with ``mnist28`` by Welch's t
test. Results: ``benchmarks/results/recipe_search.json`` (every trial) and
``recipe_confirm.json`` / ``recipe_confirm.txt``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tricks import steps_per_second  # noqa: E402  (the interleaved step timing of the tricks benchmark)

from dcgan_tutorial.device import hardware_name  # noqa: E402

RESULTS = Path("benchmarks/results")
STUDY = "mnist-3-minutes"
BUDGET_S = 180.0  # the README's command: --time-budget 180
REF_STEPS_PER_S = (
    54.6  # mnist28, bf16, 2 threads, idle AMD EPYC (cpu_batch_size_speed.json)
)
N_REPORTS = 4  # FID measurements per trial, the last at the end


def suggest(trial: optuna.Trial) -> tuple[dict, dict]:
    """The recipe space: (ModelConfig overrides, TrainConfig overrides) on the mnist28 preset."""
    model = {
        "ngf": trial.suggest_categorical("ngf", [16, 24, 32, 48, 64]),
        "ndf": trial.suggest_categorical("ndf", [16, 24, 32, 48, 64]),
        "nz": trial.suggest_categorical("nz", [32, 64, 100, 128]),
    }
    train = {
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "lr_g": trial.suggest_float("lr_g", 5e-5, 2e-3, log=True),
        "lr_d": trial.suggest_float("lr_d", 5e-5, 2e-3, log=True),
        "beta1": trial.suggest_categorical("beta1", [0.0, 0.5, 0.8]),
        "beta2": trial.suggest_categorical("beta2", [0.9, 0.99, 0.999]),
        "loss": (
            loss := trial.suggest_categorical("loss", ["non-saturating", "hinge"])
        ),
        # the tricks: each costs time (R1 a second backward pass on the reals), which the
        # equal-time step count charges it for
        "ema_decay": trial.suggest_categorical("ema_decay", [0.0, 0.99, 0.999]),
        "r1_gamma": trial.suggest_categorical("r1_gamma", [0.0, 0.1, 1.0]),
        # a BCE loss's target for reals: the hinge loss has none (trials before this rule
        # drew it for hinge too, where it changed nothing)
        "label_smoothing": trial.suggest_categorical(
            "label_smoothing", [0.0, 0.1]
        )
        if loss != "hinge"
        else 0.0,
    }
    return model, train


FLAGS = {
    "ngf": "--ngf",
    "ndf": "--ndf",
    "nz": "--nz",
    "batch_size": "--batch-size",
    "lr_g": "--lr-g",
    "lr_d": "--lr-d",
    "beta1": "--beta1",
    "beta2": "--beta2",
    "loss": "--loss",
    "ema_decay": "--ema-decay",
    "r1_gamma": "--r1-gamma",
    "label_smoothing": "--label-smoothing",
}


def budget_steps(
    model: dict,
    train: dict,
    data_root,
    ref_steps_per_s: float,
    budget_s: float = BUDGET_S,
    threads: int = 1,
) -> tuple[int, float]:
    """Steps this recipe makes in 180 s on the idle machine, from its speed ratio to mnist28's."""
    torch.set_num_threads(threads)
    speeds = steps_per_second(
        {"mnist28": ({}, {}), "trial": (model, train)},
        data_root,
        warmup=5,
        steps=30,
        repeats=3,
    )
    ratio = speeds["trial"] / speeds["mnist28"]
    return int(budget_s * ref_steps_per_s * ratio), ratio


def train_command(
    model: dict,
    train: dict,
    steps: int,
    seed: int,
    out: Path,
    data_root,
    fid_every: int,
) -> list:
    """``python -m dcgan_tutorial train`` for the recipe."""
    args = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "train",
        "--preset",
        "mnist28",  # the recipe space is set on mnist28 (every value below replaces its own)
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
        "--sample-every",
        str(steps),
        "--checkpoint-every",
        str(steps),
        "--checkpoint-minutes",
        "1000",
    ]
    if fid_every:
        args += ["--fid-every", str(fid_every)]
    for k, v in {**model, **train}.items():
        if k in FLAGS:
            args += [FLAGS[k], str(v)]
    return args + (["--data-root", str(data_root)] if data_root else [])


def run_training(command: list, on_point=None) -> float:
    """Run a training subprocess on one thread; ``on_point(step, fid)`` for each new FID point.

    ``on_point`` returning True stops the run (a pruned trial). Returns the training seconds.
    """
    out = Path(command[command.index("--out") + 1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    history = out / "fid_history.json"
    history.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    seen = 0
    try:
        while True:
            finished = proc.poll() is not None
            if history.exists() and on_point is not None:
                try:
                    points = json.loads(history.read_text())["history"]
                except (json.JSONDecodeError, KeyError):
                    points = []
                for p in points[seen:]:
                    seen += 1
                    if on_point(p["step"], p["fid"]):
                        proc.kill()
                        proc.wait()
                        raise optuna.TrialPruned(
                            f"pruned at step {p['step']} (FID {p['fid']:.1f})"
                        )
            if finished:
                break
            time.sleep(2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(
            f"training failed ({proc.returncode}): {' '.join(command)}"
        )
    return time.perf_counter() - start


def evaluate(path: Path, data_root) -> dict:
    """FID (10,000 samples against the test set) and digit shares, from ``dcgan_tutorial evaluate``."""
    command = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "evaluate",
        "--checkpoint",
        str(path),
        "--device",
        "cpu",
    ]
    text = subprocess.run(
        command + (["--data-root", str(data_root)] if data_root else []),
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    ).stdout
    fid = float(re.search(r"^FID .*\):\s*([0-9.]+)", text, re.M).group(1))
    shares = [float(s) / 100 for s in re.findall(r"\d+ \d+ \(([0-9.]+)%\)", text)]
    return {"fid": fid, "shares": shares, "evaluate_output": text.strip()}


def search(args) -> None:
    storage = f"sqlite:///{RESULTS / 'recipe_search.db'}"
    study = optuna.create_study(
        study_name=STUDY,
        storage=storage,
        load_if_exists=True,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(
            seed=args.sampler_seed, multivariate=True, n_startup_trials=8
        ),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )
    stopped = (
        []
        if args.join
        else study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
        )
    )
    for t in stopped:
        study.tell(
            t.number, state=optuna.trial.TrialState.FAIL
        )  # its process was stopped: it runs again
        study.enqueue_trial(t.params)
    if (
        not study.trials
    ):  # mnist28 is the first trial: the search starts from what we have
        study.enqueue_trial(
            {
                "ngf": 32,
                "ndf": 32,
                "nz": 100,
                "batch_size": 64,
                "lr_g": 5e-4,
                "lr_d": 2e-4,
                "beta1": 0.5,
                "beta2": 0.999,
                "loss": "non-saturating",
                "ema_decay": 0.0,
                "r1_gamma": 0.0,
                "label_smoothing": 0.0,
            }
        )

    def objective(trial: optuna.Trial) -> float:
        model, train = suggest(trial)
        steps, ratio = budget_steps(
            model,
            train,
            args.data_root,
            args.ref_steps_per_s,
            args.budget,
            args.speed_threads,
        )
        print(
            f"trial {trial.number}: {steps} steps (speed {ratio:.2f}x mnist28's): {trial.params}",
            flush=True,
        )
        trial.set_user_attr("steps", steps)
        trial.set_user_attr("speed_ratio_to_mnist28", round(ratio, 3))
        every = max(
            20, (steps // N_REPORTS) // 20 * 20
        )  # FID is measured at log steps (every 20)
        out = Path(args.work) / f"trial_{trial.number:03d}"

        def report(step: int, fid: float) -> bool:
            trial.report(fid, step)
            trial.set_user_attr("last_fid", fid)
            return trial.should_prune()

        seconds = run_training(
            train_command(model, train, steps, 0, out, args.data_root, every),
            report,
        )
        trial.set_user_attr("train_seconds_1_thread", round(seconds, 1))
        print(
            f"trial {trial.number}: FID {trial.user_attrs['last_fid']:.1f}",
            flush=True,
        )
        return trial.user_attrs["last_fid"]

    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    remaining = args.trials - len(
        study.get_trials(deepcopy=False, states=counted)
    )
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, catch=(RuntimeError,))
    write_trials(study)


def write_trials(study: optuna.Study) -> None:
    rows = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "params": t.params,
            "steps": t.user_attrs.get("steps"),
            "speed_ratio_to_mnist28": t.user_attrs.get("speed_ratio_to_mnist28"),
            "curve": [[s, v] for s, v in sorted(t.intermediate_values.items())],
        }
        for t in study.trials
    ]
    done = [r for r in rows if r["state"] == "COMPLETE"]
    record = {
        "study": STUDY,
        "hardware": hardware_name(),
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "objective": "classifier FID, 2,000 samples against "
        "10,000 training images, after the steps the recipe makes in 180 s on 2 threads",
        "best": min(done, key=lambda r: r["value"]) if done else None,
        "trials": rows,
    }
    (RESULTS / "recipe_search.json").write_text(json.dumps(record, indent=1))
    print(
        f"{len(done)} complete, {sum(r['state'] == 'PRUNED' for r in rows)} pruned; best: {record['best']}"
    )


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t statistic and two-sided p value of mean(a) - mean(b)."""
    from scipy import stats

    result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def as_preset(params: dict) -> dict:
    """A trial's recipe as a preset would write it: learning rates to 3 significant digits, and
    no label smoothing with the hinge loss (which has no target to smooth: the same training)."""
    preset = {
        k: float(f"{v:.3g}") if k.startswith("lr_") else v
        for k, v in params.items()
    }
    if preset.get("loss") == "hinge":
        preset["label_smoothing"] = 0.0
    return preset


def confirm(args) -> None:
    record = json.loads((RESULTS / "recipe_search.json").read_text())
    done = sorted(
        (r for r in record["trials"] if r["state"] == "COMPLETE"),
        key=lambda r: r["value"],
    )
    default = {
        "ngf": 32,
        "ndf": 32,
        "nz": 100,
        "batch_size": 64,
        "lr_g": 5e-4,
        "lr_d": 2e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "loss": "non-saturating",
        "ema_decay": 0.0,
        "r1_gamma": 0.0,
        "label_smoothing": 0.0,
    }
    candidates = {"mnist28": default}
    for r in done:
        if len(candidates) > args.finalists:
            break
        if r["params"] != default:
            candidates[f"trial_{r['number']}"] = as_preset(r["params"])
    out_path = RESULTS / "recipe_confirm.json"
    result = (
        json.loads(out_path.read_text()) if out_path.exists() else {"runs": []}
    )
    have = {(r["name"], r["seed"]) for r in result["runs"]}
    units = []  # (name, params, steps, ratio, seed): every run still to make
    for name, params in candidates.items():
        if all((name, seed) in have for seed in args.seeds):
            continue
        model = {k: params[k] for k in ("ngf", "ndf", "nz")}
        train = {k: v for k, v in params.items() if k not in model}
        steps, ratio = budget_steps(
            model,
            train,
            args.data_root,
            args.ref_steps_per_s,
            args.budget,
            args.speed_threads,
        )
        units += [
            (name, params, steps, ratio, seed)
            for seed in args.seeds
            if (name, seed) not in have
        ]
    lock = threading.Lock()

    def run(unit) -> None:
        name, params, steps, ratio, seed = unit
        model = {k: params[k] for k in ("ngf", "ndf", "nz")}
        train = {k: v for k, v in params.items() if k not in model}
        out = Path(args.work) / f"confirm_{name}_s{seed}"
        run_training(
            train_command(model, train, steps, seed, out, args.data_root, 0)
        )
        target = out / (
            "ema_generator.pt" if train.get("ema_decay") else "checkpoint.pt"
        )
        row = {
            "name": name,
            "seed": seed,
            "params": params,
            "steps": steps,
            "ratio": ratio,
            **evaluate(target, args.data_root),
        }
        with lock:  # one writer at a time: every finished run is kept at once
            result["runs"].append(row)
            out_path.write_text(json.dumps(result, indent=1))
            print(name, seed, steps, row["fid"], flush=True)

    # Each run is a one-thread subprocess: --jobs of them side by side, one per core.
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(run, unit) for unit in units]:
            future.result()
    order = {name: i for i, name in enumerate(candidates)}
    result["runs"].sort(
        key=lambda r: (order.get(r["name"], len(order)), r["seed"])
    )
    lines = [
        "recipe          steps   FID per seed (mean)       vs mnist28: t, p (Welch)"
    ]
    base = [r["fid"] for r in result["runs"] if r["name"] == "mnist28"]
    summary = {}
    for name in candidates:
        mine = [r for r in result["runs"] if r["name"] == name]
        fids = [r["fid"] for r in mine]
        row = {
            "steps": mine[0]["steps"],
            "fids": fids,
            "mean": statistics.mean(fids),
            "sd": statistics.stdev(fids) if len(fids) > 1 else 0.0,
            "min_share": min(min(r["shares"]) for r in mine),
            "max_share": max(max(r["shares"]) for r in mine),
        }
        test = ""
        if name != "mnist28":
            row["t"], row["p"] = welch(fids, base)
            test = f"t = {row['t']:.2f}, p = {row['p']:.4f}"
        summary[name] = row
        lines.append(
            f"{name:<14} {row['steps']:6d}   {', '.join(f'{f:.1f}' for f in fids)} "
            f"({row['mean']:.1f})   {test}"
        )
    seeds = " ".join(str(s) for s in args.seeds)
    result.update(
        {
            "hardware": f"{hardware_name().split(',')[0]}, 1 thread per run",
            "torch": torch.__version__,
            "date": datetime.date.today().isoformat(),
            "command": f"python benchmarks/recipe_search.py confirm --data-root DIR "
            f"--finalists {args.finalists} --seeds {seeds} --jobs {args.jobs}",
            "protocol": "each recipe trained for the steps it makes in 180 s on 2 threads "
            "(its speed ratio to mnist28's times mnist28's idle 2-thread speed); FID of "
            "10,000 samples against the 10,000 test images on the shipped classifier's "
            "features (the EMA generator where the recipe has one); Welch's t test, "
            "two-sided, against mnist28's seeds",
            "candidates": candidates,
            "summary": summary,
        }
    )
    out_path.write_text(json.dumps(result, indent=1))
    out_path.with_suffix(".txt").write_text(
        f"{result['command']}\n{result['hardware']}, torch {result['torch']}, "
        f"{result['date']}\n\n" + "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


def main() -> None:
    global RESULTS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["search", "confirm"])
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--trials",
        type=int,
        default=40,
        help="search until this many trials have finished",
    )
    parser.add_argument("--finalists", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="confirm: runs side by side (one thread each)",
    )
    parser.add_argument("--ref-steps-per-s", type=float, default=REF_STEPS_PER_S)
    parser.add_argument(
        "--speed-threads", type=int, default=1, help="threads for the speed ratio"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_S,
        help="seconds of the README's command",
    )
    parser.add_argument(
        "--results",
        default="benchmarks/results",
        help="folder for the study and its results",
    )
    parser.add_argument("--work", default="runs/recipe_search")
    parser.add_argument(
        "--sampler-seed",
        type=int,
        default=0,
        help="the TPE sampler's seed: give each process of one study its own, or "
        "they draw the same recipes",
    )
    parser.add_argument(
        "--join",
        action="store_true",
        help="a second search process on the same study, one thread each: it leaves the "
        "running trials alone (without it, a running trial is one whose process was "
        "stopped, and runs again)",
    )
    args = parser.parse_args()
    RESULTS = Path(args.results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search(args) if args.what == "search" else confirm(args)


if __name__ == "__main__":
    main()
