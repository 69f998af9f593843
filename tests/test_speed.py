"""The fast path learns exactly what the plain path learns (fp32, CPU)."""
import torch

from dcgan_tutorial.config import TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.speed import PLAIN, speed_settings
from dcgan_tutorial.train import make_state, train_gan

from fake_images import random_images


def _run(tiny_model, tiny_train, fast):
    cfg = TrainConfig(**{**tiny_train.__dict__, "steps": 8, "fast": fast})
    state = make_state(tiny_model, cfg)
    loader = InMemoryLoader(random_images(64), torch.zeros(64, dtype=torch.long), 8)
    train_gan(state, loader, progress=False)
    return state


def test_fast_and_plain_paths_give_the_same_losses_on_the_cpu(tiny_model, tiny_train):
    fast, plain = _run(tiny_model, tiny_train, True), _run(tiny_model, tiny_train, False)
    assert fast.speed != PLAIN and plain.speed == PLAIN
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        torch.testing.assert_close(torch.tensor(fast.history[key]), torch.tensor(plain.history[key]),
                                   rtol=1e-4, atol=1e-5)
    for a, b in zip(fast.G.parameters(), plain.G.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_fast_settings_per_device():
    cpu = speed_settings(torch.device("cpu"))
    assert not cpu.bf16 and not cpu.compile
    assert speed_settings(torch.device("cpu"), fast=False) == PLAIN
    assert speed_settings(torch.device("cpu"), compile=True).compile
    if torch.cuda.is_available():
        gpu = speed_settings(torch.device("cuda"))
        assert gpu.channels_last and gpu.fused_adam
