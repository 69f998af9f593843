"""Named recipes: a model and a training config for each seed system, and the CPU default.

``--preset NAME`` picks one; ``get_preset`` looks one up. Every value that differs from the
paper's says where it comes from: a seed system's write-up, or a measurement
(``benchmarks/README.md``, where every measured figure is given with its command).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import ConfigError, ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named model + training recipe, selectable with ``--preset``."""

    name: str
    description: str
    model: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)


# The book's CPU model: the paper's rules at MNIST's own 28x28, narrow enough to train to
# recognisable digits in 3 minutes on 2 CPU cores. Measured with benchmarks/cpu_quality.py
# (benchmarks/results/cpu_quality*.json/txt): FID on the shipped classifier's features after a
# 3-minute budget, 10,000 samples against the MNIST test set (lower is better):
#   this recipe 187 (7,638 steps), the same with lr_g = 2e-4: 229 (7,507 steps),
#   the tutorial-style 64/64 model at batch 128: 339 (1,388 steps).
MNIST28 = Preset(
    name="mnist28",
    description="DCGAN at 28x28 sized for a CPU: G 7x7 -> 14x14 -> 28x28, D mirrored (the book's CPU model)",
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

# The default of the command line: the recipe an Optuna search (TPE with median pruning) found best
# for 3 minutes of CPU training, each trial trained for the steps its speed allows in 180 s of
# the 2-core AMD EPYC, then confirmed over 3 seeds against mnist28 with Welch's t test on the
# test-set FID (benchmarks/recipe_search.py; benchmarks/results/recipe_search.json and
# recipe_confirm.txt). The book teaches mnist28, the paper's rules at 28x28; this recipe is
# mnist28's architecture, narrower, with several of chapter 12's tricks together (hinge loss, R1,
# an EMA of G), a smaller z, faster learning rates and Adam moments: measured, not the paper's.
MNIST28_TUNED = Preset(
    name="mnist28-tuned",
    description="mnist28's architecture with the recipe found by search for a 3-minute CPU run: "
    "ngf 24, ndf 16, nz 32, hinge loss, R1, EMA of G, lr_D above lr_G (default)",
    model=ModelConfig(image_size=28, ngf=24, ndf=16, nz=32),
    train=TrainConfig(
        batch_size=64,
        lr_g=6.49e-4,
        lr_d=1.81e-3,
        beta1=0.0,
        beta2=0.99,
        loss="hinge",
        ema_decay=0.999,
        r1_gamma=1.0,
    ),
)

# The paper's 64x64 architecture as the PyTorch DCGAN tutorial builds it: 5 transposed
# convolutions, BN everywhere except G's output and D's input, at half the paper's width:
# ngf = ndf = 64, so G starts at 4x4x512 where the paper's Figure 1 starts at 4x4x1024.
PAPER64 = Preset(
    name="paper64",
    description="the DCGAN paper / PyTorch tutorial model at 64x64 (ngf = ndf = 64); for a GPU",
    model=ModelConfig(image_size=64, ngf=64, ndf=64),
    train=TrainConfig(),
)

# The seed systems, one preset each. Where a write-up is
# silent (a width, a batch size), the paper's value is used and the comment says so.

# 1. The Julia/Flux DCGAN package: dense projection to 7x7x256, transposed convs 5x5 s1 then
# 4x4 s2 twice; D two strided convs + LeakyReLU + Dropout(0.25), a dense logit, no batchnorm.
FLUX_MNIST = Preset(
    name="flux-mnist",
    description="Julia/Flux package: dense to 7x7x256, 5x5 s1 + two 4x4 s2 transposed convs; "
    "D 2 convs + dropout 0.25, dense logit; D loss the mean of real and fake",
    model=ModelConfig(
        arch="flux",
        image_size=28,
        ngf=64,
        ndf=64,  # 7x7x(4 ngf) = 7x7x256, D 64 -> 128
        leaky_slope=0.2,  # the write-up names LeakyReLU without a slope: the paper's
        d_dropout=(0.25, 0.25),
    ),
    train=TrainConfig(
        batch_size=128,  # not given by the write-up: the paper's
        lr_g=2e-4,
        lr_d=2e-4,
        d_loss_reduction="mean",
        epochs=5,
    ),
)

# 2. The Flux beginner tutorial of the same model: no bias in G's dense layer, LeakyReLU 0.3,
# Dropout 0.3 then 0.25, D loss a sum, batch 128, latent 100, 20 epochs, a 6x6 grid.
FLUX_TUTORIAL = Preset(
    name="flux-tutorial",
    description="Flux beginner tutorial: flux-mnist without G's dense bias, LeakyReLU 0.3, dropout 0.3 "
    "then 0.25, D loss real + fake; batch 128, 20 epochs, 6x6 grid",
    model=ModelConfig(
        arch="flux",
        image_size=28,
        ngf=64,
        ndf=64,
        leaky_slope=0.3,
        d_dropout=(0.3, 0.25),
        g_dense_bias=False,
    ),
    train=TrainConfig(
        batch_size=128,
        lr_g=2e-4,
        lr_d=2e-4,
        d_loss_reduction="sum",
        epochs=20,
        n_fixed=36,
    ),
)

# 3. The TensorFlow model for MNIST resized to 64x64: dense to 4x4x1024, four 5x5 stride-2
# transposed convs 1024-512-256-128-1; D four 5x5 stride-2 convs 64-128-256-512, dense logit.
TF_MNIST64 = Preset(
    name="tf-mnist64",
    description="TensorFlow DCGAN for MNIST at 64x64: dense to 4x4x1024, four 5x5 s2 transposed convs; "
    "D four 5x5 s2 convs 64-512 and a dense logit (python main.py --n_epoch 100)",
    model=ModelConfig(
        arch="tf", image_size=64, ngf=128, ndf=64
    ),  # 4x4x(8 ngf) = 4x4x1024
    train=TrainConfig(
        batch_size=128, epochs=100
    ),  # its --n_epoch 100 run; batch not given: the paper's
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
    model=ModelConfig(
        image_size=64, nc=3, ngf=64, ndf=64, leaky_slope=0.1, d_input_bn=True
    ),
    train=TrainConfig(dataset="cifar10", batch_size=128, epochs=25),
)
LIN = Preset(
    name="lin",
    description="PyTorch seed linDCGAN: D 4 convs + a linear logit; G 3 transposed convs + 1 conv; "
    "32x32 for CIFAR-10 (64x64 adds a block to each)",
    model=ModelConfig(
        arch="lin",
        image_size=32,
        nc=3,
        ngf=64,
        ndf=64,
        leaky_slope=0.1,
        d_input_bn=True,
    ),
    train=TrainConfig(dataset="cifar10", batch_size=128, epochs=25),
)
CLASS = Preset(
    name="class",
    description="PyTorch seed classDCGAN: one G/D pair per class (10 for CIFAR-10), each a DCGAN; "
    "sampling a class uses that class's generator",
    model=ModelConfig(
        arch="class",
        image_size=32,
        nc=3,
        ngf=32,
        ndf=32,
        leaky_slope=0.1,
        n_classes=10,
    ),
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
    train=TrainConfig(
        batch_size=64, lr_g=5e-4, lr_d=2e-4, n_fixed=100
    ),  # as mnist28; a 10x10 grid, a row per class
)

# Small colour data: the 1,243 training emoji drawn from the installed font (data/emoji.py), at 32x32,
# conditioned on the Unicode group. Chosen with benchmarks/emoji_tricks.py (benchmarks/results/
# emoji_tricks.txt, chapter 13): each trick alone on the 32x32 colour DCGAN, three seeds, Welch's t test.
EMOJI32 = Preset(
    name="emoji32",
    description="conditional colour DCGAN at 32x32 for the emoji (1,243 images, 9 Unicode groups): G 4x4 -> "
    "32x32, ngf = ndf = 32, EMA of G; sample a group with --class K",
    model=ModelConfig(
        arch="cond",
        image_size=32,
        nc=3,
        ngf=32,
        ndf=32,  # as mnist28's width: see VARIANTS "wide"
        n_classes=9,
    ),  # the 9 Unicode groups: G can be asked for a face or a vehicle
    train=TrainConfig(
        dataset="emoji",
        batch_size=64,
        lr_g=5e-4,
        lr_d=2e-4,  # mnist28's recipe
        ema_decay=0.999,  # costs nothing in training; measured with every run of the benchmark
        epochs=400,  # 7,600 steps: D sees each emoji 400 times (the stored run: chapter 13)
        n_fixed=81,
        sample_every=250,
    ),  # a 9x9 grid, a row per group
)

# the write-ups' recipes and the MNIST defaults, which chapter 9 compares side by side
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        MNIST28,
        PAPER64,
        FLUX_MNIST,
        FLUX_TUTORIAL,
        TF_MNIST64,
        TRAINER_MNIST,
        CONV,
        LIN,
        CLASS,
        COND_MNIST,
    )
}
# every preset --preset accepts: those, and the recipes made for other data (chapter 13)
ALL_PRESETS: dict[str, Preset] = {
    **PRESETS,
    MNIST28_TUNED.name: MNIST28_TUNED,
    EMOJI32.name: EMOJI32,
}
# what `train` uses without --preset: the best 3-minute recipe (the book names its presets)
DEFAULT_PRESET = MNIST28_TUNED.name


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a clear error lists the known ones."""
    if name not in ALL_PRESETS:
        raise ConfigError(
            "preset", name, f"choose one of {', '.join(ALL_PRESETS)}"
        )
    return ALL_PRESETS[name]
