"""The command line: ``python -m dcgan_tutorial train|sample ...``. argparse lives here only.

Every value is checked before any work starts; a bad one ends the command with a one-line
error naming the flag, the value and what is allowed, and exit status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from .config import (DATASET_CHANNELS, DATASETS, DEFAULT_PRESET, LOSSES, PRESETS, ConfigError, get_preset,
                     with_overrides)

# config field -> the flag that sets it, so errors name what the user typed
FLAGS = {"batch_size": "--batch-size", "lr_g": "--lr-g", "lr_d": "--lr-d", "beta1": "--beta1", "nz": "--nz",
         "ngf": "--ngf", "ndf": "--ndf", "image_size": "--image-size", "batchnorm": "--no-batchnorm",
         "steps": "--steps", "epochs": "--epochs",
         "time_budget": "--time-budget", "seed": "--seed", "dataset": "--dataset", "loss": "--loss",
         "preset": "--preset", "sample_every": "--sample-every", "checkpoint_every": "--checkpoint-every",
         "class": "--class",
         "steps/epochs/time_budget": "--steps/--epochs/--time-budget"}


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage dump
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive(kind):
    def check(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number")
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a finite number greater than 0")
        return value
    check.__name__ = f"positive {kind.__name__}"
    return check


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a whole number >= 0")
    return value


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a number in [0, 1)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dcgan_tutorial",
                     description="Train a DCGAN and sample from it (see README.md and the book).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    presets = "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values())
    presets = presets.replace("%", "%%")  # argparse formats help with %
    t = sub.add_parser("train", help="train a DCGAN, writing a checkpoint, sample grids, curves and a GIF",
                       description="Train a DCGAN. Writes RUN_DIR/checkpoint.pt, RUN_DIR/progress/*.png "
                                   "(fixed-noise grids), RUN_DIR/losses.png, RUN_DIR/training.gif and "
                                   "RUN_DIR/history.json. Training stops at the first limit reached.")
    t.add_argument("--preset", default=None, metavar="NAME",
                   help=f"model and training recipe (default {DEFAULT_PRESET}). {presets}")
    t.add_argument("--dataset", default=None, metavar="NAME",
                   help=f"one of {', '.join(DATASETS)} (default: the preset's). The model's channels follow "
                        f"the data: grey for mnist and fashion-mnist, colour for cifar10 and folder")
    t.add_argument("--data-root", default=None, metavar="DIR",
                   help="folder holding MNIST/raw, FashionMNIST/raw or cifar-10-batches-py (default: "
                        "$DCGAN_TUTORIAL_DATA, else ./data); with --dataset folder, the folder of images "
                        "itself (flat, or one subfolder per class; e.g. CelebA's img_align_celeba)")
    t.add_argument("--no-download", action="store_true", help="never try to download missing data")
    t.add_argument("--out", required=True, metavar="RUN_DIR", help="folder for the run's outputs")
    t.add_argument("--overwrite", action="store_true",
                   help="allow replacing RUN_DIR/checkpoint.pt from an earlier run (default: refuse)")
    t.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue training from this checkpoint file, or from a run folder's latest "
                        "(model and optimiser state, step, RNG, data order)")
    t.add_argument("--steps", type=_positive(int), help="stop when this many steps in total are done")
    t.add_argument("--epochs", type=_positive(float), help="stop after this many epochs in total")
    t.add_argument("--time-budget", type=_positive(float), metavar="SECONDS",
                   help="stop after this many seconds of training in this run")
    t.add_argument("--batch-size", type=_positive(int), help="images per step")
    t.add_argument("--lr", type=_positive(float), help="Adam learning rate for both G and D")
    t.add_argument("--lr-g", type=_positive(float), help="G's learning rate (overrides --lr)")
    t.add_argument("--lr-d", type=_positive(float), help="D's learning rate (overrides --lr)")
    t.add_argument("--beta1", type=_unit_interval, help="Adam beta1 (paper: 0.5)")
    t.add_argument("--loss", choices=LOSSES, help="G's loss (default non-saturating)")
    t.add_argument("--nz", type=_positive(int), help="length of the noise vector z")
    t.add_argument("--ngf", type=_positive(int), help="G width")
    t.add_argument("--ndf", type=_positive(int), help="D width")
    t.add_argument("--image-size", type=_positive(int), help="image size (28, 32, 56, 64, 128, ...)")
    t.add_argument("--no-batchnorm", action="store_true",
                   help="drop every batchnorm layer (arch dcgan presets only): to see what batchnorm does")
    t.add_argument("--seed", type=_non_negative_int, help="random seed (default 0)")
    t.add_argument("--sample-every", type=_positive(int), help="keep a fixed-noise grid every N steps")
    t.add_argument("--checkpoint-every", type=_positive(int), help="write the checkpoint every N steps")
    t.add_argument("--keep", type=_non_negative_int, default=3, metavar="K",
                   help="also keep the last K checkpoints in RUN_DIR/checkpoints/ (default 3; 0: only the latest)")
    t.add_argument("--limit", type=_positive(int), metavar="N", help="train on the first N images only")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="where to train; auto picks the GPU when there is one")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="write images from a trained checkpoint or a shipped generator",
                       description="Write N images from a generator as DIR/images/sample_*.png "
                                   "(grey for MNIST) and DIR/grid.png.")
    _add_generator_source(s)
    s.add_argument("--n", type=_positive(int), default=64, help="number of images (default 64)")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder")
    s.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed (default 0)")
    s.add_argument("--class", dest="class_index", type=_non_negative_int, default=None, metavar="K",
                   help="draw only class K (a conditional model: cond-mnist or class); default: every class "
                        "in turn")
    s.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="where to run G")

    e = sub.add_parser("evaluate", help="measure a generator: FID, class coverage, class histogram",
                       description="Print the FID of N generated images against the 10,000 test images, on the "
                                   "features of the classifier shipped with the package (works offline), the "
                                   "number of classes present, the KL divergence from uniform and the class "
                                   "histogram.")
    _add_generator_source(e)
    e.add_argument("--data-root", default=None, metavar="DIR",
                   help="folder holding MNIST/raw (default: $DCGAN_TUTORIAL_DATA, else ./data)")
    e.add_argument("--no-download", action="store_true", help="never try to download missing data")
    e.add_argument("--n", type=_positive(int), default=10_000, help="generated images to measure (default 10000)")
    e.add_argument("--seed", type=_non_negative_int, default=0, help="noise seed (default 0)")
    e.add_argument("--inception", action="store_true",
                   help="also print the standard Inception FID (downloads Inception-v3 weights once: needs a "
                        "machine online, e.g. Colab; slow on a CPU)")
    e.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="where to run G")
    return parser


def _add_generator_source(parser) -> None:
    from .pretrained import PRETRAINED

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", metavar="FILE", help="a checkpoint.pt written by train (or its run folder)")
    source.add_argument("--pretrained", choices=sorted(PRETRAINED),
                        help="a generator shipped with the package (trained on MNIST; see README)")


def _load_generator(args, device):
    """(G, dataset name, description) from --checkpoint or --pretrained."""
    from .checkpoint import configs_of, load_generator, read_checkpoint
    from .pretrained import load_pretrained

    if args.pretrained:
        G, _, meta = load_pretrained(args.pretrained, device)
        return G, meta["dataset"], f"shipped generator '{args.pretrained}' (step {meta['step']})"
    G, _ = load_generator(args.checkpoint, device)
    data = read_checkpoint(args.checkpoint)
    return G, configs_of(data)[1].dataset, f"{args.checkpoint} (step {data['step']})"


def _config_message(err: ConfigError) -> str:
    flag = FLAGS.get(err.field, err.field)
    return f"{flag} {err.value!r} is not allowed: {err.allowed}"


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UsageError(f"--out {str(folder)!r} cannot be written ({err.strerror}): choose a folder you can write to")


def _train_configs(args):
    """The model and training configs the flags ask for, validated, and the state to resume from."""
    from .checkpoint import load_checkpoint

    overrides = dict(dataset=args.dataset, batch_size=args.batch_size, lr_g=args.lr_g or args.lr,
                     lr_d=args.lr_d or args.lr, beta1=args.beta1, loss=args.loss, seed=args.seed,
                     sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    stop = {"steps": args.steps, "epochs": args.epochs, "time_budget": args.time_budget}
    if any(v is not None for v in stop.values()):
        overrides.update(stop)  # the limits given replace the preset's; unset ones mean "no limit"
    model_flags = dict(nz=args.nz, ngf=args.ngf, ndf=args.ndf, image_size=args.image_size,
                       batchnorm=False if args.no_batchnorm else None)
    state = None
    if args.resume:
        state = load_checkpoint(args.resume)  # on the CPU first: checked before anything is written
        for name, value in model_flags.items():
            if value is not None and value != getattr(state.model_cfg, name):
                raise UsageError(f"--{name.replace('_', '-')} {value} differs from the checkpoint's "
                                 f"{getattr(state.model_cfg, name)}: a resumed model keeps its shape")
        if args.preset is not None:
            raise UsageError("--preset cannot be combined with --resume: the checkpoint already fixes the model")
        model_cfg, base = state.model_cfg, state.train_cfg
    else:
        preset = get_preset(args.preset or DEFAULT_PRESET)
        dataset = args.dataset or preset.train.dataset
        if dataset not in DATASET_CHANNELS:
            raise ConfigError("dataset", dataset, f"choose one of {', '.join(DATASETS)}")
        model_flags["nc"] = DATASET_CHANNELS[dataset]  # grey or colour, as the data is
        model_cfg, base = with_overrides(preset.model, **model_flags), preset.train
    train_cfg = dataclasses.replace(base, **overrides)
    return model_cfg.validate(), train_cfg.validate(), state


def _train(args) -> int:
    from . import distributed, viz
    from .checkpoint import CheckpointWriter, load_checkpoint
    from .data import make_loader
    from .train import Callback, CollapseWarning, make_state, pick_device, train_gan

    viz.use_headless_backend()
    model_cfg, train_cfg, resumed = _train_configs(args)
    out = Path(args.out)
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists() and not args.overwrite and not args.resume:
        raise UsageError(f"{ckpt_path} already exists: continue it with --resume {ckpt_path}, "
                         f"pass --overwrite to replace it, or choose another --out")
    _check_writable(out)
    device = pick_device(args.device)
    rank, world = 0, 1
    if distributed.launched_by_torchrun():  # torchrun --nproc_per_node N -m dcgan_tutorial train ...
        rank, world, device = distributed.init_distributed(device)
    try:
        loader = make_loader(train_cfg.dataset, model_cfg.image_size, train_cfg.batch_size, args.data_root,
                             seed=train_cfg.seed, device=device, limit=args.limit, download=not args.no_download,
                             nc=model_cfg.nc, rank=rank, world_size=world)
        if resumed is not None:
            state = load_checkpoint(args.resume, device)
            state.train_cfg = train_cfg
            for opt, lr in ((state.opt_g, train_cfg.lr_g), (state.opt_d, train_cfg.lr_d)):
                for group in opt.param_groups:
                    group["lr"], group["betas"] = lr, (train_cfg.beta1, train_cfg.beta2)
        else:
            state = make_state(model_cfg, train_cfg, device)
        if world > 1:  # every rank draws its own noise; DDP keeps the weights identical
            distributed.distribute_state(state, rank, device)

        class WriteProgress(Callback):
            def on_sample(self, state, images):
                fig = viz.plt.figure(figsize=(4, 4))
                viz.show_grid(images, ax=fig.gca(), title=f"step {state.step}")
                viz.save_figure(fig, out / "progress" / f"step_{state.step:06d}.png")

        callbacks = [CollapseWarning()]
        if rank == 0:  # one process writes
            callbacks += [WriteProgress(), CheckpointWriter(ckpt_path, keep=args.keep)]
            print(f"training {model_cfg} on {train_cfg.dataset} ({len(loader.images)} images, "
                  f"{len(loader)} steps per epoch, {world} process(es)) on {device}", flush=True)
        started = time.perf_counter()
        train_gan(state, loader, callbacks=callbacks, progress=not args.no_progress and rank == 0)
        seconds = time.perf_counter() - started
        for model in (state.G, state.D):
            distributed.sync_buffers(model)
        same = distributed.weights_agree(state.G) and distributed.weights_agree(state.D)
        if rank != 0:
            return 0
        viz.save_figure(viz.plot_history(state.history), out / "losses.png")
        viz.save_gif(state.samples, out / "training.gif")
        (out / "history.json").write_text(json.dumps(state.history))
        how = "stopped by request" if state.interrupted else "done"
        print(f"{how}: step {state.step}, epoch {state.epoch}, {seconds:.1f} s; wrote {ckpt_path}, "
              f"{out / 'losses.png'}, {out / 'training.gif'}, {out / 'progress'}/", flush=True)
        if world > 1:
            print(f"{world} ranks hold identical G and D weights: {same}", flush=True)
        return 0
    finally:
        distributed.shutdown()


def _sample(args) -> int:
    from .sample import sample_images, save_samples
    from .train import pick_device

    out = Path(args.out)
    _check_writable(out)
    device = pick_device(args.device)
    G, _, what = _load_generator(args, device)
    images = sample_images(G, args.n, args.seed, args.class_index)
    paths = save_samples(images, out, nrow=getattr(G, "n_classes", 0) if args.class_index is None else None)
    which = "" if args.class_index is None else f" of class {args.class_index}"
    print(f"wrote {len(paths)} images{which} from {what} to {paths[0].parent}/ and the grid {out / 'grid.png'}")
    return 0


def _evaluate(args) -> int:
    from .classifier import load_classifier
    from .data import class_names, load_images
    from .metrics import (class_coverage, classifier_fid, conditional_accuracy, generator_samples,
                          inception_fid)
    from .train import pick_device

    device = pick_device(args.device)
    G, dataset, what = _load_generator(args, device)
    real, _ = load_images(dataset, args.data_root, train=False, download=not args.no_download)
    classifier = load_classifier(dataset, device)
    names = class_names(dataset, args.data_root)
    fakes = generator_samples(G, args.n, seed=args.seed)
    fid = classifier_fid(real, fakes, classifier)
    coverage = class_coverage(fakes, classifier)
    print(f"generator: {what}")
    print(f"FID ({dataset} classifier features, {args.n} generated vs {len(real)} test images): {fid:.2f}")
    if args.inception:
        score = inception_fid(real, fakes, device=device)
        print(f"Inception FID (Inception-v3 pool features, {args.n} generated vs {len(real)} test images): "
              f"{score:.2f}")
    print(f"coverage: {coverage.classes_present} of {len(coverage.counts)} classes present, "
          f"KL from uniform {coverage.kl_from_uniform:.4f} nats")
    print("class histogram: " + ", ".join(f"{name} {count} ({100 * count / args.n:.1f}%)"
                                          for name, count in zip(names, coverage.counts)))
    if getattr(G, "n_classes", 0):  # a conditional model: does it draw the class it is asked for?
        shares = conditional_accuracy(G, classifier, n_per_class=max(1, args.n // G.n_classes), seed=args.seed)
        print(f"asked-for class read back by the classifier: lowest {100 * min(shares):.1f}%, per class: " +
              ", ".join(f"{name} {100 * share:.1f}%" for name, share in zip(names, shares)))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 training failed, 2 bad input)."""
    from .checkpoint import CheckpointError
    from .classifier import ClassifierError
    from .data import DatasetError
    from .metrics import InceptionUnavailable
    from .train import TrainingDiverged

    try:
        args = build_parser().parse_args(argv)
        return {"train": _train, "sample": _sample, "evaluate": _evaluate}[args.command](args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
    except ConfigError as err:
        print(f"error: {_config_message(err)}", file=sys.stderr)
    except (CheckpointError, DatasetError, ClassifierError, InceptionUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
    except RuntimeError as err:
        if isinstance(err, TrainingDiverged):
            print(f"error: {err}", file=sys.stderr)
            return 1
        if "out of memory" in str(err).lower():
            print("error: the device ran out of memory: use a smaller --batch-size or a smaller model "
                  "(--ngf/--ndf)", file=sys.stderr)
            return 1
        if "device=" in str(err):
            print(f"error: {err}", file=sys.stderr)
        else:
            raise
    return 2
