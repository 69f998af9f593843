"""dcgan_tutorial: Deep Convolutional GANs in PyTorch, one small module per concept.

Imports run one way, from the bottom up:

    config       ModelConfig, TrainConfig, ConfigError      presets      the named recipes
    data/        the datasets, in memory, scaled to [-1, 1]   models/      G and D, by architecture
    losses       D and G losses on logits                     device       device choice, speed settings
    sample       images from G (generate, noise, files)       interrupt    Ctrl-C, SIGTERM: a request to stop
    state        GANState, make_state: what a step changes    callbacks    how the loop is watched
    train        d_step, g_step, train_step, train_gan        checkpoint   the full state in one file
    runfolder    the files of a run folder                    watchers     what writes them during a run
    run          a whole training run
    classifier   the shipped digit classifiers                metrics      FID, class coverage
    pretrained   the shipped generators                       distributed  DDP with torchrun
    viz          grids, curves, GIFs, show_code               cli          python -m dcgan_tutorial ...
    latent       directions and slerp in G's noise space      evaluate     what 'evaluate' prints
    memory       out-of-memory as one clear error             export       G as ONNX, for the browser
    tricks/      EMA, DiffAugment, R1, spectral norm, ...     toy2d        a GAN on 2-D points (chapter 0)
    toy2d_plots  its heat maps, arrows and animations
    notebook/    the training panel, the latent explorer, chapter setup (they need ipywidgets)
"""

from .callbacks import Callback, CollapseWarning
from .checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_generator,
    save_checkpoint,
)
from .config import ConfigError, ModelConfig, TrainConfig
from .data import (
    DatasetNotFoundError,
    InMemoryLoader,
    load_images,
    make_loader,
    scale_images,
    unscale_images,
)
from .device import pick_device
from .losses import d_loss, g_loss, g_loss_non_saturating, g_loss_saturating
from .models import (
    Discriminator,
    Generator,
    build_generator,
    build_models,
    count_parameters,
    dcgan_weights_init,
)
from .presets import PRESETS, Preset, get_preset
from .pretrained import load_pretrained
from .run import RunPlan, plan_run, prepare_run, train_run
from .sample import generate, sample_images, sample_noise, save_samples
from .state import GANState, make_state
from .train import d_step, g_step, train_gan, train_step

__version__ = "0.1.0"
