"""Batch size against steps per second against FID per second, for mnist28 on the CPU.

A bigger batch makes each step slower but each image cheaper; what a learner cares about is the
FID a run reaches in the time it has. For each batch size this

1. times the training step in fp32 and in bf16 (steps/s, the median of repeats; each timing in
   a fresh process holding one model, with every thread of the machine, as a learner's run;
   the rounds go through every configuration in turn);
2. trains the ``mnist28`` preset at that batch size, learning rates unchanged, for as many steps
   as the step rate of ``--precision`` allows in ``--budget`` seconds, for several seeds, with
   the tricks benchmark's runs (``tricks.one_run``: the package's ``train_gan``, FID against
   training images every ``--eval-every`` steps);
3. reports the FID of the last generator on 5,000 samples against the 10,000 MNIST test images:
   the FID the budget buys.

FID at a step does not depend on how busy the machine is, so the training runs can share the
machine (``--jobs`` processes of ``--threads`` threads); only the timing needs it idle:

    python benchmarks/cpu_batch_size.py --data-root DIR --speed-only --out benchmarks/results/cpu_batch_size_speed.json
    python benchmarks/cpu_batch_size.py --data-root DIR --batch-sizes 32 64 128 256 --seeds 0 1 2 \\
        --budget 180 --precision bf16 --eval-every 250 --speed benchmarks/results/cpu_batch_size_speed.json

The result file is saved after every run; given the same ``--out`` the runs already there are
skipped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch
from tricks import (
    in_processes,
    one_run,
    references,
    summarise,
)  # benchmarks/tricks.py

from dcgan_tutorial import train_step
from dcgan_tutorial.device import cpu_has_native_bf16, hardware_name
from dcgan_tutorial.run import plan_run, prepare_run


def time_one(job: tuple) -> float:
    """Steps/s of one (precision, batch size) in a fresh process: one state, as in a learner's run."""
    precision, batch, data_root, warmup, steps = job
    state, loader = prepare_run(
        plan_run("mnist28", train={"batch_size": batch}, limits={"steps": 10**6}),
        "cpu",
        data_root,
        limit=batch * (warmup + steps),
    )
    state.speed = replace(state.speed, precision=precision)
    batches = [
        real for real, _ in loader.batches(0)
    ]  # one epoch: exactly warmup + steps batches
    for real in batches[:warmup]:
        train_step(state, real)
    start = time.perf_counter()
    for real in batches[warmup:]:
        train_step(state, real)
    return steps / (time.perf_counter() - start)


def steps_per_second(
    batch_sizes: list[int],
    precisions: list[str],
    data_root,
    warmup: int = 5,
    steps: int = 60,
    repeats: int = 3,
) -> dict[str, dict[int, float]]:
    """Training steps/s of mnist28 at each batch size and precision: the median of ``repeats``.

    Each timing runs in a fresh process holding one model, as a learner's run does: with all
    eight models held in one process, every timing came out slower and bf16 lost most of its
    lead. The rounds go through every configuration in turn, so a slow spell of the machine
    touches all of them alike.
    """
    keys = [(p, b) for p in precisions for b in batch_sizes]
    timings = {key: [] for key in keys}
    context = multiprocessing.get_context("spawn")
    for _ in range(repeats):
        for key in keys:
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                timings[key].append(
                    pool.submit(
                        time_one, (*key, data_root, warmup, steps)
                    ).result()
                )
    return {
        p: {b: statistics.median(timings[p, b]) for b in batch_sizes}
        for p in precisions
    }


def run_job(job: tuple) -> tuple:
    """One (batch size, seed) run in a worker process with ``threads`` torch threads."""
    batch, steps, seed, eval_every, data_root, threads, precision = job
    torch.set_num_threads(threads)
    return batch, one_run(
        {},
        {"batch_size": batch},
        steps,
        seed,
        eval_every,
        data_root,
        *references(data_root),
        precision=precision,
    )


def table(record: dict) -> str:
    lines = [
        record["title"],
        f"machine: {record['machine']}; torch {record['torch']}; {record['date']}",
        f"command: {record['command']}",
        "",
        f"{'batch':>5s} {'steps/s':>8s} {'images/s':>9s} {'steps in budget':>16s} {'FID in budget':>16s} "
        f"{'runs':>5s}",
    ]
    for batch, r in record["results"].items():
        fid = r.get("summary", {}).get("fid_last")
        fid_text = (
            f"{fid['mean']:8.1f} ± {fid['std']:5.1f}" if fid else f"{'-':>16s}"
        )
        lines.append(
            f"{batch:>5s} {r['steps_per_s']:8.1f} {r['steps_per_s'] * int(batch):9.0f} {r['steps']:16d} "
            f"{fid_text} {len(r['runs']):5d}"
        )
    lines += [
        "",
        "mean ± standard deviation over seeds; FID of 5,000 samples of the last generator on the shipped "
        "classifier's features against the 10,000 MNIST test images (lower is better); steps/s timed with "
        f"{record['timing_threads']} threads on the idle machine in {record['precision']}; learning rates "
        "are mnist28's at every batch size.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[32, 64, 128, 256]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--budget",
        type=float,
        default=180.0,
        help="seconds of training each batch size gets",
    )
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=500,
        help="steps between FID measurements (multiple of 50)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per training run"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="training runs at a time, each in its own process",
    )
    parser.add_argument(
        "--speed",
        default=None,
        help="take steps/s from this earlier --speed-only file",
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="time every batch size in fp32 and bf16 (interleaved), write the timing to --out, stop",
    )
    parser.add_argument("--out", default="benchmarks/results/cpu_batch_size.json")
    args = parser.parse_args()
    if args.eval_every % 50:
        parser.error(
            "--eval-every must be a multiple of 50 (the FID tracker measures at log steps)"
        )
    out = Path(args.out)
    record = json.loads(out.read_text()) if out.is_file() else {"results": {}}
    if args.speed:  # an earlier --speed-only file
        timing = json.loads(Path(args.speed).read_text())
    else:
        measured = steps_per_second(
            args.batch_sizes, ["fp32", "bf16"], args.data_root
        )
        timing = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "torch": torch.__version__,
            "machine": hardware_name("cpu"),
            "threads": torch.get_num_threads(),
            "steps_per_s": {
                p: {str(b): v for b, v in per.items()}
                for p, per in measured.items()
            },
        }
    speed = {int(b): v for b, v in timing["steps_per_s"][args.precision].items()}
    for p, per in timing["steps_per_s"].items():
        print(f"steps/s, {p}:", json.dumps(per), flush=True)
    command = "python benchmarks/cpu_batch_size.py --data-root DIR " + " ".join(
        shlex.quote(a)
        for a in sys.argv[1:]
        if a != args.data_root and a != "--data-root"
    )
    if args.speed_only:  # the timing alone, for --speed of a later run
        timing["command"] = command
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(timing, indent=1))
        return
    record.update(
        {
            "title": f"mnist28: batch size against FID in {args.budget:.0f} s of CPU training, "
            f"seeds {args.seeds}",
            "date": datetime.date.today().isoformat(),
            "torch": torch.__version__,
            "machine": hardware_name("cpu"),
            "cpu_has_native_bf16": cpu_has_native_bf16(),
            "precision": args.precision,
            "budget_s": args.budget,
            "timing": timing,
            "timing_threads": timing["threads"],
            "command": command,
        }
    )
    results = record["results"]

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        out.with_suffix(".txt").write_text(table(record))

    jobs = []
    for b in args.batch_sizes:
        steps = max(
            args.eval_every,
            int(round(speed[b] * args.budget / args.eval_every))
            * args.eval_every,
        )
        entry = results.setdefault(str(b), {"runs": []})
        entry.update({"steps_per_s": speed[b], "steps": steps})
        entry["runs"] = [
            r for r in entry["runs"] if r["steps"] == steps
        ]  # runs of another length are dropped
        entry["summary"] = summarise(entry["runs"])
        done = {r["seed"] for r in entry["runs"]}
        jobs += [
            (
                b,
                steps,
                seed,
                args.eval_every,
                args.data_root,
                args.threads,
                args.precision,
            )
            for seed in args.seeds
            if seed not in done
        ]
    save()
    jobs.sort(
        key=lambda job: (args.seeds.index(job[2]), -job[1])
    )  # every batch size's first seed first
    for batch, run in in_processes(
        run_job, jobs, args.jobs, lambda job: f"batch {job[0]} seed {job[2]}"
    ):
        entry = results[str(batch)]
        entry["runs"].append(run)
        entry["summary"] = summarise(entry["runs"])
        print(
            f"batch {batch} seed {run['seed']}: {run['steps']} steps, FID {run['fid_last']:.1f}, "
            f"{run['train_seconds']:.0f} s",
            flush=True,
        )
        save()
    print(table(record))


if __name__ == "__main__":
    main()
