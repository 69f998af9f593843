"""Where a training run's time goes: the steps, and everything the loop does around them.

Runs the CLI's whole run (``run.train_run``: the loop ``train_gan`` with its progress bar,
collapse warning, progress images and checkpoints) for ``--steps`` steps and times each part
by wrapping it: the training step, fetching a batch (index, scale), reading the statistics
back (``_Recorder.log``), the fixed-noise grids (``_Recorder.sample``, and the PNG each one becomes), the
checkpoints, the progress bar. What is left over is the loop's own bookkeeping. The loop's
cost is reported as (whole loop - steps) / steps: the issue's target is at most 5%.

``--torch-profile N`` also profiles N steps of the loop with ``torch.profiler`` and prints the
operators that take the most CPU time. ``--thread-check N`` times N steps of ``train_step``
alone on a fixed batch with each thread count from 1 to the machine's cores, alternating: on a
machine other programs keep busy, a thread count above the idle cores can be many times slower.

    python benchmarks/profile_loop.py --data-root DIR --steps 1000 --out benchmarks/results/cpu_loop_profile.json
    python benchmarks/profile_loop.py --data-root DIR --steps 1000 --precision bf16 --torch-profile 50
    python benchmarks/profile_loop.py --data-root DIR --steps 0 --thread-check 20
"""

from __future__ import annotations

import argparse
import collections
import datetime
import functools
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from dcgan_tutorial import callbacks, device, run, train, watchers
from dcgan_tutorial.callbacks import CollapseWarning
from dcgan_tutorial.train import train_step


class Timers:
    """Seconds and calls per named part."""

    def __init__(self):
        self.seconds, self.calls = (
            collections.defaultdict(float),
            collections.defaultdict(int),
        )

    def wrap(self, owner, attribute: str, name: str) -> None:
        """Replace ``owner.attribute`` (a function or method) by a timed copy."""
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        setattr(owner, attribute, timed)

    def wrap_batches(self, loader_class) -> None:
        """Time each ``next()`` of ``loader.batches(...)``: indexing and scaling one batch."""
        original = loader_class.batches
        timers = self

        def batches(self, *args, **kwargs):
            iterator = original(self, *args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    batch = next(iterator)
                except StopIteration:
                    return
                finally:
                    timers.seconds["batch (index, scale)"] += (
                        time.perf_counter() - started
                    )
                    timers.calls["batch (index, scale)"] += 1
                yield batch

        loader_class.batches = batches


class TimedBar:
    """tqdm, with its update and postfix calls timed (the progress bar's cost)."""

    def __init__(self, timers: Timers, bar_class):
        self.timers, self.bar_class = timers, bar_class

    def __call__(self, *args, **kwargs):
        bar = self.bar_class(*args, **kwargs)
        for name in ("update", "set_postfix"):
            self.timers.wrap(bar, name, "progress bar")
        return bar


def profile_run(args, out_dir: Path) -> dict:
    """One timed run of ``args.preset`` for ``args.steps`` steps; the parts and their shares."""
    timers = Timers()
    timers.wrap(train, "train_step", "train_step")
    timers.wrap(train._Recorder, "log", "_flush (read back, check, record)")
    timers.wrap(train._Recorder, "sample", "_keep_sample (fixed-noise grid)")
    timers.wrap(
        watchers.SaveProgressImages, "on_sample", "  of which: progress PNG"
    )
    timers.wrap(CollapseWarning, "on_log", "  of which: collapse check")
    timers.wrap(watchers.CheckpointWriter, "on_checkpoint", "checkpoints")
    timers.wrap_batches(run.InMemoryLoader)
    timers.wrap(run, "train_gan", "train_gan (whole loop)")
    callbacks.tqdm = TimedBar(timers, callbacks.tqdm)
    plan = run.plan_run(
        args.preset,
        train={"batch_size": args.batch_size, "seed": args.seed},
        limits={"steps": args.steps},
    )
    result = run.train_run(
        plan,
        out_dir,
        device="cpu",
        data_root=args.data_root,
        progress=True,
        log=lambda line: None,
    )
    seconds, calls = dict(timers.seconds), dict(timers.calls)
    loop, steps = seconds.pop("train_gan (whole loop)"), seconds["train_step"]
    top_level = [k for k in seconds if not k.startswith("  ")]
    seconds["other (loop bookkeeping)"] = loop - sum(
        seconds[k] for k in top_level
    )
    parts = {
        k: {
            "seconds": v,
            "calls": calls.get(k),
            "ms_per_step": 1000 * v / result.state.step,
            "share_of_steps": v / steps,
        }
        for k, v in seconds.items()
    }
    return {
        "steps": result.state.step,
        "loop_seconds": loop,
        "step_seconds": steps,
        "loop_overhead_vs_steps": (loop - steps) / steps,
        "ms_per_step_loop": 1000 * loop / result.state.step,
        "ms_per_step_train_step": 1000 * steps / result.state.step,
        "precision": result.state.speed.precision,
        "parts": parts,
    }


def torch_profile(args, out_dir: Path, steps: int) -> str:
    """The top CPU operators of ``steps`` steps of the loop (torch.profiler), as a table."""
    from torch.profiler import ProfilerActivity, profile

    plan = run.plan_run(
        args.preset,
        train={"batch_size": args.batch_size, "seed": args.seed},
        limits={"steps": 20},
    )
    state, loader = run.prepare_run(plan, "cpu", args.data_root)
    train.train_gan(state, loader, progress=False)  # warm-up
    state.train_cfg = plan.train_cfg.__class__(
        **{**state.train_cfg.__dict__, "steps": 20 + steps}
    )
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train.train_gan(state, loader, progress=False)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)


def thread_check(args, steps: int, rounds: int = 3) -> dict:
    """Median ms of ``train_step`` alone (fixed batch) with 1..cores threads, alternating ``rounds`` times."""
    plan = run.plan_run(
        args.preset,
        train={"batch_size": args.batch_size, "seed": args.seed},
        limits={"steps": 1},
    )
    state, loader = run.prepare_run(
        plan, "cpu", args.data_root, limit=plan.train_cfg.batch_size
    )
    real = next(iter(loader))[0]
    counts = range(1, (os.cpu_count() or 1) + 1)
    times = {n: [] for n in counts}
    for _ in range(rounds):
        for n in counts:
            torch.set_num_threads(n)
            train_step(state, real)  # warm-up at this thread count
            started = time.perf_counter()
            for _ in range(steps):
                train_step(state, real)
            times[n].append(1000 * (time.perf_counter() - started) / steps)
    return {
        str(n): {"ms_per_step": statistics.median(v), "runs": v}
        for n, v in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--preset", default="mnist28")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default=None,
        help="the CPU's autocast precision (default: the package's choice for this CPU)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--torch-profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N steps",
    )
    parser.add_argument(
        "--thread-check",
        type=int,
        default=0,
        metavar="N",
        help="also time N steps of train_step with each thread count",
    )
    parser.add_argument(
        "--out", default=None, help="write the breakdown as JSON here"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.precision:
        device.CPU_BF16 = args.precision == "bf16"
        if args.precision == "bf16" and not device.cpu_has_native_bf16():
            raise SystemExit(
                "profile_loop.py: error: --precision bf16: this CPU has no native bf16 "
                "(AVX-512 BF16 or AMX); use --precision fp32"
            )
    with tempfile.TemporaryDirectory() as tmp:
        record = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "torch": torch.__version__,
            "machine": device.hardware_name("cpu"),
            "command": "python "
            + " ".join(shlex.quote(a) for a in sys.argv if a != args.data_root),
            "load_average_at_start": os.getloadavg(),
        }
        if args.thread_check:
            threads = torch.get_num_threads()
            record["thread_check"] = thread_check(args, args.thread_check)
            torch.set_num_threads(threads)
            print(
                "train_step alone, ms per step by thread count:",
                {
                    n: round(v["ms_per_step"], 1)
                    for n, v in record["thread_check"].items()
                },
            )
        if not args.steps:
            record["load_average_at_end"] = os.getloadavg()
            if args.out:
                Path(args.out).write_text(json.dumps(record, indent=1))
            return
        record.update(profile_run(args, Path(tmp) / "run"))
        record["load_average_at_end"] = os.getloadavg()
        print(
            f"\n{record['steps']} steps of {args.preset} ({record['precision']}): loop {record['loop_seconds']:.2f} s, "
            f"steps {record['step_seconds']:.2f} s, loop costs {100 * record['loop_overhead_vs_steps']:.1f}% "
            f"more than its steps"
        )
        print(f"{'part':40s} {'calls':>7s} {'ms/step':>9s} {'% of steps':>11s}")
        for name, part in record["parts"].items():
            print(
                f"{name:40s} {part['calls'] or '':>7} {part['ms_per_step']:9.3f} {100 * part['share_of_steps']:10.2f}%"
            )
        if args.torch_profile:
            table = torch_profile(
                args, Path(tmp) / "profiled", args.torch_profile
            )
            record["torch_profile"] = table.splitlines()
            print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1))
        print("wrote", args.out)


if __name__ == "__main__":
    main()
