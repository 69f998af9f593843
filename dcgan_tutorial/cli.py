"""The command line: ``python -m dcgan_tutorial train|sample|evaluate|export ...``. argparse lives here only.

flags -> configs (``run.plan_run``) -> a run, samples or an evaluation -> printed lines. Every
value is checked before any work starts; a bad one ends the command with a one-line error
naming the flag, the value and what is allowed, and exit status 2. Errors are recognised by
their type (``main``), never by their message; a config field is named by the flag that sets
it, read from the parser itself.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .config import DATASETS, LOSSES, PRECISION_CHOICES, ConfigError
from .presets import ALL_PRESETS, DEFAULT_PRESET


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage dump
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _number(kind, test, allowed: str):
    """An argparse type: ``kind(text)`` that passes ``test``, else one line saying what is allowed."""

    def check(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole ' if kind is int else ''}number"
            )
        if not test(value):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not allowed: use {allowed}"
            )
        return value

    check.__name__ = kind.__name__
    return check


def _positive(kind):
    return _number(
        kind, lambda v: 0 < v < float("inf"), "a finite number greater than 0"
    )


_non_negative_int = _number(int, lambda v: v >= 0, "a whole number >= 0")
_unit_interval = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m dcgan_tutorial",
        description="Train a DCGAN and sample from it (see README.md and the book).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    presets = "; ".join(
        f"{p.name}: {p.description}" for p in ALL_PRESETS.values()
    )
    presets = presets.replace("%", "%%")  # argparse formats help with %
    t = sub.add_parser(
        "train",
        help="train a DCGAN, writing a checkpoint, sample grids, curves and a GIF",
        description="Train a DCGAN. Writes RUN_DIR/checkpoint.pt, RUN_DIR/progress/*.png "
        "(fixed-noise grids), RUN_DIR/losses.png, RUN_DIR/training.gif and "
        "RUN_DIR/history.json. Training stops at the first limit reached.",
    )
    t.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help=f"model and training recipe (default {DEFAULT_PRESET}). {presets}",
    )
    t.add_argument(
        "--dataset",
        default=None,
        metavar="NAME",
        help=f"one of {', '.join(DATASETS)} (default: the preset's); grey: mnist, fashion-mnist; colour: the "
        f"others (emoji: drawn offline from a font: apt-get install fonts-noto-color-emoji unicode-data)",
    )
    t.add_argument(
        "--data-root",
        default=None,
        metavar="DIR",
        help="folder holding MNIST/raw, FashionMNIST/raw or cifar-10-batches-py (default: $DCGAN_TUTORIAL_DATA, "
        "else ./data); for folder, the image folder itself (flat, or a subfolder per class, e.g. CelebA's "
        "img_align_celeba); for emoji, one with NotoColorEmoji.ttf and emoji-test.txt if the system has none",
    )
    t.add_argument(
        "--no-download",
        action="store_true",
        help="never try to download missing data",
    )
    t.add_argument(
        "--out",
        required=True,
        metavar="RUN_DIR",
        help="folder for the run's outputs",
    )
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="allow replacing RUN_DIR/checkpoint.pt from an earlier run (default: refuse)",
    )
    t.add_argument(
        "--resume",
        default=None,
        metavar="CHECKPOINT",
        help="continue training from this checkpoint file, or from a run folder's latest "
        "(model and optimiser state, step, RNG, data order)",
    )
    t.add_argument(
        "--steps",
        type=_positive(int),
        help="stop when this many steps in total are done",
    )
    t.add_argument(
        "--epochs",
        type=_positive(float),
        help="stop after this many epochs in total",
    )
    t.add_argument(
        "--time-budget",
        type=_positive(float),
        metavar="SECONDS",
        help="stop after this many seconds of training in this run",
    )
    t.add_argument("--batch-size", type=_positive(int), help="images per step")
    t.add_argument(
        "--lr", type=_positive(float), help="Adam learning rate for both G and D"
    )
    t.add_argument(
        "--lr-g", type=_positive(float), help="G's learning rate (overrides --lr)"
    )
    t.add_argument(
        "--lr-d", type=_positive(float), help="D's learning rate (overrides --lr)"
    )
    t.add_argument(
        "--lr-half-life",
        type=_non_negative_int,
        metavar="STEPS",
        help="halve both learning rates every STEPS steps (0: constant, the default)",
    )
    t.add_argument("--beta1", type=_unit_interval, help="Adam beta1 (paper: 0.5)")
    t.add_argument(
        "--beta2", type=_unit_interval, help="Adam beta2 (paper: 0.999)"
    )
    t.add_argument(
        "--loss",
        choices=LOSSES,
        help="G's loss (default non-saturating); hinge: D's loss too",
    )
    t.add_argument(
        "--nz", type=_positive(int), help="length of the noise vector z"
    )
    t.add_argument("--ngf", type=_positive(int), help="G width")
    t.add_argument("--ndf", type=_positive(int), help="D width")
    t.add_argument(
        "--image-size",
        type=_positive(int),
        help="image size (28, 32, 56, 64, 128, ...)",
    )
    t.add_argument(
        "--batchnorm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--no-batchnorm drops every batchnorm layer (arch dcgan presets only): to see what "
        "batchnorm does",
    )
    tricks = t.add_argument_group(
        "training tricks (all off by default; dcgan_tutorial/tricks/, measured by "
        "benchmarks/tricks.py)"
    )
    tricks.add_argument(
        "--ema-decay",
        type=float,
        metavar="D",
        help="sample from an average of G's weights "
        "with this decay, e.g. 0.999 (0: off)",
    )
    tricks.add_argument(
        "--label-smoothing",
        type=float,
        metavar="S",
        help="D's target for real images is 1 - S, e.g. 0.1 (0: off)",
    )
    tricks.add_argument(
        "--instance-noise",
        type=float,
        metavar="SIGMA",
        help="add noise of std SIGMA to every "
        "image D sees, falling to 0 over --instance-noise-steps (0: off)",
    )
    tricks.add_argument(
        "--instance-noise-steps",
        type=_positive(int),
        metavar="N",
        help="steps over which instance noise falls to 0 (default 2000)",
    )
    tricks.add_argument(
        "--diffaugment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="translate and cut out every image D sees, real and fake (DiffAugment)",
    )
    tricks.add_argument(
        "--r1-gamma",
        type=float,
        metavar="G",
        help="weight of the R1 gradient penalty on real images, e.g. 1 (0: off)",
    )
    tricks.add_argument(
        "--spectral-norm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="spectral normalisation of D's layers",
    )
    tricks.add_argument(
        "--fid-every",
        type=_non_negative_int,
        metavar="N",
        help="measure FID every N steps and "
        "keep the best generator as RUN_DIR/best_generator.pt (MNIST, Fashion-MNIST; 0: off)",
    )
    t.add_argument(
        "--seed", type=_non_negative_int, help="random seed (default 0)"
    )
    t.add_argument(
        "--sample-every",
        type=_positive(int),
        help="keep a fixed-noise grid every N steps",
    )
    t.add_argument(
        "--checkpoint-every",
        type=_positive(int),
        help="write the checkpoint every N steps",
    )
    t.add_argument(
        "--checkpoint-minutes",
        type=_positive(float),
        metavar="M",
        help="and every M minutes (default 5)",
    )
    t.add_argument(
        "--keep",
        type=_non_negative_int,
        default=3,
        metavar="K",
        help="also keep the last K checkpoints in RUN_DIR/checkpoints/ (default 3; 0: only the latest)",
    )
    t.add_argument(
        "--limit",
        type=_positive(int),
        metavar="N",
        help="train on the first N images only",
    )
    t.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where to train; auto picks the GPU when there is one",
    )
    t.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        help="auto (default): 16-bit where native, else fp32",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser(
        "sample",
        help="write images from a trained checkpoint or a shipped generator",
        description="Write N images from a generator as DIR/images/sample_*.png "
        "(grey for MNIST) and DIR/grid.png.",
    )
    _add_generator_source(s)
    s.add_argument(
        "--n",
        type=_positive(int),
        default=64,
        help="number of images (default 64)",
    )
    s.add_argument("--out", required=True, metavar="DIR", help="output folder")
    s.add_argument(
        "--seed", type=_non_negative_int, default=0, help="noise seed (default 0)"
    )
    s.add_argument(
        "--class",
        dest="class_index",
        type=_non_negative_int,
        default=None,
        metavar="K",
        help="draw only class K (a conditional model: cond-mnist or class); default: every class "
        "in turn",
    )
    s.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where to run G",
    )

    e = sub.add_parser(
        "evaluate",
        help="measure a generator: FID, class coverage, class histogram",
        description="Print the FID of N generated images against the 10,000 test images, on the "
        "features of the classifier shipped with the package (works offline), the "
        "number of classes present, the KL divergence from uniform and the class "
        "histogram.",
    )
    _add_generator_source(e)
    e.add_argument(
        "--data-root",
        default=None,
        metavar="DIR",
        help="folder holding MNIST/raw (default: $DCGAN_TUTORIAL_DATA, else ./data)",
    )
    e.add_argument(
        "--no-download",
        action="store_true",
        help="never try to download missing data",
    )
    e.add_argument(
        "--n",
        type=_positive(int),
        default=10_000,
        help="generated images to measure (default 10000)",
    )
    e.add_argument(
        "--seed", type=_non_negative_int, default=0, help="noise seed (default 0)"
    )
    e.add_argument(
        "--inception",
        action="store_true",
        help="also print the standard Inception FID (downloads Inception-v3 weights once: needs a "
        "machine online, e.g. Colab; slow on a CPU)",
    )
    e.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where to run G",
    )

    x = sub.add_parser(
        "export",
        help="write a generator as ONNX (FILE.onnx, FILE.json), to run without PyTorch",
    )
    _add_generator_source(x)
    x.add_argument(
        "--out",
        required=True,
        metavar="FILE.onnx",
        help="the graph; its description goes to FILE.json",
    )
    return parser


def _add_generator_source(parser) -> None:
    from .pretrained import PRETRAINED

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a checkpoint.pt written by train (or its run folder), or a generator file it wrote "
        "beside it: best_generator.pt, ema_generator.pt",
    )
    source.add_argument(
        "--pretrained",
        choices=sorted(PRETRAINED),
        help="a generator shipped with the package (trained on MNIST; see README)",
    )


def _flag_names(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each destination (config field) -> the option strings that set it, from every subcommand."""
    names: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for dest, options in _flag_names(sub).items():
                    names.setdefault(dest, options)
        elif action.option_strings:
            names.setdefault(action.dest, list(action.option_strings))
    return names


def config_message(err: ConfigError) -> str:
    """A ``ConfigError`` as the user typed it: the flag that sets the field, the value, what is allowed."""
    names = _flag_names(build_parser())
    flags = []
    for field in err.field.split("/"):
        options = names.get(field, names.get(f"{field}_index"))
        if options is None:
            # a value no flag sets directly (e.g. a preset's architecture)
            return str(err)
        negated = [o for o in options if o.startswith("--no-")]
        flags.append(negated[0] if err.value is False and negated else options[0])
    if len(flags) == 1 and err.value is False and flags[0].startswith("--no-"):
        return f"{flags[0]} is not allowed: {err.allowed}"
    return f"{'/'.join(flags)} {err.value!r} is not allowed: {err.allowed}"


def _plan(args):
    """The run the flags ask for (``run.plan_run``)."""
    from .run import plan_run

    stop = {
        "steps": args.steps,
        "epochs": args.epochs,
        "time_budget": args.time_budget,
    }
    return plan_run(
        args.preset,
        args.resume,
        model=dict(
            nz=args.nz,
            ngf=args.ngf,
            ndf=args.ndf,
            image_size=args.image_size,
            batchnorm=args.batchnorm,
            spectral_norm=args.spectral_norm,
        ),
        train=dict(
            dataset=args.dataset,
            batch_size=args.batch_size,
            lr_g=args.lr_g or args.lr,
            lr_d=args.lr_d or args.lr,
            lr_half_life=args.lr_half_life,
            beta1=args.beta1,
            beta2=args.beta2,
            loss=args.loss,
            seed=args.seed,
            sample_every=args.sample_every,
            checkpoint_every=args.checkpoint_every,
            checkpoint_minutes=args.checkpoint_minutes,
            ema_decay=args.ema_decay,
            label_smoothing=args.label_smoothing,
            instance_noise=args.instance_noise,
            instance_noise_steps=args.instance_noise_steps,
            diffaugment=args.diffaugment,
            r1_gamma=args.r1_gamma,
            fid_every=args.fid_every,
            precision=args.precision,
        ),
        limits=stop
        if any(v is not None for v in stop.values())
        else None,  # given limits replace the preset's
    )


def _train(args) -> int:
    from . import viz
    from .interrupt import exit_status
    from .run import train_run

    viz.use_headless_backend()
    plan = _plan(args)
    result = train_run(
        plan,
        args.out,
        device=args.device,
        data_root=args.data_root,
        limit=args.limit,
        download=not args.no_download,
        overwrite=args.overwrite,
        keep=args.keep,
        progress=not args.no_progress,
    )
    if result.rank != 0:
        return exit_status(result.state.stop_signal)
    state, folder = result.state, result.folder
    if state.ema is not None:  # the averaged G is the one to sample and evaluate
        print(
            f"EMA generator (sample this one): {folder.ema_generator}", flush=True
        )
    print(
        f"{result.ended}: step {state.step}, epoch {state.epoch}, {result.seconds:.1f} s; wrote {folder.checkpoint}, "
        f"{folder.losses}, {folder.gif}, {folder.progress}/",
        flush=True,
    )
    if result.world_size > 1:
        print(
            f"{result.world_size} ranks hold identical G and D weights: {result.ranks_agree}",
            flush=True,
        )
    return exit_status(state.stop_signal)


def _sample(args) -> int:
    from .device import pick_device
    from .interrupt import exit_status
    from .pretrained import load_generator_source
    from .runfolder import ensure_writable
    from .sample import write_samples

    out = ensure_writable(args.out)
    G, _, what = load_generator_source(
        args.checkpoint, args.pretrained, pick_device(args.device)
    )
    # a batch at a time; Ctrl-C, SIGTERM, SIGHUP stop
    files = write_samples(G, args.n, out, args.seed, args.class_index)
    which = "" if args.class_index is None else f" of class {args.class_index}"
    print(files.describe(f"{which} from {what}"))
    return exit_status(files.stop_signal)


def _evaluate(args) -> int:
    from .device import pick_device
    from .evaluate import evaluation_lines
    from .pretrained import load_generator_source

    device = pick_device(args.device)
    G, dataset, what = load_generator_source(
        args.checkpoint, args.pretrained, device
    )
    print(f"generator: {what}", flush=True)
    for line in evaluation_lines(
        G,
        dataset,
        args.n,
        args.seed,
        args.data_root,
        not args.no_download,
        args.inception,
        device,
    ):
        print(line, flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 training failed, 2 bad input, 143 SIGTERM, 129 SIGHUP).

    Each kind of error the package raises on purpose is one line on stderr; anything else is a
    bug and keeps its traceback.
    """
    import torch

    from .checkpoint import CheckpointError
    from .classifier import ClassifierError
    from .data import DatasetError
    from .device import DeviceUnavailable
    from .export import OnnxUnavailable, export_command
    from .memory import OutOfMemory
    from .metrics import InceptionUnavailable
    from .runfolder import DiskFullError, RunFolderError
    from .train import TrainingDiverged

    try:
        args = build_parser().parse_args(argv)
        return {
            "train": _train,
            "sample": _sample,
            "evaluate": _evaluate,
            "export": lambda a: export_command(a.out, a.checkpoint, a.pretrained),
        }[args.command](args)
    except ConfigError as err:
        print(f"error: {config_message(err)}", file=sys.stderr)
    except (
        UsageError,
        CheckpointError,
        DatasetError,
        ClassifierError,
        InceptionUnavailable,
        DeviceUnavailable,
        RunFolderError,
        OnnxUnavailable,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
    except (
        TrainingDiverged,
        OutOfMemory,
        DiskFullError,
    ) as err:  # the run stopped: one line, exit status 1
        print(f"error: {err}", file=sys.stderr)
        return 1
    except torch.OutOfMemoryError:
        print(
            "error: the device ran out of memory: use a smaller --batch-size or a smaller model "
            "(--ngf/--ndf)",
            file=sys.stderr,
        )
        return 1
    return 2
