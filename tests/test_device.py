"""The device: the fast path learns what the plain path learns (fp32, CPU), and each fast setting takes effect."""
import torch

from dcgan_tutorial.config import TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.device import PLAIN, speed_settings
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


def test_each_fast_setting_takes_effect_on_the_cpu(tiny_model, tiny_train):
    # the same losses alone would not notice a fast setting that silently does nothing
    fast = make_state(tiny_model, tiny_train)
    assert fast.speed.channels_last and fast.speed.fused_adam
    conv = next(m for m in fast.G.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    assert fast.opt_g.defaults["fused"] and fast.opt_d.defaults["fused"]
    batch = fast.speed.prepare_batch(torch.zeros(8, 3, 28, 28))  # 3 channels: with 1 both layouts coincide
    assert batch.is_contiguous(memory_format=torch.channels_last) and not batch.is_contiguous()
    plain = make_state(tiny_model, TrainConfig(**{**tiny_train.__dict__, "fast": False}))
    assert not plain.opt_g.defaults["fused"]
    assert next(plain.G.parameters()).is_contiguous()


def test_bf16_setting_runs_the_convolutions_in_bf16():
    from dcgan_tutorial.device import SpeedSettings

    conv = torch.nn.Conv2d(1, 4, 3)
    bf16 = SpeedSettings(channels_last=False, fused_adam=False, bf16=True, compile=False)
    with bf16.autocast(torch.device("cpu")):
        assert conv(torch.randn(2, 1, 8, 8)).dtype == torch.bfloat16
    with PLAIN.autocast(torch.device("cpu")):
        assert conv(torch.randn(2, 1, 8, 8)).dtype == torch.float32
