"""Callbacks: how a notebook, a widget or the CLI watches ``train_gan`` without the loop knowing them.

``Callback`` is the interface; ``ProgressBar`` and ``CollapseWarning`` are two that watch any
run. What a run writes as it goes (checkpoints, progress grids, the best and the averaged
generator) is in ``watchers``; the live widget view is ``notebook.LivePlots``.
"""

from __future__ import annotations

import math
import warnings

import torch
from tqdm.auto import tqdm

from .state import STAT_KEYS, GANState


class Callback:
    """Override what you need; ``train_gan`` calls these as training goes."""

    def on_log(self, state: GANState, records: dict[str, list]) -> None:
        """New history entries (every ``log_every`` steps), already appended to
        ``state.history``."""

    def on_sample(self, state: GANState, images: torch.Tensor) -> None:
        """A new grid of G(fixed_z): uint8 (n_fixed, nc, H, W), already in
        ``state.samples``."""

    def on_checkpoint(self, state: GANState) -> None:
        """Every ``checkpoint_every`` steps, every ``checkpoint_minutes`` and at
        the end: a good time to save."""

    def on_train_end(self, state: GANState) -> None:
        """Training stopped normally (limit reached or stop requested)."""


class ProgressBar(Callback):
    """A tqdm bar of the steps done, with the latest losses and D outputs; ``train_gan(progress=True)``."""

    def __init__(self, last_step: float, first_step: int = 0):
        total = None if math.isinf(last_step) else int(last_step)
        self.bar = tqdm(
            total=total, initial=first_step, unit="step", desc="training"
        )

    def on_log(self, state: GANState, records: dict[str, list]) -> None:
        self.bar.set_postfix({k: f"{records[k][-1]:.3f}" for k in STAT_KEYS})
        self.bar.update(len(records["step"]))

    def on_train_end(self, state: GANState) -> None:
        self.bar.close()


class CollapseWarning(Callback):
    """Warn (once) when one player has won for ``window`` steps in a row.

    D's loss near 0 means D rejects every fake: G's gradient vanishes (with the
    saturating loss) or points nowhere useful, and samples stop improving. D(G(z))
    near 1 on average means D is fooled by everything: often G has collapsed onto
    a few images D cannot reject.
    """

    def __init__(self, window: int = 200, threshold: float = 0.01):
        self.window, self.threshold, self.warned = window, threshold, False

    def on_log(self, state: GANState, records: dict[str, list]) -> None:
        d_loss_recent = state.history["d_loss"][-self.window :]
        d_fake_recent = state.history["d_fake"][-self.window :]
        if self.warned or len(d_loss_recent) < self.window:
            return
        if max(d_loss_recent) < self.threshold:
            message = (
                f"D's loss stayed below {self.threshold} for the last "
                f"{self.window} steps (step {state.step}): D has won and G is "
                f"not learning. Lower D's learning rate (--lr-d), use the "
                f"non-saturating loss, or restart from an earlier checkpoint."
            )
        elif min(d_fake_recent) > 1 - self.threshold:
            message = (
                f"D(G(z)) stayed above {1 - self.threshold} for the last "
                f"{self.window} steps (step {state.step}): D is fooled by "
                f"everything, a sign of collapse. Check the samples for mode "
                f"collapse and lower G's learning rate (--lr-g)."
            )
        else:
            return
        self.warned = True
        warnings.warn(message, RuntimeWarning, stacklevel=2)
