"""Training: one D step, one G step, and the loop around them.

One step of DCGAN training (Radford et al. 2015; Goodfellow et al. 2014, Algorithm 1 with
k = 1):

    z     ~ N(0, I)                       noise, (B, nz, 1, 1)
    fake  = G(z)                          computed once, used by both steps
    D     <- D - lr * grad L_D(D(real), D(fake.detach()))     d_step
    G     <- G - lr * grad L_G(D(fake))                       g_step

``train_gan`` runs that until a step, epoch or time limit, and tells its callbacks what
happened, so a notebook, a widget or the CLI can watch without the loop knowing about them.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from . import distributed
from .callbacks import Callback, ProgressBar
from .config import TrainConfig
from .data.loader import InMemoryLoader
from .data.pixels import unscale_images
from .device import backward_and_step
from .interrupt import StopOnSignal
from .memory import raise_if_out_of_memory
from .sample import generate
from .state import STAT_KEYS, GANState, set_learning_rates
from .tricks import PAPER, PaperView

# the first checkpoint by time: a run killed after a minute leaves one
FIRST_CHECKPOINT_MINUTES = 1


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


def d_step(
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    view: PaperView = PAPER,
    step: int = 0,
    backward_and_step: Callable = backward_and_step,
) -> dict:
    """One update of D: push D(real) towards 1 and D(fake) towards 0.

    real: (B, nc, H, W) in [-1, 1]; fake: G's images, detached so no gradient
    reaches G. Returns D's loss and its mean outputs D(x), D(G(z)) (as
    probabilities), before the update.
    """
    opt_d.zero_grad(set_to_none=True)
    # what D sees: in the paper, the images as they are
    real = view.d_view(real, step, is_real=True)
    fake = view.d_view(fake, step)
    real_logits = D(real)
    fake_logits = D(fake)
    loss = view.d_loss(real, real_logits, fake_logits)  # the paper: losses.d_loss
    backward_and_step(loss, opt_d)  # loss.backward(); opt_d.step()
    return {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def g_step(
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    fake: torch.Tensor,
    view: PaperView = PAPER,
    step: int = 0,
    backward_and_step: Callable = backward_and_step,
) -> dict:
    """One update of G: make D call its images real.

    fake: G(z) with its graph, so the gradient flows back through D into G. Only
    ``opt_g`` steps, so D's parameters do not change.
    """
    opt_g.zero_grad(set_to_none=True)
    # D sees the fakes as in d_step
    loss = view.g_loss(D(view.d_view(fake, step)))
    # G needs the gradient through D (with respect to D's input), not for D's
    # own weights: backward(inputs=G's parameters) skips computing those, a
    # third of D's backward pass.
    g_params = [p for group in opt_g.param_groups for p in group["params"]]
    # loss.backward(inputs=...); opt_g.step()
    backward_and_step(loss, opt_g, inputs=g_params)
    return {"g_loss": loss.detach()}


def train_step(
    state: GANState, real: torch.Tensor, labels: Optional[torch.Tensor] = None
) -> dict:
    """One D step and one G step on real images (B, nc, H, W) in [-1, 1].

    labels: (B,) the real images' classes. A conditional model asks G for the same
    classes, so fakes and reals come in the same class proportions; other models
    ignore them. With ``lr_half_life`` > 0 both optimisers first get this step's
    learning rates (``state.learning_rates``).
    """
    G, D, view, step = state.G, state.D, state.view, state.step
    if state.train_cfg.lr_half_life:  # the schedule's rates for this step
        set_learning_rates(state, step)
    if (
        state.model_cfg.conditional
    ):  # bind the class once: below, G and D take images (or z) only
        G, D = (
            functools.partial(G, labels=labels),
            functools.partial(D, labels=labels),
        )
    z = torch.randn(
        real.shape[0],
        state.model_cfg.nz,
        1,
        1,
        device=state.device,
        generator=state.noise_gen,
    )
    with state.speed.autocast(
        state.device
    ):  # bf16 or fp16 where the hardware runs it (device.py)
        fake = G(z)
        real = state.speed.prepare_batch(real)
        stats = d_step(
            D,
            state.opt_d,
            real,
            fake.detach(),
            view,
            step,
            state.d_backward_and_step,
        )
        stats.update(
            g_step(D, state.opt_g, fake, view, step, state.g_backward_and_step)
        )
    if state.ema is not None:
        state.ema.update(state.G)
    return stats


def stop_step(cfg: TrainConfig, steps_per_epoch: int) -> float:
    """The global step at which training stops by steps or epochs (inf when neither is set)."""
    limits = [math.inf]
    if cfg.steps is not None:
        limits.append(cfg.steps)
    if cfg.epochs is not None:
        limits.append(math.ceil(cfg.epochs * steps_per_epoch))
    return min(limits)


class _Schedule:
    """When to log, keep a sample, checkpoint and stop: by steps, by time, and (DDP) by agreement."""

    def __init__(self, cfg: TrainConfig, steps_per_epoch: int):
        self.cfg, self.last_step = cfg, stop_step(cfg, steps_per_epoch)
        self.start = time.perf_counter()
        self.budget = cfg.time_budget if cfg.time_budget is not None else math.inf
        # a checkpoint by time too: the first after a minute, then every checkpoint_minutes (RNG untouched)
        self.every = (
            60 * cfg.checkpoint_minutes
            if cfg.checkpoint_minutes is not None
            else math.inf
        )
        self.save_by = (
            self.start + min(60 * FIRST_CHECKPOINT_MINUTES, self.every)
            if self.every < math.inf
            else math.inf
        )
        self.saved_at: Optional[int] = None
        # several processes (DDP) must stop at the same step: they agree every log_every steps
        self.agree = (
            distributed.agree_to_stop if distributed.is_distributed() else None
        )

    def due(self, step: int) -> list[str]:
        """What is due after ``step``: "log", "sample", "checkpoint" (which logs first)."""
        cfg, now = self.cfg, time.perf_counter()
        checkpoint = step % cfg.checkpoint_every == 0 or now >= self.save_by
        if checkpoint:
            self.saved_at, self.save_by = step, now + self.every
        return [
            name
            for name, due in (
                ("log", step % cfg.log_every == 0),
                ("sample", step % cfg.sample_every == 0),
                ("checkpoint", checkpoint),
            )
            if due
        ]

    def done(self, state: GANState) -> bool:
        if state.step >= self.last_step:  # the same step on every rank
            return True
        local = (
            state.stop_requested
            or time.perf_counter() - self.start >= self.budget
        )
        return (
            local
            if self.agree is None
            else state.step % self.cfg.log_every == 0 and self.agree(local)
        )


class _Recorder:
    """What the loop does besides the steps: record, keep grids, tell the callbacks.

    Step statistics stay on the device until a log, then are read back at once
    (one sync), checked and recorded.
    """

    def __init__(self, state: GANState, callbacks: Sequence[Callback]):
        self.state, self.callbacks, self.pending = state, callbacks, []

    def log(self) -> None:
        pending, state = self.pending, self.state
        if not pending:
            return
        values = torch.stack(
            [torch.stack([s[k].float() for k in STAT_KEYS]) for _, s in pending]
        ).cpu()
        bad = ~torch.isfinite(values).all(dim=1)
        if bad.any():
            first = pending[int(bad.nonzero()[0])][0]
            raise TrainingDiverged(
                f"a loss became NaN or infinite at step {first}: the run diverged. "
                f"Likely causes: a learning rate too high (try --lr 2e-4 or lower), "
                f"beta1 too high (use 0.5), or corrupt input data. The last "
                f"checkpoint written before step {first} is intact."
            )
        records = {
            "step": [step for step, _ in pending],
            **dict(zip(STAT_KEYS, values.T.tolist())),
        }
        for k, v in records.items():
            state.history[k].extend(v)
        pending.clear()
        for cb in self.callbacks:
            cb.on_log(state, records)

    def sample(self) -> None:
        """A grid of G(fixed_z), kept in ``state.samples`` and shown to the callbacks."""
        state = self.state
        images = unscale_images(
            generate(state.G, state.fixed_z, state.fixed_labels)
        ).cpu()
        state.samples.append((state.step, images))
        for cb in self.callbacks:
            cb.on_sample(state, images)

    def checkpoint(self) -> None:
        self.log()
        for cb in self.callbacks:
            cb.on_checkpoint(self.state)

    def finish(self, saved_at: Optional[int]) -> None:
        """The last log, grid and checkpoint (where the last step has none), then the end."""
        state = self.state
        self.log()
        state.interrupted, state.stop_requested = state.stop_requested, False
        if state.samples[-1][0] != state.step:
            self.sample()
        if saved_at != state.step:
            self.checkpoint()
        for cb in self.callbacks:
            cb.on_train_end(state)


def _checked_step(
    state: GANState, real: torch.Tensor, labels: Optional[torch.Tensor]
) -> dict:
    """``train_step``, with a full GPU or CPU turned into one clear error naming the batch size."""
    try:
        return train_step(state, real, labels)
    except RuntimeError as err:
        raise_if_out_of_memory(
            err, state.device, len(real), state.model_cfg, state.step
        )
        raise


def _request_stop(state: GANState, signum: int) -> None:
    """What a stop signal does to training: stop after this step, naming the signal."""
    state.stop_requested, state.stop_signal = True, signum


def train_gan(
    state: GANState,
    loader: InMemoryLoader,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> GANState:
    """Train from ``state.step`` until the config's step, epoch or time limit.

    Keeps a grid of G(fixed_z) every ``sample_every`` steps, appends D loss, G
    loss, D(x) and D(G(z)) to ``state.history`` and tells each callback. Ctrl-C,
    SIGTERM, SIGHUP or ``state.stop_requested = True`` end it after the current
    step (``state.stop_signal`` says which signal, if one did).
    """
    per_epoch, schedule = len(loader), _Schedule(state.train_cfg, len(loader))
    bar = [ProgressBar(schedule.last_step, state.step)] if progress else []
    run = _Recorder(state, [*bar, *callbacks])
    state.G.train()
    state.D.train()
    # a stop asked for earlier ends it at once
    state.interrupted, state.stop_signal = False, None
    if not state.samples:
        run.sample()  # what G makes before training
    with StopOnSignal(functools.partial(_request_stop, state)):
        while not schedule.done(state):
            for real, labels in loader.batches(*divmod(state.step, per_epoch)):
                stats = _checked_step(state, real, labels)
                state.step += 1
                state.epoch = state.step // per_epoch
                run.pending.append((state.step, stats))
                for event in schedule.due(state.step):
                    getattr(run, event)()  # run.log(), .sample(), .checkpoint()
                if schedule.done(state):
                    break
    run.finish(schedule.saved_at)  # the last log, grid and checkpoint
    return state
