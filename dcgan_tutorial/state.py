"""The training state: everything a step changes and a checkpoint stores, made fresh from the configs.

``make_state`` seeds and builds G and D (the DCGAN init), both Adam optimisers, the fixed
noise of the sample grids and the noise stream of the steps, and binds the run's options once:
the view of the step (the paper's, or the tricks'), the precision and its updates, the EMA.
``train.py`` changes the state one step at a time, ``checkpoint.py`` saves and restores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn

from .config import ModelConfig, TrainConfig
from .device import (
    PLAIN,
    SpeedSettings,
    backward_and_step,
    make_adam,
    make_update,
    prepare_model,
    speed_settings,
)
from .models import build_models, class_labels
from .tricks import DTricks, PaperView
from .tricks.ema import EMA

# what a step returns, one number each
STAT_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")
# state.history: the step of each record, then the statistics
HISTORY_KEYS = ("step", *STAT_KEYS)


def _empty_history() -> dict[str, list]:
    return {k: [] for k in HISTORY_KEYS}


@dataclass
class GANState:
    """Everything training needs and a checkpoint stores."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    # (n_fixed, nz, 1, 1): the same noise every time we look
    fixed_z: torch.Tensor
    # the noise z of each step: its own stream, saved and restored
    noise_gen: torch.Generator
    step: int = 0  # optimisation steps done (one D step + one G step each)
    epoch: int = 0  # complete passes over the data
    history: dict[str, list] = field(default_factory=_empty_history)
    # (step, uint8 G(fixed_z)) every sample_every steps
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    # the precision (autocast) and memory layout of a step on this device
    speed: SpeedSettings = PLAIN
    # set it (a Stop button; Ctrl-C, SIGTERM, SIGHUP) to end training after this step
    stop_requested: bool = False
    interrupted: bool = False  # training ended because of a stop request
    # the signal that asked for it (signal.SIGINT, SIGTERM, SIGHUP), if one did
    stop_signal: Optional[int] = None
    # (n_fixed,) classes of the grid, for conditional models
    fixed_labels: Optional[torch.Tensor] = None
    # what D sees, and the losses: the paper's (PaperView) or the tricks' (DTricks)
    view: PaperView = field(default_factory=PaperView)
    # each optimiser's "loss.backward(); opt.step()", with its own loss scaler
    # under fp16 (device.py)
    d_backward_and_step: Callable = backward_and_step
    g_backward_and_step: Callable = backward_and_step
    # the moving average of G's weights, when train_cfg.ema_decay > 0
    ema: Optional[EMA] = None

    @property
    def device(self) -> torch.device:
        return self.fixed_z.device


def make_state(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    device: torch.device | str = "cpu",
) -> GANState:
    """Fresh G, D (DCGAN init), Adam optimisers, ``fixed_z`` and noise stream, all
    from ``train_cfg.seed``."""
    device = torch.device(device)
    speed = speed_settings(
        device, train_cfg.fast, train_cfg.compile, train_cfg.precision
    )
    torch.manual_seed(train_cfg.seed)  # G and D's initial weights
    G, D = build_models(model_cfg)
    G, D = prepare_model(G.to(device), speed), prepare_model(D.to(device), speed)
    betas = (train_cfg.beta1, train_cfg.beta2)
    opt_g = make_adam(G.parameters(), train_cfg.lr_g, betas, speed)
    opt_d = make_adam(D.parameters(), train_cfg.lr_d, betas, speed)
    if speed.compile:
        G, D = torch.compile(G), torch.compile(D)
    # fixed_z from its own CPU generator: the same grid noise on every device
    # and in every run
    z_gen = torch.Generator().manual_seed(train_cfg.seed)
    fixed_z = torch.randn(
        train_cfg.n_fixed, model_cfg.nz, 1, 1, generator=z_gen
    ).to(device)
    noise_gen = torch.Generator(device=device).manual_seed(train_cfg.seed + 1)
    fixed_labels = None
    if model_cfg.conditional:  # a grid row per class
        fixed_labels = class_labels(
            train_cfg.n_fixed, model_cfg.n_classes, device
        )
    # the paper's view when every trick is off
    view = DTricks.from_config(train_cfg, generator=noise_gen)
    ema = EMA(G, train_cfg.ema_decay) if train_cfg.ema_decay > 0 else None
    return GANState(
        G,
        D,
        opt_g,
        opt_d,
        model_cfg,
        train_cfg,
        fixed_z,
        noise_gen,
        speed=speed,
        fixed_labels=fixed_labels,
        view=view,
        d_backward_and_step=make_update(speed, device),
        g_backward_and_step=make_update(speed, device),
        ema=ema,
    )


def learning_rates(train_cfg: TrainConfig, step: int) -> tuple[float, float]:
    """G's and D's Adam learning rates for the step after ``step`` steps done.

    ``lr_g`` and ``lr_d`` themselves, or with ``lr_half_life`` > 0 both times
    ``0.5 ** (step / lr_half_life)``: a function of the step alone, so a resumed
    run, or one stopped by time, follows the same schedule.
    """
    if train_cfg.lr_half_life == 0:
        return train_cfg.lr_g, train_cfg.lr_d
    decay = 0.5 ** (step / train_cfg.lr_half_life)
    return train_cfg.lr_g * decay, train_cfg.lr_d * decay


def set_learning_rates(state: GANState, step: int) -> None:
    """Put ``learning_rates(state.train_cfg, step)`` into every param group of ``opt_g`` and ``opt_d``."""
    lr_g, lr_d = learning_rates(state.train_cfg, step)
    for opt, lr in ((state.opt_g, lr_g), (state.opt_d, lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr
