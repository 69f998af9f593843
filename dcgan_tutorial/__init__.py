"""dcgan_tutorial: Deep Convolutional GANs in PyTorch, one small module per concept.

    config       typed configs and named presets     models       G, D, the DCGAN init
    data         MNIST / Fashion-MNIST in memory      losses       D and G losses on logits
    train        d_step, g_step, train_gan            checkpoint   save / load the full state
    sample       images from a trained G              viz          grids, curves, GIFs
    classifier   the shipped MNIST classifier         metrics      FID, class coverage, nearest images
    pretrained   the shipped generator                speed        fast settings per device
    distributed  DDP with torchrun                    cli          python -m dcgan_tutorial train|sample|evaluate
    widgets, latent_explorer, runs: the notebook panels (they need ipywidgets)
"""
from .config import PRESETS, ConfigError, ModelConfig, Preset, TrainConfig, get_preset
from .data import DatasetNotFoundError, InMemoryLoader, load_images, make_loader, scale_images, unscale_images
from .losses import d_loss, g_loss, g_loss_non_saturating, g_loss_saturating
from .models import Discriminator, Generator, build_generator, build_models, count_parameters, dcgan_weights_init
from .train import (Callback, CollapseWarning, GANState, d_step, g_step, generate, make_state, pick_device, train_gan,
                    train_step)
from .checkpoint import CheckpointError, load_checkpoint, load_generator, save_checkpoint
from .sample import sample_images, sample_noise, save_samples
from .pretrained import load_pretrained

__version__ = "0.1.0"
