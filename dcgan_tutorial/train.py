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

import math
import signal
import threading
import time
import functools
from typing import Callable, Optional, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed
from .callbacks import Callback
from .config import TrainConfig
from .data import InMemoryLoader, unscale_images
from .device import backward_and_step
from .losses import d_loss, g_loss
from .memory import raise_if_out_of_memory
from .sample import generate
from .state import HISTORY_KEYS, GANState, make_state  # the state a step changes (state.py)
from .tricks import DTricks

FIRST_CHECKPOINT_MINUTES = 1  # the first checkpoint by time: a run killed after a minute leaves one


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


def d_step(D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
           reduction: str = "sum", *, backward_and_step: Callable = backward_and_step,
           tricks: Optional[DTricks] = None) -> dict:
    """One update of D: push D(real) towards 1 and D(fake) towards 0.

    real: (B, nc, H, W) in [-1, 1]; fake: G's images, detached so no gradient reaches G.
    Returns D's loss and its mean outputs D(x), D(G(z)) (as probabilities), before the update.
    """
    opt_d.zero_grad(set_to_none=True)
    if tricks is not None:  # D sees augmented / noised images
        real, fake = tricks.d_view(real, is_real=True), tricks.d_view(fake)
    real_logits = D(real)
    fake_logits = D(fake)
    if tricks is None:
        loss = d_loss(real_logits, fake_logits, reduction)
    else:  # the hinge or smoothed loss, plus R1
        loss = tricks.d_loss(real, real_logits, fake_logits, reduction)
    backward_and_step(loss, opt_d)  # loss.backward(); opt_d.step() (scaled under fp16: device.py)
    return {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def g_step(D: nn.Module, opt_g: torch.optim.Optimizer, fake: torch.Tensor, loss: str = "non-saturating",
           g_grads_only: bool = True, *, backward_and_step: Callable = backward_and_step,
           tricks: Optional[DTricks] = None) -> dict:
    """One update of G: make D call its images real.

    fake: G(z) with its graph, so the gradient flows back through D into G. Only ``opt_g``
    steps, so D's parameters do not change.
    """
    opt_g.zero_grad(set_to_none=True)
    if tricks is not None:  # D sees the fakes as in d_step (augmented, noised)
        fake = tricks.d_view(fake)
    loss_value = g_loss(D(fake), loss)
    # G needs the gradient through D (with respect to D's input), not for D's own weights:
    # backward(inputs=G's parameters) skips computing those, a third of D's backward pass.
    # (DDP expects a gradient for every weight, so a distributed run passes g_grads_only=False.)
    g_params = [p for group in opt_g.param_groups for p in group["params"]] if g_grads_only else None
    backward_and_step(loss_value, opt_g, inputs=g_params)  # backward(inputs=...), then opt_g.step()
    return {"g_loss": loss_value.detach()}


def train_step(state: GANState, real: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict:
    """One D step and one G step on a batch of real images (B, nc, H, W) in [-1, 1].

    labels: (B,) the real images' classes. A conditional model asks G for the same classes,
    so fakes and reals come in the same class proportions; other models ignore them.
    """
    cfg, G, D = state.train_cfg, state.G, state.D
    if state.model_cfg.conditional:  # bind the class once: below, G and D take images (or z) only
        G, D = functools.partial(G, labels=labels), functools.partial(D, labels=labels)
    z = torch.randn(real.shape[0], state.model_cfg.nz, 1, 1, device=state.device, generator=state.noise_gen)
    if state.tricks is not None:
        state.tricks.step = state.step  # instance noise decays with the step
    with state.speed.autocast(state.device):  # bf16 or fp16 where the hardware runs it (device.py)
        fake = G(z)
        stats = d_step(D, state.opt_d, state.speed.prepare_batch(real), fake.detach(), cfg.d_loss_reduction,
                       backward_and_step=state.d_update, tricks=state.tricks)
        stats.update(g_step(D, state.opt_g, fake, cfg.loss, state.g_grads_only, backward_and_step=state.g_update,
                            tricks=state.tricks))
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


# Ctrl-C (a notebook's interrupt), and what a batch scheduler, `docker stop`, `kill` or a closed
# terminal sends: each asks training to stop after the current step (SIGHUP does not exist on Windows)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _StopOnSignal:
    """Turn Ctrl-C, SIGTERM and SIGHUP into a stop request after the current step; a second signal ends it at once.

    The first signal sets ``state.stop_requested`` and ``state.stop_signal``; the caller saves and
    ends (the CLI exits with status 128 + the signal's number for SIGTERM and SIGHUP). A second
    one gets the handler that was there before: Ctrl-C raises ``KeyboardInterrupt``, SIGTERM ends
    the process. A signal that was ignored (SIGHUP under ``nohup``) stays ignored.
    """

    def __init__(self, state: GANState):
        self.state, self.previous = state, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.state.stop_signal is None:
            self.state.stop_requested, self.state.stop_signal = True, signum
            return
        previous = self.previous.get(signum)  # a second signal: what would have happened without us
        self.__exit__()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.raise_signal(signum)

    def __exit__(self, *exc):
        for signum, previous in self.previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self.previous = {}


def _flush(state: GANState, pending: list[tuple[int, dict]], callbacks: Sequence[Callback]) -> dict:
    """Read pending step statistics back from the device (one sync), check them, record them."""
    if not pending:
        return {}
    keys = ("d_loss", "g_loss", "d_real", "d_fake")
    values = torch.stack([torch.stack([s[k].float() for k in keys]) for _, s in pending]).cpu()
    bad = ~torch.isfinite(values).all(dim=1)
    if bad.any():
        first = pending[int(bad.nonzero()[0])][0]
        raise TrainingDiverged(
            f"a loss became NaN or infinite at step {first}: the run diverged. Likely causes: a learning "
            f"rate too high (try --lr 2e-4 or lower), beta1 too high (use 0.5), or corrupt input data. "
            f"The last checkpoint written before step {first} is intact."
        )
    records = {"step": [step for step, _ in pending]}
    for i, k in enumerate(keys):
        records[k] = values[:, i].tolist()
    for k, v in records.items():
        state.history[k].extend(v)
    pending.clear()
    for cb in callbacks:
        cb.on_log(state, records)
    return records


def _keep_sample(state: GANState, callbacks: Sequence[Callback]) -> None:
    images = unscale_images(generate(state.G, state.fixed_z, state.fixed_labels)).cpu()
    state.samples.append((state.step, images))
    for cb in callbacks:
        cb.on_sample(state, images)


def train_gan(state: GANState, loader: InMemoryLoader, callbacks: Sequence[Callback] = (),
              progress: bool = True) -> GANState:
    """Train from ``state.step`` until ``train_cfg.steps``, ``.epochs`` or ``.time_budget`` is reached.

    Keeps a grid of G(fixed_z) every ``sample_every`` steps, appends D loss, G loss, D(x)
    and D(G(z)) to ``state.history``, and calls each callback as that happens. Ctrl-C, SIGTERM,
    SIGHUP or ``state.stop_requested = True`` end it after the current step (``state.stop_signal``
    says which signal, if one did). Returns ``state``.
    """
    cfg = state.train_cfg
    steps_per_epoch = len(loader)
    last_step = stop_step(cfg, steps_per_epoch)
    budget = cfg.time_budget if cfg.time_budget is not None else math.inf
    state.G.train()
    state.D.train()
    state.interrupted, state.stop_signal = False, None  # a stop asked for before the loop is honoured at once
    pending: list[tuple[int, dict]] = []
    saved_at = None
    total = None if math.isinf(last_step) else int(last_step)
    bar = tqdm(total=total, initial=state.step, disable=not progress, unit="step", desc="training")
    if not state.samples:
        _keep_sample(state, callbacks)  # what G makes before training
    start = time.perf_counter()
    # a checkpoint by time too: the first after a minute, then every checkpoint_minutes (RNG untouched)
    every = 60 * cfg.checkpoint_minutes if cfg.checkpoint_minutes is not None else math.inf
    save_by = start + min(60 * FIRST_CHECKPOINT_MINUTES, every) if every < math.inf else math.inf
    # several processes (DDP) must stop at the same step: they agree every log_every steps
    agree = distributed.agree_to_stop if distributed.is_distributed() else None

    def done() -> bool:
        if state.step >= last_step:  # the same step on every rank
            return True
        local = state.stop_requested or time.perf_counter() - start >= budget
        return local if agree is None else state.step % cfg.log_every == 0 and agree(local)

    def log() -> None:
        n = len(pending)
        records = _flush(state, pending, callbacks)
        if records:
            bar.set_postfix({k: f"{records[k][-1]:.3f}" for k in ("d_loss", "g_loss", "d_real", "d_fake")})
        bar.update(n)

    with _StopOnSignal(state):
        while not done():
            epoch, offset = divmod(state.step, steps_per_epoch)
            for real, labels in loader.batches(epoch, offset):
                try:
                    stats = train_step(state, real, labels)
                except RuntimeError as err:  # a full GPU or CPU: one clear error naming the batch size
                    raise_if_out_of_memory(err, state.device, len(real), state.model_cfg, state.step)
                    raise
                state.step += 1
                state.epoch = state.step // steps_per_epoch
                pending.append((state.step, stats))
                if state.step % cfg.log_every == 0:
                    log()
                if state.step % cfg.sample_every == 0:
                    _keep_sample(state, callbacks)
                if state.step % cfg.checkpoint_every == 0 or time.perf_counter() >= save_by:
                    log()
                    for cb in callbacks:
                        cb.on_checkpoint(state)
                    saved_at, save_by = state.step, time.perf_counter() + every
                if done():
                    break
    log()
    bar.close()
    state.interrupted, state.stop_requested = state.stop_requested, False  # the request is used up
    if state.samples[-1][0] != state.step:
        _keep_sample(state, callbacks)
    for cb in callbacks:
        if saved_at != state.step:
            cb.on_checkpoint(state)
        cb.on_train_end(state)
    return state
