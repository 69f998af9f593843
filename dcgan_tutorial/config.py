"""Typed configuration: the model (``ModelConfig``) and the training run (``TrainConfig``).

Every default says where it comes from: the DCGAN paper (Radford, Metz, Chintala 2015,
arXiv:1511.06434), one of the seed systems this project grows from (the Julia/Flux DCGAN
package and tutorial, the TensorFlow MNIST model, the MNIST trainer, the PyTorch seed for
CIFAR-10), or a measurement made with this package (``benchmarks/README.md`` gives each
with the command that measured it). The named recipes are in ``presets.py``. ``ConfigError``
is the package's one error for a bad value: it names the field, the value and what is
allowed, and the CLI maps the field to its flag.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, NoReturn, Optional

DATASETS = ("mnist", "fashion-mnist", "cifar10", "folder", "emoji")
# image channels of each dataset: the model's ``nc`` follows the data it trains on
DATASET_CHANNELS = {
    "mnist": 1,
    "fashion-mnist": 1,
    "cifar10": 3,
    "folder": 3,
    "emoji": 3,
}
LOSSES = (
    "non-saturating",
    "saturating",
    "hinge",
)  # hinge: D and G both use the hinge loss
ACTIVATIONS = ("relu", "leaky")
D_LOSS_REDUCTIONS = ("sum", "mean")
PRECISIONS = (
    "fp32",
    "bf16",
    "fp16",
)  # the autocast of a step (device.py); fp16 with loss scaling
# TrainConfig.precision; "auto": by hardware (device.py)
PRECISION_CHOICES = (
    "auto",
    *PRECISIONS,
)


class ConfigError(ValueError):
    """A configuration value is not allowed. The message names the field, the value and the fix."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed: {allowed}")


def _fail(name: str, value: Any, allowed: str) -> NoReturn:
    raise ConfigError(name, value, allowed)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _fail(name, value, "use a whole number greater than 0")


def _positive_float(name: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        _fail(name, value, "use a finite number greater than 0")


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """Split ``image_size`` into ``base * 2**n_up``: G starts at ``base x base`` and doubles ``n_up`` times.

    DCGAN grows the image with stride-2 blocks, so only sizes of the form 4*2^k (the paper's
    4x4 start: 32, 64, 128) or 7*2^k (MNIST's 28 = 7*4) with k >= 2 can be made.
    """
    for base in (4, 7):
        size, n_up = image_size, 0
        while size > base and size % 2 == 0:
            size, n_up = size // 2, n_up + 1
        if size == base and n_up >= 2:
            return base, n_up
    allowed = sorted(b * 2**k for b in (4, 7) for k in range(2, 7))
    _fail(
        "image_size",
        image_size,
        "the model doubles the image from 4x4 or 7x7 in stride-2 "
        f"blocks, so use one of {allowed}",
    )


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the generator G and the discriminator D."""

    arch: str = "dcgan"  # the all-convolutional DCGAN of the paper; models.ARCHITECTURES lists the others
    # (what each arch allows, e.g. class labels or no batchnorm, is checked where it is built)
    image_size: int = 64  # paper / PyTorch DCGAN tutorial: 64x64 images
    # image channels: 1 for MNIST and Fashion-MNIST (grey), 3 for colour
    nc: int = 1
    nz: int = 100  # length of the noise vector z: paper, and every seed system
    # G width (channels of its last hidden block): PyTorch DCGAN tutorial
    ngf: int = 64
    ndf: int = 64  # D width (channels of its first block): PyTorch DCGAN tutorial
    leaky_slope: float = 0.2  # LeakyReLU slope in D: paper, section 3
    g_activation: str = "relu"  # paper: ReLU in G; the MNIST trainer seed uses LeakyReLU ("leaky")
    d_input_bn: bool = False  # paper: no batchnorm on D's input; the PyTorch seed puts it after every layer
    d_dropout: tuple[
        float, ...
    ] = ()  # dropout after each of D's hidden blocks (flux: 0.25, 0.25)
    g_dense_bias: bool = True  # flux: whether G's first dense layer has a bias (its tutorial has none)
    # 0: unconditional; 10: a class-conditional model (arch cond or class)
    n_classes: int = 0
    batchnorm: bool = True  # paper: batchnorm in G and D; False (arch dcgan only) shows what it is for
    spectral_norm: bool = False  # spectral norm on D's layers (Miyato et al. 2018, tricks/spectral.py): not
    # in the paper; on by default only if it earns it (benchmarks/tricks.py)

    @property
    def conditional(self) -> bool:
        """G and D take class labels as well (``G(z, labels)``, ``D(images, labels)``)."""
        return self.n_classes > 0

    def __post_init__(
        self,
    ):  # the one check of a config: one that exists is valid
        self.validate()

    def validate(self) -> "ModelConfig":
        """Every value allowed, or a ``ConfigError`` naming the first that is not; returns the config."""
        if self.g_activation not in ACTIVATIONS:
            _fail(
                "g_activation",
                self.g_activation,
                f"choose one of {', '.join(ACTIVATIONS)}",
            )
        if (
            isinstance(self.n_classes, bool)
            or not isinstance(self.n_classes, int)
            or self.n_classes < 0
        ):
            _fail(
                "n_classes",
                self.n_classes,
                "use 0 (unconditional) or the number of classes",
            )
        if any(
            isinstance(p, bool)
            or not isinstance(p, (int, float))
            or not 0 <= p < 1
            for p in self.d_dropout
        ):
            _fail(
                "d_dropout", self.d_dropout, "use dropout probabilities in [0, 1)"
            )
        for name in ("image_size", "nc", "nz", "ngf", "ndf"):
            _positive_int(name, getattr(self, name))
        if self.nc not in (1, 3):
            _fail("nc", self.nc, "use 1 (grey images) or 3 (colour images)")
        upsampling_plan(self.image_size)
        if not 0 <= self.leaky_slope < 1:
            _fail("leaky_slope", self.leaky_slope, "use a number in [0, 1)")
        if not isinstance(self.spectral_norm, bool):
            _fail("spectral_norm", self.spectral_norm, "use True or False")
        return self


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, loss, when to stop, how often to look."""

    dataset: str = "mnist"  # the data every seed system starts from
    batch_size: int = 128  # paper, section 4: mini-batches of 128
    lr_g: float = 2e-4  # paper: Adam learning rate 0.0002 (0.001 was too high)
    lr_d: float = 2e-4  # paper: the same rate for D
    # 0: constant rates (the paper); else both halve every this many steps:
    # lr at step s = lr * 0.5 ** (s / lr_half_life), a function of the step alone
    lr_half_life: int = 0
    # paper: beta1 = 0.5; the default 0.9 made training oscillate
    beta1: float = 0.5
    # Adam's default, kept by the paper and every seed system
    beta2: float = 0.999
    loss: str = "non-saturating"  # Goodfellow et al. 2014, section 3: strong gradients early on
    d_loss_reduction: str = "sum"  # D's loss: real + fake (paper, most seeds) or their mean (flux package)
    # stop after this many steps in total (None: no step limit)
    steps: Optional[int] = None
    epochs: Optional[float] = 5  # PyTorch DCGAN tutorial: num_epochs = 5
    # stop after this many seconds of this run (None: no limit)
    time_budget: Optional[float] = None
    seed: int = 0  # seeds G, D, the noise and the data order: same seed, same run on the CPU
    n_fixed: int = 64  # fixed-noise samples watched during training: an 8x8 grid
    sample_every: int = 200  # keep a fixed-noise grid every this many steps (about 20 grids in 3 min on a CPU)
    log_every: int = 20  # read losses back from the device every this many steps (one sync each)
    # write the checkpoint every this many steps, and at the end
    checkpoint_every: int = 1000
    # and every this many minutes (None: by steps only), the first after one minute: paper64 on a CPU
    # does 1,000 steps in about 25 minutes, so a crash or a closed laptop loses at most 5 minutes
    checkpoint_minutes: Optional[float] = 5
    fast: bool = True  # the device's fastest settings (device.py); False: the plain fp32 path
    compile: bool = False  # torch.compile G and D: pays off on a GPU, its compile time does not on a CPU
    # "auto": the 16-bit autocast this hardware runs natively (device.py), else fp32; or choose
    # "fp32", "bf16" or "fp16" (fp16 with loss scaling: CUDA GPUs only)
    precision: str = "auto"
    # Training tricks (tricks/), all off: none is in the paper, and each is on by default only if it
    # earns its place by measurement (benchmarks/tricks.py, benchmarks/results/tricks_cpu.txt).
    ema_decay: float = 0.0  # 0: off; else G's weights averaged with this decay (Yazici et al. 2019: 0.999)
    # 0: off; 0.1 makes D's target for reals 0.9 (Salimans et al. 2016)
    label_smoothing: float = 0.0
    # 0: off; else the std of noise added to D's inputs at step 0
    instance_noise: float = 0.0
    # the noise falls linearly to 0 over this many steps
    instance_noise_steps: int = 2000
    # translation + cutout of every image D sees (Zhao et al. 2020)
    diffaugment: bool = False
    r1_gamma: float = 0.0  # 0: off; else the weight of the R1 penalty on reals (Mescheder et al. 2018)
    fid_every: int = 0  # 0: off; else measure FID every this many steps and keep the best G in the run folder

    def __post_init__(
        self,
    ):  # the one check of a config: one that exists is valid
        self.validate()

    def validate(self) -> "TrainConfig":
        """Every value allowed, or a ``ConfigError`` naming the first that is not; returns the config."""
        if self.dataset not in DATASETS:
            _fail("dataset", self.dataset, f"choose one of {', '.join(DATASETS)}")
        if self.loss not in LOSSES:
            _fail("loss", self.loss, f"choose one of {', '.join(LOSSES)}")
        if self.d_loss_reduction not in D_LOSS_REDUCTIONS:
            _fail(
                "d_loss_reduction",
                self.d_loss_reduction,
                f"choose one of {', '.join(D_LOSS_REDUCTIONS)}",
            )
        for name in (
            "batch_size",
            "n_fixed",
            "sample_every",
            "log_every",
            "checkpoint_every",
        ):
            _positive_int(name, getattr(self, name))
        for name in ("lr_g", "lr_d"):
            _positive_float(name, getattr(self, name))
        if (
            isinstance(self.lr_half_life, bool)
            or not isinstance(self.lr_half_life, int)
            or self.lr_half_life < 0
        ):
            _fail(
                "lr_half_life",
                self.lr_half_life,
                "use 0 (off) or a positive number of steps",
            )
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < 1
            ):
                _fail(name, value, "use a number in [0, 1)")
        if self.steps is not None:
            _positive_int("steps", self.steps)
        if self.epochs is not None:
            _positive_float("epochs", self.epochs)
        if self.time_budget is not None:
            _positive_float("time_budget", self.time_budget)
        if self.checkpoint_minutes is not None:
            _positive_float("checkpoint_minutes", self.checkpoint_minutes)
        if self.precision not in PRECISION_CHOICES:
            _fail(
                "precision",
                self.precision,
                f"choose one of {', '.join(PRECISION_CHOICES)}",
            )
        if (
            self.steps is None
            and self.epochs is None
            and self.time_budget is None
        ):
            _fail(
                "steps/epochs/time_budget",
                None,
                "set at least one of them so training can stop",
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or self.seed < 0
        ):
            _fail("seed", self.seed, "use a whole number >= 0")
        self._validate_tricks()
        return self

    def _validate_tricks(self) -> None:
        decay = self.ema_decay
        if (
            isinstance(decay, bool)
            or not isinstance(decay, (int, float))
            or not 0 <= decay < 1
        ):
            _fail(
                "ema_decay", decay, "use 0 (off) or a decay in (0, 1), e.g. 0.999"
            )
        smoothing = self.label_smoothing
        if (
            isinstance(smoothing, bool)
            or not isinstance(smoothing, (int, float))
            or not 0 <= smoothing < 0.5
        ):
            _fail(
                "label_smoothing",
                smoothing,
                "use 0 (off) or a number below 0.5, e.g. 0.1 (real target 0.9)",
            )
        if (
            smoothing and self.loss == "hinge"
        ):  # the hinge loss has no target to smooth
            _fail(
                "label_smoothing",
                smoothing,
                "label smoothing changes the BCE losses' target for reals, and the hinge loss has "
                "none: use 0 with loss 'hinge', or a BCE loss ('non-saturating', 'saturating')",
            )
        for name in ("instance_noise", "r1_gamma"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                _fail(
                    name, value, "use 0 (off) or a finite number greater than 0"
                )
        _positive_int("instance_noise_steps", self.instance_noise_steps)
        if not isinstance(self.diffaugment, bool):
            _fail("diffaugment", self.diffaugment, "use True or False")
        if (
            isinstance(self.fid_every, bool)
            or not isinstance(self.fid_every, int)
            or self.fid_every < 0
        ):
            _fail(
                "fid_every",
                self.fid_every,
                "use 0 (off) or a whole number of steps",
            )


def config_to_dict(config: ModelConfig | TrainConfig) -> dict[str, Any]:
    """A plain dict (ints, floats, strings, None) that a checkpoint can hold."""
    return asdict(config)


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from ``config_to_dict``; unknown keys are an error."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        _fail(
            f"{cls.__name__} field(s)",
            unknown,
            "the file was written by another version of dcgan_tutorial",
        )
    return cls(**data)


def with_overrides(config: Any, **overrides: Any) -> Any:
    """A copy of ``config`` with the given fields replaced (``None`` values are ignored)."""
    return replace(
        config, **{k: v for k, v in overrides.items() if v is not None}
    )
