import math

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial.callbacks import Callback
from dcgan_tutorial.config import TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.device import pick_device
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import (
    TrainingDiverged,
    d_step,
    g_step,
    stop_step,
    train_gan,
    train_step,
)


def _loader(n=64, batch_size=8, seed=0):
    return InMemoryLoader(
        random_images(n, seed=seed),
        torch.zeros(n, dtype=torch.long),
        batch_size,
        seed=seed,
    )


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters())]


def test_d_step_changes_only_d(tiny_model, tiny_train):
    state = make_state(tiny_model, tiny_train)
    real = next(iter(_loader()))[0]
    fake = state.G(torch.randn(8, tiny_model.nz, 1, 1))
    g_before, d_before = _params(state.G), _params(state.D)
    stats = d_step(state.D, state.opt_d, real, fake.detach())
    assert not any(_changed(g_before, state.G))
    assert all(_changed(d_before, state.D))
    assert (
        set(stats) == {"d_loss", "d_real", "d_fake"} and 0 < stats["d_real"] < 1
    )


def test_g_step_changes_only_g(tiny_model, tiny_train):
    state = make_state(tiny_model, tiny_train)
    fake = state.G(torch.randn(8, tiny_model.nz, 1, 1))
    g_before, d_before = _params(state.G), _params(state.D)
    stats = g_step(state.D, state.opt_g, fake)
    assert not any(_changed(d_before, state.D))
    assert all(_changed(g_before, state.G))
    assert stats["g_loss"] > 0


def test_train_gan_stops_at_steps_and_records_history(tiny_model, tiny_train):
    state = make_state(tiny_model, tiny_train)
    train_gan(state, _loader(), progress=False)
    assert state.step == 4
    assert state.history["step"] == [1, 2, 3, 4]
    assert all(
        len(state.history[k]) == 4
        for k in ("d_loss", "g_loss", "d_real", "d_fake")
    )
    assert [s for s, _ in state.samples] == [
        0,
        2,
        4,
    ]  # before training, then every sample_every
    assert (
        state.samples[-1][1].shape == (4, 1, 28, 28)
        and state.samples[-1][1].dtype == torch.uint8
    )


def test_train_gan_stops_by_epochs_across_epoch_boundaries(
    tiny_model, tiny_train
):
    cfg = TrainConfig(**{**tiny_train.__dict__, "steps": None, "epochs": 2.5})
    state = make_state(tiny_model, cfg)
    train_gan(
        state, _loader(n=64, batch_size=8), progress=False
    )  # 8 steps per epoch
    assert state.step == 20 and state.epoch == 2
    assert stop_step(cfg, 8) == 20


def test_train_gan_stops_by_time_budget(tiny_model, tiny_train):
    cfg = TrainConfig(
        **{
            **tiny_train.__dict__,
            "steps": None,
            "epochs": None,
            "time_budget": 0.5,
        }
    )
    state = make_state(tiny_model, cfg)
    train_gan(state, _loader(), progress=False)
    assert state.step > 0
    assert math.isinf(stop_step(cfg, 8))


def test_callbacks_see_logs_samples_and_end_and_can_stop(tiny_model, tiny_train):
    events = []

    class Watcher(Callback):
        def on_log(self, state, records):
            events.append(("log", records["step"][-1]))
            if state.step == 2:
                state.stop_requested = True

        def on_sample(self, state, images):
            events.append(("sample", state.step))

        def on_train_end(self, state):
            events.append(("end", state.step))

    state = make_state(tiny_model, tiny_train)
    train_gan(state, _loader(), callbacks=[Watcher()], progress=False)
    assert state.step == 2 and state.interrupted
    assert events == [
        ("sample", 0),
        ("log", 1),
        ("log", 2),
        ("sample", 2),
        ("end", 2),
    ]


def test_fixed_z_is_the_same_across_runs_and_independent_of_global_rng(
    tiny_model, tiny_train
):
    a = make_state(tiny_model, tiny_train).fixed_z
    torch.manual_seed(123)
    b = make_state(tiny_model, tiny_train).fixed_z
    assert torch.equal(a, b) and a.shape == (4, 8, 1, 1)


def test_same_seed_same_run(tiny_model, tiny_train):
    runs = []
    for _ in range(2):
        state = make_state(tiny_model, tiny_train)
        train_gan(state, _loader(), progress=False)
        runs.append(state)
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].G.parameters(), runs[1].G.parameters()):
        assert torch.equal(a, b)


def test_nan_loss_stops_training_naming_the_step(tiny_model, tiny_train):
    state = make_state(tiny_model, tiny_train)
    with torch.no_grad():
        next(state.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN or infinite at step 1"):
        train_gan(state, _loader(), progress=False)


def test_train_step_returns_all_statistics(tiny_model, tiny_train):
    state = make_state(tiny_model, tiny_train)
    stats = train_step(state, next(iter(_loader()))[0])
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="device='tpu' is not allowed"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            pick_device("cuda")


def test_train_gan_is_short_enough_to_read_in_the_book():
    """Chapter 6 shows the loop: batches, train_step, record, callbacks, stop (40 lines)."""
    import inspect

    from dcgan_tutorial import train

    assert len(inspect.getsource(train.train_gan).splitlines()) <= 40
