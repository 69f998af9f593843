"""FID and class coverage of every checkpoint a training run kept, and (optionally) ship the best.

    python scripts/fid_over_training.py --run-dir runs/pretrained-mnist --data-root DIR \
        --out benchmarks/results/fid_over_training.json --export-best

The best checkpoint is chosen by FID against 10,000 *training* images, so the test images,
against which the FID is reported, play no part in the choice.

A run on a GPU evaluates there and exports a new generator elsewhere than the shipped file:

    python scripts/fid_over_training.py --run-dir RUN --data-root DIR --device cuda --max-checkpoints 12 \
        --out OUT/fid_over_training.json --export-best --export-to OUT/mnist64_generator.pt \
        --provenance OUT/mnist64_provenance.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dcgan_tutorial.checkpoint import load_generator, read_checkpoint
from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.metrics import (
    class_coverage,
    classifier_fid,
    generator_samples,
)
from dcgan_tutorial.pretrained import (
    PRETRAINED,
    export_generator,
    load_generator_file,
)
from dcgan_tutorial.runfolder import RunFolder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--n-real",
        type=int,
        default=10_000,
        help="real images on each side: test and training",
    )
    parser.add_argument(
        "--every", type=int, default=1, help="evaluate every k-th kept checkpoint"
    )
    parser.add_argument(
        "--out", default="benchmarks/results/fid_over_training.json"
    )
    parser.add_argument(
        "--export-best",
        action="store_true",
        help=f"write the best generator to {PRETRAINED['mnist']}",
    )
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="export the best of an existing --out file",
    )
    parser.add_argument(
        "--export-to",
        default=None,
        help="write the best generator here instead of the shipped file",
    )
    parser.add_argument(
        "--provenance",
        default=None,
        help="JSON file with the training run's command, hardware, seconds, torch and date "
        "(default: the shipped generator's, which scripts/train_pretrained.py wrote)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="where G makes its samples and the classifier reads them",
    )
    parser.add_argument(
        "--max-checkpoints",
        type=int,
        default=None,
        help="evaluate at most this many of the kept checkpoints, evenly spread, the last included",
    )
    args = parser.parse_args()
    export = {"to": args.export_to, "provenance": args.provenance}
    if args.export_only:
        record = json.loads(Path(args.out).read_text())
        export_best(
            args.run_dir,
            record["best"],
            len(record["rows"]),
            record.get("n_real", 10_000),
            **export,
        )
        return

    classifier = load_classifier("mnist", device=args.device)
    test, _ = load_images("mnist", args.data_root, train=False)
    train, _ = load_images("mnist", args.data_root, train=True)
    test = test[: args.n_real]
    train = train[
        torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[
            : args.n_real
        ]
    ]
    paths = sorted(RunFolder(args.run_dir).kept_checkpoints.glob("step_*.pt"))[
        :: args.every
    ]
    if not paths:
        raise SystemExit(
            f"fid_over_training.py: error: no checkpoints in {Path(args.run_dir) / 'checkpoints'}: "
            f"train with --keep K (K > 0) so that the run keeps them"
        )
    if args.max_checkpoints and len(paths) > args.max_checkpoints:
        last = len(paths) - 1  # evenly spread from the first to the last
        paths = (
            [
                paths[round(i * last / (args.max_checkpoints - 1))]
                for i in range(args.max_checkpoints)
            ]
            if args.max_checkpoints > 1
            else paths[-1:]
        )
    rows = []
    for path in paths:
        G, _ = load_generator(path, args.device)
        fakes = generator_samples(G, args.n, seed=0)
        coverage = class_coverage(fakes, classifier)
        row = {
            "step": int(read_checkpoint(path)["step"]),
            "checkpoint": path.name,
            "fid_test": classifier_fid(test, fakes, classifier),
            "fid_train": classifier_fid(train, fakes, classifier),
            "classes_present": coverage.classes_present,
            "kl_from_uniform": coverage.kl_from_uniform,
            "counts": coverage.counts,
        }
        rows.append(row)
        print({k: v for k, v in row.items() if k != "counts"}, flush=True)
    reference = {
        "fid_real_train_vs_test": classifier_fid(test, train, classifier)
    }
    noise = torch.randint(
        0,
        256,
        (args.n, 1, 28, 28),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    reference["fid_noise_vs_test"] = classifier_fid(test, noise, classifier)
    best = min(rows, key=lambda r: r["fid_train"])
    flags = "".join(
        f" --{k.replace('_', '-')} {v}"
        for k, v in vars(args).items()
        if k in ("device", "max_checkpoints", "n", "n_real", "export_to")
        and v not in (None, "cpu", 10_000)
    )  # the flags that change what is measured or written
    record = {
        "run_dir": args.run_dir,
        "n_generated": args.n,
        "n_real": len(test),
        "rows": rows,
        "reference": reference,
        "best": best,
        "command": "python scripts/fid_over_training.py --run-dir "
        + args.run_dir
        + " --data-root DIR"
        + f" --every {args.every}"
        + (" --export-best" if args.export_best else "")
        + flags,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(
        "reference:",
        reference,
        "\nbest:",
        {k: v for k, v in best.items() if k != "counts"},
    )
    if args.export_best:
        export_best(args.run_dir, best, len(rows), len(train), **export)


def export_best(
    run_dir: str,
    best: dict,
    n_rows: int,
    n_real: int = 10_000,
    to: str | None = None,
    provenance: str | None = None,
) -> None:
    if provenance:  # the training run's record, written next to it
        trained = json.loads(Path(provenance).read_text())
    else:  # the shipped generator's: scripts/train_pretrained.py wrote it there
        trained = load_generator_file(PRETRAINED["mnist"])[2]["provenance"]
    selected = {
        **trained,
        "selected": f"{best['checkpoint']}: the lowest FID against {n_real:,} "
        f"training images among {n_rows} evaluated checkpoints",
    }
    out = to or PRETRAINED["mnist"]
    export_generator(
        RunFolder(run_dir).kept_checkpoints / best["checkpoint"], out, selected
    )
    print("exported", best["checkpoint"], "to", out)


if __name__ == "__main__":
    main()
