"""Page faults and step time of a CPU training step, with glibc's default malloc and with the package's settings.

``speed_settings`` (``make_state`` on the CPU with ``TrainConfig.fast``) calls ``device.keep_freed_cpu_memory``, which
asks glibc's malloc to keep the memory a step frees for the next step. This benchmark measures
what that buys: ``mnist28``'s ``train_step`` at batch 64 on a fixed batch of real digits, in
fresh processes (malloc settings belong to a process and cannot be undone), the two kinds
alternating so that both share the machine's load the same way. Each process reports its
milliseconds per step and its minor page faults per step (``getrusage``); the table gives the
median of each and the ratio of the medians.

    python benchmarks/cpu_allocator.py --data-root DIR --threads 1 2 --repeats 5

writes ``benchmarks/results/cpu_allocator.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from dcgan_tutorial.device import hardware_name

CHILD = """
import json, resource, sys, time, torch
from dataclasses import replace
import dcgan_tutorial.device as device
from dcgan_tutorial.data import load_images, scale_images
from dcgan_tutorial.presets import get_preset
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import train_step

kept, threads, steps, data_root = sys.argv[1] == "kept", int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] or None
torch.set_num_threads(threads)
if not kept:
    device._KEPT.append(False)  # as if already decided: make_state leaves glibc's defaults alone
preset = get_preset("mnist28")
state = make_state(preset.model, preset.train)
batch = scale_images(load_images("mnist", data_root, limit=64)[0])
for _ in range(10):
    train_step(state, batch)
faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
for _ in range(steps):
    train_step(state, batch)
seconds = time.perf_counter() - start
print(json.dumps({"ms_per_step": 1000 * seconds / steps,
                  "faults_per_step": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps}))
"""


def one(kind: str, threads: int, steps: int, data_root: str | None) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            kind,
            str(threads),
            str(steps),
            data_root or "",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/cpu_allocator.json")
    args = parser.parse_args()
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "torch": torch.__version__,
        "machine": hardware_name("cpu"),
        "load_average_at_start": os.getloadavg(),
        "command": f"python benchmarks/cpu_allocator.py --data-root DIR --threads "
        f"{' '.join(map(str, args.threads))} --steps {args.steps} --repeats {args.repeats}",
        "what": "mnist28 train_step, batch 64, fixed batch; per process: ms/step and minor page faults/step",
        "threads": {},
    }
    for threads in args.threads:
        runs = {"glibc default": [], "kept (package)": []}
        for r in range(args.repeats):
            for kind, key in (
                ("default", "glibc default"),
                ("kept", "kept (package)"),
            ):
                runs[key].append(one(kind, threads, args.steps, args.data_root))
                print(
                    f"{threads} thread(s), repeat {r + 1}, {key:15s}: {runs[key][-1]['ms_per_step']:6.1f} ms/step, "
                    f"{runs[key][-1]['faults_per_step']:7.0f} page faults/step",
                    flush=True,
                )
        med = {
            k: {
                m: statistics.median(x[m] for x in v)
                for m in ("ms_per_step", "faults_per_step")
            }
            for k, v in runs.items()
        }
        ratio = (
            med["glibc default"]["ms_per_step"]
            / med["kept (package)"]["ms_per_step"]
        )
        record["threads"][str(threads)] = {
            "runs": runs,
            "median": med,
            "speedup": ratio,
        }
        print(
            f"{threads} thread(s): default {med['glibc default']['ms_per_step']:.1f} ms "
            f"({med['glibc default']['faults_per_step']:.0f} faults) against kept "
            f"{med['kept (package)']['ms_per_step']:.1f} ms ({med['kept (package)']['faults_per_step']:.0f} faults): "
            f"{ratio:.2f}x",
            flush=True,
        )
    record["load_average_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
