"""Record the FID curve of a long training run: the points its FID tracker wrote, with the command.

    python scripts/long_run_curve.py --run-dir RUN --out benchmarks/results/mnist_long_run.json \
        --command "python -m dcgan_tutorial train ..."

``RUN/fid_history.json`` holds, for every ``--fid-every`` steps, the classifier FID of 2,000
samples against 10,000 training images and the CPU seconds of training so far (one thread);
this script copies it next to the command, the machine and torch's version, so a chapter can
draw the learning curve without the run folder. Run it again as the run goes on.
"""

from __future__ import annotations

import argparse
import datetime
import json
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
    }
    Path(args.out).write_text(json.dumps(record, indent=1))
    last = curve["history"][-1]
    print(
        f"{len(curve['history'])} points; last: step {last['step']}, FID {last['fid']:.1f}"
        f"; best: step {curve['best']['step']}, FID {curve['best']['fid']:.1f}"
    )


if __name__ == "__main__":
    main()
