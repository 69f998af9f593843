"""The training state: everything a step changes and a checkpoint stores, made fresh from the configs.

``make_state`` seeds and builds G and D (the DCGAN init), both Adam optimisers, the fixed
noise of the sample grids and the noise stream of the steps; ``train.py`` changes the state
one step at a time, ``checkpoint.py`` saves and restores it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn

from .config import ModelConfig, TrainConfig
from .device import PLAIN, SpeedSettings, backward_and_step, make_adam, make_update, prepare_model, speed_settings
from .models import build_models, class_labels
from .tricks import EMA, DTricks

HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class GANState:
    """Everything training needs and a checkpoint stores."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    fixed_z: torch.Tensor  # (n_fixed, nz, 1, 1): the same noise every time we look
    noise_gen: torch.Generator  # the noise z of each step: its own stream, saved and restored
    step: int = 0  # optimisation steps done (one D step + one G step each)
    epoch: int = 0  # complete passes over the data
    history: dict[str, list] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, uint8 G(fixed_z))
    speed: SpeedSettings = PLAIN  # how the step runs fast on this device (device.py)
    stop_requested: bool = False  # set it (a Stop button, Ctrl-C) to end training after this step
    interrupted: bool = False  # training ended because of a stop request
    stop_signal: Optional[int] = None  # the signal that asked for it (signal.SIGINT, SIGTERM, SIGHUP), if one did
    fixed_labels: Optional[torch.Tensor] = None  # (n_fixed,) classes of the grid, for conditional models
    g_grads_only: bool = True  # g_step computes G's gradients only; False under DDP (distributed.py)
    # each optimiser's "loss.backward(); opt.step()": with its own loss scaler under fp16 (device.py)
    d_update: Callable = backward_and_step
    g_update: Callable = backward_and_step
    tricks: Optional[DTricks] = None  # what D sees and D's loss, when a trick asks (tricks/); None: the plain step
    ema: Optional[EMA] = None  # the moving average of G's weights, when train_cfg.ema_decay > 0

    @property
    def device(self) -> torch.device:
        return self.fixed_z.device


def make_state(model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device | str = "cpu") -> GANState:
    """Fresh G, D (DCGAN init), Adam optimisers, ``fixed_z`` and noise stream, all from ``train_cfg.seed``."""
    model_cfg.validate()
    train_cfg.validate()
    device = torch.device(device)
    speed = speed_settings(device, train_cfg.fast, train_cfg.compile, train_cfg.precision)
    torch.manual_seed(train_cfg.seed)  # G and D's initial weights
    G, D = build_models(model_cfg)
    G, D = prepare_model(G.to(device), speed), prepare_model(D.to(device), speed)
    betas = (train_cfg.beta1, train_cfg.beta2)
    opt_g = make_adam(G.parameters(), train_cfg.lr_g, betas, speed)
    opt_d = make_adam(D.parameters(), train_cfg.lr_d, betas, speed)
    if speed.compile:
        G, D = torch.compile(G), torch.compile(D)
    # fixed_z from its own CPU generator: the same grid noise on every device and in every run
    z_gen = torch.Generator().manual_seed(train_cfg.seed)
    fixed_z = torch.randn(train_cfg.n_fixed, model_cfg.nz, 1, 1, generator=z_gen).to(device)
    noise_gen = torch.Generator(device=device).manual_seed(train_cfg.seed + 1)
    fixed_labels = None
    if model_cfg.conditional:  # a grid row per class
        fixed_labels = class_labels(train_cfg.n_fixed, model_cfg.n_classes, device)
    tricks = DTricks.from_config(train_cfg, generator=noise_gen)  # None when every trick is off
    ema = EMA(G, train_cfg.ema_decay) if train_cfg.ema_decay > 0 else None
    return GANState(G, D, opt_g, opt_d, model_cfg, train_cfg, fixed_z, noise_gen, speed=speed,
                    fixed_labels=fixed_labels, d_update=make_update(speed, device),
                    g_update=make_update(speed, device), tricks=tricks, ema=ema)
