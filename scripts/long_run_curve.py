"""Record the FID curve of a long training run: the points its FID tracker wrote, with the command.

    python scripts/long_run_curve.py --run-dir RUN --out benchmarks/results/mnist_long_run.json \
        --command "python -m dcgan_tutorial train ..."

``RUN/fid_history.json`` holds, for every ``--fid-every`` steps, the classifier FID of 2,000
samples against 10,000 training images and the CPU seconds of training so far (one thread);
this script copies it next to the command, the machine and torch's version, so a chapter can
draw the learning curve without the run folder. Run it again as the run goes on; the test-set
evaluations recorded earlier are kept. ``--evaluate`` adds one of the run's best generator:

    python scripts/long_run_curve.py --run-dir RUN --out ... --command "..." --evaluate --data-root DIR
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from dcgan_tutorial.device import hardware_name
from dcgan_tutorial.runfolder import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--command", required=True, help="the command that trains it"
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="also evaluate the best generator on the test set (python -m dcgan_tutorial "
        "evaluate) and add it to the record",
    )
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    folder = RunFolder(args.run_dir)
    curve = json.loads(folder.fid_history.read_text())
    record = {
        "command": args.command,
        "hardware": hardware_name(),
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "fid": "classifier FID, 2,000 samples (the same noise each time) against 10,000 "
        "training images; cpu_seconds: training CPU time so far on one thread",
        "history": curve["history"],
        "best": curve["best"],
        "test_evaluations": [],
    }
    out = Path(args.out)
    if out.is_file():  # the evaluations of earlier points stay
        record["test_evaluations"] = json.loads(out.read_text()).get(
            "test_evaluations", []
        )
    if args.evaluate:
        command = [
            sys.executable, "-m", "dcgan_tutorial", "evaluate",
            "--checkpoint", str(folder.best_generator), "--device", "cpu",
        ]  # fmt: skip
        if args.data_root:
            command += ["--data-root", args.data_root]
        output = (
            subprocess.run(
                command,
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            .stdout.strip()
            .replace(str(folder.root), "RUN")
        )
        record["test_evaluations"].append(
            {
                "step": curve["best"]["step"],
                "command": "python -m dcgan_tutorial evaluate --checkpoint "
                "RUN/best_generator.pt --data-root DIR --device cpu",
                "output": output,
            }
        )
    out.write_text(json.dumps(record, indent=1))
    last = curve["history"][-1]
    print(
        f"{len(curve['history'])} points; last: step {last['step']}, FID {last['fid']:.1f}"
        f"; best: step {curve['best']['step']}, FID {curve['best']['fid']:.1f}"
    )


if __name__ == "__main__":
    main()
