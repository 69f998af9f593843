"""A run's FID curve survives a resume: the resumed tracker continues the curve and the best."""

import torch
from fake_images import random_images

from dcgan_tutorial import make_state, train_gan
from dcgan_tutorial.config import ModelConfig, TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.metrics import ReferenceFID
from dcgan_tutorial.watchers import FIDTracker

TINY = ModelConfig(image_size=28, nc=1, nz=8, ngf=4, ndf=4)


def _cfg(steps: int, log_every: int = 1) -> TrainConfig:
    return TrainConfig(
        batch_size=8,
        steps=steps,
        epochs=None,
        n_fixed=4,
        sample_every=100,
        log_every=log_every,
        checkpoint_every=100,
        precision="fp32",
    )


def test_a_resumed_tracker_continues_the_curve_the_best_and_the_cpu_time(
    tmp_path, one_thread
):
    reference = ReferenceFID(random_images(300, seed=2))
    loader = InMemoryLoader(
        random_images(64, seed=0), torch.zeros(64, dtype=torch.long), 8, seed=0
    )
    state = make_state(TINY, _cfg(4))
    first = FIDTracker(reference, every=2, n=100, out_dir=tmp_path)
    train_gan(state, loader, callbacks=[first], progress=False)
    assert [p["step"] for p in first.history] == [2, 4]
    assert 0 < first.history[0]["cpu_seconds"] < first.history[1]["cpu_seconds"]

    state.train_cfg = _cfg(
        8
    )  # the same run continued (as --resume does) to step 8
    second = FIDTracker(reference, every=2, n=100, out_dir=tmp_path)
    train_gan(state, loader, callbacks=[second], progress=False)
    steps = [p["step"] for p in second.history]
    assert steps == [2, 4, 6, 8], (
        steps
    )  # the earlier points are kept, the new ones follow
    assert second.history[:2] == first.history
    cpu = [p["cpu_seconds"] for p in second.history]
    assert (
        cpu == sorted(cpu) and cpu[2] > cpu[1]
    )  # CPU time continues, it does not restart at 0
    assert second.best["fid"] == min(p["fid"] for p in second.history)


def test_a_resumed_tracker_measures_the_point_its_first_log_reaches(
    tmp_path, one_thread
):
    """Resumed at step 4 with a log every 2 steps, the first log is at step 6: a point is due."""
    reference = ReferenceFID(random_images(300, seed=2))
    loader = InMemoryLoader(
        random_images(64, seed=0), torch.zeros(64, dtype=torch.long), 8, seed=0
    )
    state = make_state(TINY, _cfg(4, log_every=2))
    first = FIDTracker(reference, every=2, n=100, out_dir=tmp_path)
    train_gan(state, loader, callbacks=[first], progress=False)
    state.train_cfg = _cfg(10, log_every=2)
    second = FIDTracker(reference, every=2, n=100, out_dir=tmp_path)
    train_gan(state, loader, callbacks=[second], progress=False)
    assert [p["step"] for p in second.history] == [2, 4, 6, 8, 10]


def test_a_fresh_run_in_an_old_folder_starts_a_new_curve(tmp_path, one_thread):
    reference = ReferenceFID(random_images(300, seed=2))
    loader = InMemoryLoader(
        random_images(64, seed=0), torch.zeros(64, dtype=torch.long), 8, seed=0
    )
    train_gan(
        make_state(TINY, _cfg(4)),
        loader,
        callbacks=[FIDTracker(reference, every=2, n=100, out_dir=tmp_path)],
        progress=False,
    )
    fresh = FIDTracker(reference, every=2, n=100, out_dir=tmp_path)
    train_gan(
        make_state(TINY, _cfg(2)), loader, callbacks=[fresh], progress=False
    )
    assert [p["step"] for p in fresh.history] == [2]
