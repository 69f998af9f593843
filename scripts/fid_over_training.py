"""FID and class coverage of every checkpoint a training run kept, and (optionally) ship the best.

    python scripts/fid_over_training.py --run-dir runs/pretrained-mnist --data-root DIR \
        --out benchmarks/results/fid_over_training.json --export-best

The best checkpoint is chosen by FID against 10,000 *training* images, so the test images,
against which the FID is reported, play no part in the choice.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dcgan_tutorial.checkpoint import load_generator, read_checkpoint
from dcgan_tutorial.classifier import load_classifier
from dcgan_tutorial.data import load_images
from dcgan_tutorial.metrics import class_coverage, classifier_fid, generator_samples
from dcgan_tutorial.pretrained import PRETRAINED, export_generator, load_generator_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1, help="evaluate every k-th kept checkpoint")
    parser.add_argument("--out", default="benchmarks/results/fid_over_training.json")
    parser.add_argument("--export-best", action="store_true", help=f"write the best generator to {PRETRAINED['mnist']}")
    parser.add_argument("--export-only", action="store_true", help="export the best of an existing --out file")
    args = parser.parse_args()
    if args.export_only:
        record = json.loads(Path(args.out).read_text())
        export_best(args.run_dir, record["best"], len(record["rows"]))
        return

    classifier = load_classifier("mnist")
    test, _ = load_images("mnist", args.data_root, train=False)
    train, _ = load_images("mnist", args.data_root, train=True)
    train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:10_000]]
    paths = sorted((Path(args.run_dir) / "checkpoints").glob("step_*.pt"))[:: args.every]
    rows = []
    for path in paths:
        G, _ = load_generator(path)
        fakes = generator_samples(G, args.n, seed=0)
        coverage = class_coverage(fakes, classifier)
        row = {"step": int(read_checkpoint(path)["step"]), "checkpoint": path.name,
               "fid_test": classifier_fid(test, fakes, classifier),
               "fid_train": classifier_fid(train, fakes, classifier),
               "classes_present": coverage.classes_present, "kl_from_uniform": coverage.kl_from_uniform,
               "counts": coverage.counts}
        rows.append(row)
        print({k: v for k, v in row.items() if k != "counts"}, flush=True)
    reference = {"fid_real_train_vs_test": classifier_fid(test, train, classifier)}
    noise = torch.randint(0, 256, (args.n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    reference["fid_noise_vs_test"] = classifier_fid(test, noise, classifier)
    best = min(rows, key=lambda r: r["fid_train"])
    record = {"run_dir": args.run_dir, "n_generated": args.n, "rows": rows, "reference": reference,
              "best": best, "command": "python scripts/fid_over_training.py --run-dir " + args.run_dir +
              " --data-root DIR" + f" --every {args.every}" + (" --export-best" if args.export_best else "")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print("reference:", reference, "\nbest:", {k: v for k, v in best.items() if k != "counts"})
    if args.export_best:
        export_best(args.run_dir, best, len(rows))


def export_best(run_dir: str, best: dict, n_rows: int) -> None:
    _, _, meta = load_generator_file(PRETRAINED["mnist"])  # the provenance of the training run
    provenance = {**meta["provenance"], "selected": f"{best['checkpoint']}: the lowest FID against 10,000 "
                                                    f"training images among {n_rows} evaluated checkpoints"}
    export_generator(Path(run_dir) / "checkpoints" / best["checkpoint"], PRETRAINED["mnist"], provenance)
    print("exported", best["checkpoint"], "to", PRETRAINED["mnist"])


if __name__ == "__main__":
    main()
