"""Typed configuration: the model, the training run, and named presets.

Every default says where it comes from: the DCGAN paper (Radford, Metz, Chintala 2015,
arXiv:1511.06434), one of the seed systems (``shared/reference/seed-systems.md``), or a
measurement made with this package (README, "What we measured").
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, NoReturn, Optional

DATASETS = ("mnist", "fashion-mnist", "cifar10", "folder")
# image channels of each dataset: the model's ``nc`` follows the data it trains on
DATASET_CHANNELS = {"mnist": 1, "fashion-mnist": 1, "cifar10": 3, "folder": 3}
LOSSES = ("non-saturating", "saturating")
# dcgan: the paper's all-convolutional model (models.py); flux, tf, lin: the seed systems'
# variants (architectures.py); class, cond: one pair per class, and a conditional model
# (conditional.py)
ARCHS = ("dcgan", "flux", "tf", "lin", "class", "cond")
ACTIVATIONS = ("relu", "leaky")
D_LOSS_REDUCTIONS = ("sum", "mean")


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
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
    _fail("image_size", image_size, "the model doubles the image from 4x4 or 7x7 in stride-2 "
          f"blocks, so use one of {allowed}")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the generator G and the discriminator D."""

    arch: str = "dcgan"  # the all-convolutional DCGAN of the paper (models.py)
    image_size: int = 64  # paper / PyTorch DCGAN tutorial: 64x64 images
    nc: int = 1  # image channels: 1 for MNIST and Fashion-MNIST (grey), 3 for colour
    nz: int = 100  # length of the noise vector z: paper, and every seed system
    ngf: int = 64  # G width (channels of its last hidden block): PyTorch DCGAN tutorial
    ndf: int = 64  # D width (channels of its first block): PyTorch DCGAN tutorial
    leaky_slope: float = 0.2  # LeakyReLU slope in D: paper, section 3
    g_activation: str = "relu"  # paper: ReLU in G; the MNIST trainer seed uses LeakyReLU ("leaky")
    d_input_bn: bool = False  # paper: no batchnorm on D's input; the PyTorch seed puts it after every layer
    d_dropout: tuple[float, ...] = ()  # dropout after each of D's hidden blocks (flux: 0.25, 0.25)
    g_dense_bias: bool = True  # flux: whether G's first dense layer has a bias (its tutorial has none)
    n_classes: int = 0  # 0: unconditional; 10: a class-conditional model (arch cond or class)
    batchnorm: bool = True  # paper: batchnorm in G and D; False (arch dcgan only) shows what it is for

    @property
    def conditional(self) -> bool:
        """G and D take class labels as well (``G(z, labels)``, ``D(images, labels)``)."""
        return self.n_classes > 0

    def validate(self) -> "ModelConfig":
        if self.arch not in ARCHS:
            _fail("arch", self.arch, f"choose one of {', '.join(ARCHS)}")
        if self.g_activation not in ACTIVATIONS:
            _fail("g_activation", self.g_activation, f"choose one of {', '.join(ACTIVATIONS)}")
        if self.arch in ("class", "cond"):
            if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, int) or self.n_classes < 2:
                _fail("n_classes", self.n_classes, f"arch {self.arch!r} needs the number of classes (>= 2)")
        elif self.n_classes != 0:
            _fail("n_classes", self.n_classes, f"arch {self.arch!r} is unconditional: use 0, or arch cond/class")
        if not self.batchnorm and self.arch != "dcgan":
            _fail("batchnorm", self.batchnorm, "only arch 'dcgan' can drop its batchnorm layers")
        if any(isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1 for p in self.d_dropout):
            _fail("d_dropout", self.d_dropout, "use dropout probabilities in [0, 1)")
        for name in ("image_size", "nc", "nz", "ngf", "ndf"):
            _positive_int(name, getattr(self, name))
        if self.nc not in (1, 3):
            _fail("nc", self.nc, "use 1 (grey images) or 3 (colour images)")
        upsampling_plan(self.image_size)
        if not 0 <= self.leaky_slope < 1:
            _fail("leaky_slope", self.leaky_slope, "use a number in [0, 1)")
        return self


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, loss, when to stop, how often to look."""

    dataset: str = "mnist"  # the data every seed system starts from
    batch_size: int = 128  # paper, section 4: mini-batches of 128
    lr_g: float = 2e-4  # paper: Adam learning rate 0.0002 (0.001 was too high)
    lr_d: float = 2e-4  # paper: the same rate for D
    beta1: float = 0.5  # paper: beta1 = 0.5; the default 0.9 made training oscillate
    beta2: float = 0.999  # Adam's default, kept by the paper and every seed system
    loss: str = "non-saturating"  # Goodfellow et al. 2014, section 3: strong gradients early on
    d_loss_reduction: str = "sum"  # D's loss: real + fake (paper, most seeds) or their mean (flux package)
    steps: Optional[int] = None  # stop after this many steps in total (None: no step limit)
    epochs: Optional[float] = 5  # PyTorch DCGAN tutorial: num_epochs = 5
    time_budget: Optional[float] = None  # stop after this many seconds of this run (None: no limit)
    seed: int = 0  # seeds G, D, the noise and the data order: same seed, same run on the CPU
    n_fixed: int = 64  # fixed-noise samples watched during training: an 8x8 grid
    sample_every: int = 200  # keep a fixed-noise grid every this many steps (about 20 grids in 3 min on a CPU)
    log_every: int = 20  # read losses back from the device every this many steps (one sync each)
    checkpoint_every: int = 1000  # write the checkpoint every this many steps, and at the end
    fast: bool = True  # the device's fastest settings (speed.py); False: the plain fp32 path
    compile: bool = False  # torch.compile G and D: pays off on a GPU, its compile time does not on a CPU

    def validate(self) -> "TrainConfig":
        if self.dataset not in DATASETS:
            _fail("dataset", self.dataset, f"choose one of {', '.join(DATASETS)}")
        if self.loss not in LOSSES:
            _fail("loss", self.loss, f"choose one of {', '.join(LOSSES)}")
        if self.d_loss_reduction not in D_LOSS_REDUCTIONS:
            _fail("d_loss_reduction", self.d_loss_reduction, f"choose one of {', '.join(D_LOSS_REDUCTIONS)}")
        for name in ("batch_size", "n_fixed", "sample_every", "log_every", "checkpoint_every"):
            _positive_int(name, getattr(self, name))
        for name in ("lr_g", "lr_d"):
            _positive_float(name, getattr(self, name))
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                _fail(name, value, "use a number in [0, 1)")
        if self.steps is not None:
            _positive_int("steps", self.steps)
        if self.epochs is not None:
            _positive_float("epochs", self.epochs)
        if self.time_budget is not None:
            _positive_float("time_budget", self.time_budget)
        if self.steps is None and self.epochs is None and self.time_budget is None:
            _fail("steps/epochs/time_budget", None, "set at least one of them so training can stop")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            _fail("seed", self.seed, "use a whole number >= 0")
        return self


@dataclass(frozen=True)
class Preset:
    """A named model + training recipe, selectable with ``--preset``."""

    name: str
    description: str
    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)


# The CPU-sized default: the paper's rules at MNIST's own 28x28, narrow enough to train to
# recognisable digits in 3 minutes on 2 CPU cores. Measured with benchmarks/cpu_quality.py
# (benchmarks/results/cpu_quality*.json/txt): FID on the shipped classifier's features after a
# 3-minute budget, 10,000 samples against the MNIST test set (lower is better):
#   this recipe 187 (7,638 steps), the same with lr_g = 2e-4: 229 (7,507 steps),
#   the tutorial-style 64/64 model at batch 128: 339 (1,388 steps).
MNIST28 = Preset(
    name="mnist28",
    description="DCGAN at 28x28 sized for a CPU: G 7x7 -> 14x14 -> 28x28, D mirrored (default)",
    model=ModelConfig(
        image_size=28,  # MNIST's own size: no resizing, 5x fewer pixels than 64x64
        ngf=32,  # measured: with batch 64, 42.4 steps/s against 7.7 for ngf = ndf = 64 at batch 128
        ndf=32,  # measured together with ngf (the recipes above change width and batch together)
    ),
    train=TrainConfig(
        batch_size=64,  # measured: more, smaller steps beat batch 128 within a 3-minute budget
        lr_g=5e-4,  # measured: FID 187 vs 229 with the paper's 2e-4 after 3 minutes
        lr_d=2e-4,  # paper
    ),
)

# The paper / PyTorch DCGAN tutorial architecture: 64x64, 5 transposed convolutions,
# ngf = ndf = 64, BN everywhere except G's output and D's input.
PAPER64 = Preset(
    name="paper64",
    description="the DCGAN paper / PyTorch tutorial model at 64x64 (ngf = ndf = 64); for a GPU",
    model=ModelConfig(image_size=64, ngf=64, ndf=64),
    train=TrainConfig(),
)

# The seed systems (shared/reference/seed-systems.md), one preset each. Where a write-up is
# silent (a width, a batch size), the paper's value is used and the comment says so.

# 1. The Julia/Flux DCGAN package: dense projection to 7x7x256, transposed convs 5x5 s1 then
# 4x4 s2 twice; D two strided convs + LeakyReLU + Dropout(0.25), a dense logit, no batchnorm.
FLUX_MNIST = Preset(
    name="flux-mnist",
    description="Julia/Flux package: dense to 7x7x256, 5x5 s1 + two 4x4 s2 transposed convs; "
                "D 2 convs + dropout 0.25, dense logit; D loss the mean of real and fake",
    model=ModelConfig(arch="flux", image_size=28, ngf=64, ndf=64,  # 7x7x(4 ngf) = 7x7x256, D 64 -> 128
                      leaky_slope=0.2,  # the write-up names LeakyReLU without a slope: the paper's
                      d_dropout=(0.25, 0.25)),
    train=TrainConfig(batch_size=128,  # not given by the write-up: the paper's
                      lr_g=2e-4, lr_d=2e-4, d_loss_reduction="mean", epochs=5),
)

# 2. The Flux beginner tutorial of the same model: no bias in G's dense layer, LeakyReLU 0.3,
# Dropout 0.3 then 0.25, D loss a sum, batch 128, latent 100, 20 epochs, a 6x6 grid.
FLUX_TUTORIAL = Preset(
    name="flux-tutorial",
    description="Flux beginner tutorial: flux-mnist without G's dense bias, LeakyReLU 0.3, dropout 0.3 "
                "then 0.25, D loss real + fake; batch 128, 20 epochs, 6x6 grid",
    model=ModelConfig(arch="flux", image_size=28, ngf=64, ndf=64, leaky_slope=0.3, d_dropout=(0.3, 0.25),
                      g_dense_bias=False),
    train=TrainConfig(batch_size=128, lr_g=2e-4, lr_d=2e-4, d_loss_reduction="sum", epochs=20, n_fixed=36),
)

# 3. The TensorFlow model for MNIST resized to 64x64: dense to 4x4x1024, four 5x5 stride-2
# transposed convs 1024-512-256-128-1; D four 5x5 stride-2 convs 64-128-256-512, dense logit.
TF_MNIST64 = Preset(
    name="tf-mnist64",
    description="TensorFlow DCGAN for MNIST at 64x64: dense to 4x4x1024, four 5x5 s2 transposed convs; "
                "D four 5x5 s2 convs 64-512 and a dense logit (python main.py --n_epoch 100)",
    model=ModelConfig(arch="tf", image_size=64, ngf=128, ndf=64),  # 4x4x(8 ngf) = 4x4x1024
    train=TrainConfig(batch_size=128, epochs=100),  # its --n_epoch 100 run; batch not given: the paper's
)

# 4. The MNIST trainer that ships a trained model: the paper's rules, but LeakyReLU in G as
# well and the minimax (saturating) G loss it writes down.
TRAINER_MNIST = Preset(
    name="trainer-mnist",
    description="MNIST trainer: the paper's DCGAN at 28x28 with LeakyReLU(0.2) in G too and the saturating "
                "minimax G loss log(1 - D(G(z)))",
    model=ModelConfig(image_size=28, ngf=64, ndf=64, g_activation="leaky"),
    train=TrainConfig(loss="saturating", batch_size=128),
)

# 5. The PyTorch seed for CIFAR-10, MNIST and CelebA: convDCGAN, linDCGAN and classDCGAN,
# with 4x4 kernels, stride 2, padding 1, BN after each layer, LeakyReLU 0.1 in D, batch 128.
CONV = Preset(
    name="conv",
    description="PyTorch seed convDCGAN: 5 transposed convs in G, 5 convs in D at 64x64 (4 at 32x32), "
                "4x4 s2 p1, BN after every layer including D's first, LeakyReLU 0.1; for CIFAR-10",
    model=ModelConfig(image_size=64, nc=3, ngf=64, ndf=64, leaky_slope=0.1, d_input_bn=True),
    train=TrainConfig(dataset="cifar10", batch_size=128, epochs=25),
)
LIN = Preset(
    name="lin",
    description="PyTorch seed linDCGAN: D 4 convs + a linear logit; G 3 transposed convs + 1 conv; "
                "32x32 for CIFAR-10 (64x64 adds a block to each)",
    model=ModelConfig(arch="lin", image_size=32, nc=3, ngf=64, ndf=64, leaky_slope=0.1, d_input_bn=True),
    train=TrainConfig(dataset="cifar10", batch_size=128, epochs=25),
)
CLASS = Preset(
    name="class",
    description="PyTorch seed classDCGAN: one G/D pair per class (10 for CIFAR-10), each a DCGAN; "
                "sampling a class uses that class's generator",
    model=ModelConfig(arch="class", image_size=32, nc=3, ngf=32, ndf=32, leaky_slope=0.1, n_classes=10),
    # batch 640: each pair sees about 64 images of its class per step (the seed trains each pair
    # on its class alone with batch 128; 64 keeps a step affordable on a CPU). The seed's 2e-4 for
    # both players: on MNIST, measured in the book's conditional chapter, 6 of the 10 pairs lost
    # their game within 2 minutes with it, and none with cond-mnist's lr_g 5e-4 (--lr-g 5e-4).
    train=TrainConfig(dataset="cifar10", batch_size=640, epochs=25),
)

# A conditional DCGAN (Mirza & Osindero 2014 on the DCGAN of this package): G gets the class
# as a one-hot vector next to z, D as one-hot planes next to the image's channels. Sized and
# tuned like mnist28 so it trains on a CPU in minutes.
COND_MNIST = Preset(
    name="cond-mnist",
    description="conditional DCGAN at 28x28: the class goes into G (one-hot next to z) and D (one-hot "
                "planes next to the image); sample a digit with --class K",
    model=ModelConfig(arch="cond", image_size=28, ngf=32, ndf=32, n_classes=10),
    train=TrainConfig(batch_size=64, lr_g=5e-4, lr_d=2e-4, n_fixed=100),  # as mnist28; a 10x10 grid, a row per class
)

PRESETS: dict[str, Preset] = {p.name: p for p in (MNIST28, PAPER64, FLUX_MNIST, FLUX_TUTORIAL, TF_MNIST64,
                                                  TRAINER_MNIST, CONV, LIN, CLASS, COND_MNIST)}
DEFAULT_PRESET = MNIST28.name


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a clear error lists the known ones."""
    if name not in PRESETS:
        _fail("preset", name, f"choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def config_to_dict(config: ModelConfig | TrainConfig) -> dict[str, Any]:
    """A plain dict (ints, floats, strings, None) that a checkpoint can hold."""
    return asdict(config)


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from ``config_to_dict``; unknown keys are an error."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        _fail(f"{cls.__name__} field(s)", unknown, "the file was written by another version of dcgan_tutorial")
    return cls(**data)


def with_overrides(config: Any, **overrides: Any) -> Any:
    """A copy of ``config`` with the given fields replaced (``None`` values are ignored)."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
