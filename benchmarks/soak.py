"""Soak test (not in CI): training runs killed with SIGKILL or stopped with SIGTERM at random
moments, resumed until done, end bit-identical to one uninterrupted run on the CPU.

    python benchmarks/soak.py --kills 20 --data-root DIR     # writes benchmarks/results/soak_cpu.json

One reference run trains ``--steps`` steps without a break. The soak run trains the same
flags into another folder; each attempt gets, at a random moment, SIGKILL (no clean-up of any
kind runs) or SIGTERM (what a batch scheduler, ``docker stop`` or ``kill`` sends: training
stops after the current step, writes its checkpoint and exits with status 143; while Python
starts, or after the last step, the signal still ends the process at once). One signal in five
comes while it starts up (Python, the checkpoint, the data), the others while it trains, saves
or writes its outputs. The next attempt continues with ``--resume`` from the last complete
checkpoint (or starts afresh when none was written yet). After ``--kills`` signals, the last
attempt runs to the end. Checked: after every signal the checkpoint is readable and the
folder's lock is taken over; a run that SIGTERM stopped cleanly printed one line naming the
step, and its checkpoint holds that step; every soak run that reaches the last step (the final
one, and any that ended before its signal came, after which a new one starts) holds the
reference's step, history, RNG states and, tensor by tensor, the same G, D and optimiser
state, and no temporary file is left. Checkpoints come every ``--checkpoint-every`` steps and every
``--checkpoint-minutes``, so signals land before, during and after saves of both kinds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dcgan_tutorial.checkpoint import CheckpointError, read_checkpoint  # noqa: E402
from dcgan_tutorial.device import hardware_name  # noqa: E402
from dcgan_tutorial.runfolder import RunFolder  # noqa: E402

# compared tensor by tensor
KEYS = ("step", "epoch", "G", "D", "opt_g", "opt_d", "history", "rng", "fixed_z")


def same(a, b, where: str = "") -> list[str]:
    """Where two checkpoint contents differ (tensors compared exactly), as a list of paths."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return (
            []
            if a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
            else [where]
        )
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where} (keys)"]
        return [d for k in a for d in same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where} (length)"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b))
            for d in same(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [where]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kills",
        type=int,
        default=20,
        help="signals (SIGKILL or SIGTERM, drawn at random) to "
        "deliver before letting a run finish",
    )
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument(
        "--limit",
        type=int,
        default=512,
        help="MNIST images (512 / batch 32 = 16 steps an epoch)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="ngf = ndf")
    parser.add_argument("--checkpoint-every", type=int, default=7)
    parser.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=0.02,
        help="1.2 s: saves by time between",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the kill moments' seed (the training seed is 3)",
    )
    parser.add_argument(
        "--data-root", default=os.environ.get("DCGAN_TUTORIAL_DATA")
    )
    parser.add_argument(
        "--work",
        default=None,
        help="folder for the runs (default: a temporary one)",
    )
    parser.add_argument(
        "--json", default=str(REPO / "benchmarks" / "results" / "soak_cpu.json")
    )
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="soak_"))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
    }  # one thread: the same sums in every run
    train = [
        sys.executable,
        "-m",
        "dcgan_tutorial",
        "train",
        "--preset",
        "mnist28",
        "--device",
        "cpu",
        "--limit",
        str(args.limit),
        "--batch-size",
        str(args.batch_size),
        "--ngf",
        str(args.width),
        "--ndf",
        str(args.width),
        "--steps",
        str(args.steps),
        "--seed",
        "3",
        "--sample-every",
        "1000",
        "--checkpoint-every",
        str(args.checkpoint_every),
        "--checkpoint-minutes",
        str(args.checkpoint_minutes),
        "--no-progress",
    ] + (["--data-root", args.data_root] if args.data_root else [])
    started = time.time()

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        train + ["--out", str(work / "reference")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()  # "training ...": the state and the data are ready
    startup_seconds = time.perf_counter() - t0
    assert proc.wait() == 0, "the reference run failed"
    reference_seconds = time.perf_counter() - t0
    train_seconds = reference_seconds - startup_seconds
    print(
        f"reference: {args.steps} steps; start-up {startup_seconds:.1f} s, then {train_seconds:.1f} s",
        flush=True,
    )
    reference_times = {
        "start_up": round(startup_seconds, 1),
        "training": round(train_seconds, 1),
    }

    rng = random.Random(args.seed)
    soak, kills, attempts, completed, log = work / "soak", 0, 0, 0, []
    # signals the current soak run went through; those of completed runs
    run_signals = checked_signals = 0
    while True:
        attempts += 1
        resume = (
            ["--resume", str(soak)] if RunFolder(soak).checkpoint.exists() else []
        )
        before = read_checkpoint(soak)["step"] if resume else 0
        proc = subprocess.Popen(
            train + ["--out", str(soak)] + resume,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        phase, sig = None, rng.choice((signal.SIGKILL, signal.SIGTERM))
        if (
            kills < args.kills and before < args.steps
        ):  # a run killed after its last step just finishes
            if (
                rng.random() < 0.2
            ):  # one kill in five while Python starts, loads the checkpoint and the data
                phase, delay = "start-up", rng.uniform(0.0, startup_seconds)
            else:  # the others while it trains, saves or writes its outputs
                proc.stdout.readline()
                phase, delay = (
                    "training",
                    rng.uniform(
                        0.0,
                        train_seconds * (args.steps - before) / args.steps + 1.0,
                    ),
                )
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(sig)
        stdout, stderr = proc.communicate()
        if proc.returncode in (
            -signal.SIGKILL,
            -signal.SIGTERM,
            128 + signal.SIGTERM,
        ):
            kills, run_signals = kills + 1, run_signals + 1
            try:
                data = (
                    read_checkpoint(soak)
                    if RunFolder(soak).checkpoint.exists()
                    else None
                )
            except CheckpointError as err:
                print(
                    f"FAIL: checkpoint unreadable after {sig.name}: {err}",
                    flush=True,
                )
                return 1
            after = data["step"] if data else 0
            # stopped cleanly: one line, the checkpoint of that step
            if proc.returncode == 128 + signal.SIGTERM:
                line = (stdout.strip().splitlines() or [""])[-1]
                said = (
                    line.split(": step ")[1].split(",")[0]
                    if ": step " in line
                    else None
                )
                if (
                    not line.startswith("stopped by SIGTERM")
                    or said != str(after)
                    or stderr.strip()
                    or data["history"]["step"][-1] != after
                ):
                    print(
                        f"FAIL: SIGTERM stop at checkpoint step {after} said {line!r}, stderr {stderr[-300:]!r}",
                        flush=True,
                    )
                    return 1
            ended = {
                -signal.SIGKILL: "killed",
                -signal.SIGTERM: "ended by the signal",
                143: "stopped cleanly, 143",
            }
            log.append(
                {
                    "attempt": attempts,
                    "signal": sig.name,
                    "phase": phase,
                    "after_s": round(delay, 2),
                    "ended": ended[proc.returncode],
                    "from_step": before,
                    "checkpoint_step_after": after,
                }
            )
            print(
                f"signal {kills}: {sig.name} ({phase}, after {delay:.2f} s, {ended[proc.returncode]}): "
                f"checkpoint {before} -> {after}",
                flush=True,
            )
            continue
        if proc.returncode != 0:
            print(
                f"FAIL: attempt {attempts} exited {proc.returncode}: {stderr.strip()[-500:]}",
                flush=True,
            )
            return 1
        if kills >= args.kills:
            break
        # it ended before its kill moment: check this completed run, then start a new one to go on killing
        log.append(
            {
                "attempt": attempts,
                "finished_before_kill": True,
                "from_step": before,
                "signals_in_this_run": run_signals,
            }
        )
        reference = read_checkpoint(work / "reference")
        result = read_checkpoint(soak)
        differences = [d for k in KEYS for d in same(reference[k], result[k], k)]
        if differences:
            print(
                f"FAIL: a completed soak run differs from the reference in {differences[:5]}",
                flush=True,
            )
            return 1
        print(
            f"run {completed + 1} completed through {run_signals} signals: bit-identical",
            flush=True,
        )
        completed, checked_signals = completed + 1, checked_signals + run_signals
        run_signals = 0
        soak.rename(work / f"soak_completed_{completed}")
        startup_seconds, train_seconds = (
            0.8 * startup_seconds,
            0.8 * train_seconds,
        )  # the machine got faster

    reference, result = read_checkpoint(work / "reference"), read_checkpoint(soak)
    differences = [d for k in KEYS for d in same(reference[k], result[k], k)]
    leftovers = sorted(
        str(p.relative_to(soak))
        for p in soak.rglob("*")
        if p.name.endswith(".tmp") or p.name.startswith(".lock")
    )
    record = {
        "what": "training runs killed with SIGKILL or stopped with SIGTERM at random moments and resumed, against "
        "one uninterrupted run",
        "machine": hardware_name(torch.device("cpu")),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]),
        "train_command": " ".join(
            ["python"] + train[1:] + ["--out", "RUN_DIR"]
        ).replace(args.data_root or "\0", "DATA"),
        "threads": 1,
        "kills": kills,
        "sigkill": sum(1 for e in log if e.get("signal") == "SIGKILL"),
        "sigterm": sum(1 for e in log if e.get("signal") == "SIGTERM"),
        "sigterm_stopped_cleanly_143": sum(
            1 for e in log if e.get("ended") == "stopped cleanly, 143"
        ),
        "sigterm_ended_at_once": sum(
            1
            for e in log
            if e.get("signal") == "SIGTERM"
            and e.get("ended") == "ended by the signal"
        ),  # before the loop, or after it
        "attempts": attempts,
        "kills_during_start_up": sum(
            1 for e in log if e.get("phase") == "start-up"
        ),
        "kills_during_training": sum(
            1 for e in log if e.get("phase") == "training"
        ),
        "kills_before_first_checkpoint": sum(
            1 for e in log if e.get("checkpoint_step_after") == 0
        ),
        # runs that ended before their kill moment, each compared with the reference like the final one
        "earlier_runs_completed_and_checked": completed,
        "signals_in_earlier_runs": checked_signals,
        "signals_in_final_run": run_signals,
        "reference_seconds": reference_times,
        # the kill moments are drawn over these (the reference's, shrunk by 0.8 after each run that outran its kill)
        "kill_window_seconds": {
            "start_up": round(startup_seconds, 1),
            "training": round(train_seconds, 1),
        },
        "soak_seconds": round(time.time() - started - reference_seconds),
        "bit_identical": not differences,
        "differences": differences[:20],
        "leftover_files": leftovers,
        "kill_log": log,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    ok = not differences and not leftovers
    print(
        f"{'PASS' if ok else 'FAIL'}: {kills} signals ({record['sigkill']} SIGKILL, {record['sigterm']} SIGTERM) "
        f"over {attempts} attempts; final checkpoint "
        f"{'bit-identical' if not differences else 'DIFFERS'} ({len(differences)} differences); "
        f"leftovers {leftovers}; wrote {args.json}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
