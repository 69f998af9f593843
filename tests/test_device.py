"""The device: the fast path learns what the plain path learns (fp32, CPU), each fast setting takes
effect, and the precision follows what the hardware runs natively (faked here for every branch)."""

import copy
import sys

import pytest
import torch
from fake_images import random_images

from dcgan_tutorial import device as device_module
from dcgan_tutorial.config import ConfigError, TrainConfig
from dcgan_tutorial.data import InMemoryLoader
from dcgan_tutorial.device import (
    PLAIN,
    ScaledBackwardAndStep,
    SpeedSettings,
    backward_and_step,
    cpu_has_native_bf16,
    cuda_precision,
    speed_settings,
)
from dcgan_tutorial.losses import d_loss, g_loss
from dcgan_tutorial.state import make_state
from dcgan_tutorial.train import TrainingDiverged, train_gan, train_step

FP16 = SpeedSettings(channels_last=False, fused_adam=True, precision="fp16")


@pytest.fixture
def fp32_cpu(monkeypatch):
    """The CPU's fast path in fp32, whatever this CPU's instruction set."""
    monkeypatch.setattr(
        device_module, "cpu_has_native_bf16", lambda cpuinfo=None: False
    )


def _loader(n=64, batch=8):
    return InMemoryLoader(
        random_images(n), torch.zeros(n, dtype=torch.long), batch
    )


def _run(tiny_model, tiny_train, fast):
    cfg = TrainConfig(**{**tiny_train.__dict__, "steps": 8, "fast": fast})
    state = make_state(tiny_model, cfg)
    train_gan(state, _loader(), progress=False)
    return state


def test_fast_and_plain_paths_give_the_same_losses_on_the_cpu(
    tiny_model, tiny_train, fp32_cpu
):
    fast, plain = (
        _run(tiny_model, tiny_train, True),
        _run(tiny_model, tiny_train, False),
    )
    assert fast.speed != PLAIN and plain.speed == PLAIN
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        torch.testing.assert_close(
            torch.tensor(fast.history[key]),
            torch.tensor(plain.history[key]),
            rtol=1e-4,
            atol=1e-5,
        )
    for a, b in zip(fast.G.parameters(), plain.G.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_plain_step_is_bit_for_bit_the_hand_written_step(tiny_model, tiny_train):
    # the stored runs of the book depend on the plain path computing exactly this
    state = make_state(
        tiny_model, TrainConfig(**{**tiny_train.__dict__, "fast": False})
    )
    twin = copy.deepcopy(state)
    real = random_images(8).float() / 127.5 - 1
    stats = train_step(state, real)
    G, D, opt_g, opt_d = twin.G, twin.D, twin.opt_g, twin.opt_d
    z = torch.randn(8, tiny_model.nz, 1, 1, generator=twin.noise_gen)
    fake = G(z)
    opt_d.zero_grad(set_to_none=True)
    loss = d_loss(D(real), D(fake.detach()), tiny_train.d_loss_reduction)
    loss.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    loss_g = g_loss(D(fake), tiny_train.loss)
    loss_g.backward(inputs=list(G.parameters()))
    opt_g.step()
    assert torch.equal(stats["d_loss"], loss.detach()) and torch.equal(
        stats["g_loss"], loss_g.detach()
    )
    for a, b in zip(
        [*state.G.parameters(), *state.D.parameters()],
        [*G.parameters(), *D.parameters()],
    ):
        assert torch.equal(a, b)


CPUINFO = "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2 {}\n"


@pytest.mark.parametrize(
    "flags, native",
    [
        ("avx512f avx512_bf16", True),
        ("amx_tile amx_bf16", True),
        ("avx512f avx512bw", False),
        ("", False),
    ],
)
def test_cpu_bf16_detection_reads_the_instruction_set_flags(flags, native):
    assert cpu_has_native_bf16(CPUINFO.format(flags)) is native


def test_cpu_bf16_detection_without_cpuinfo_is_off():
    assert cpu_has_native_bf16("") is False  # e.g. no flags line at all


@pytest.mark.parametrize(
    "native, enabled, expected",
    [(True, True, "bf16"), (False, True, "fp32"), (True, False, "fp32")],
)
def test_cpu_precision_needs_native_bf16_and_the_setting(
    monkeypatch, native, enabled, expected
):
    monkeypatch.setattr(
        device_module, "cpu_has_native_bf16", lambda cpuinfo=None: native
    )
    monkeypatch.setattr(device_module, "CPU_BF16", enabled)
    cpu = speed_settings(torch.device("cpu"))
    assert cpu.precision == expected and cpu.channels_last and not cpu.compile
    assert speed_settings(torch.device("cpu"), fast=False) == PLAIN


@pytest.mark.parametrize(
    "capability, expected",
    [
        ((9, 0), "bf16"),
        ((8, 0), "bf16"),
        ((8, 6), "bf16"),
        ((7, 5), "fp16"),
        ((7, 0), "fp16"),
        ((6, 1), "fp32"),
    ],
)
def test_cuda_precision_by_compute_capability(monkeypatch, capability, expected):
    # faked: a T4 (7.5) reports bf16 "supported" by emulation, yet gets fp16 here
    assert cuda_precision(capability) == expected
    monkeypatch.setattr(
        torch.cuda, "get_device_capability", lambda device=None: capability
    )
    gpu = speed_settings(torch.device("cuda"))
    assert gpu.precision == expected and gpu.channels_last and gpu.fused_adam
    assert speed_settings(torch.device("cuda"), fast=False) == PLAIN


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="precision"):
        SpeedSettings(channels_last=False, fused_adam=False, precision="fp8")


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("chosen", ["fp32", "bf16"])
def test_a_chosen_cpu_precision_wins_over_the_hardware_default(
    monkeypatch, native, chosen
):
    monkeypatch.setattr(
        device_module, "cpu_has_native_bf16", lambda cpuinfo=None: native
    )
    assert (
        speed_settings(torch.device("cpu"), precision=chosen).precision == chosen
    )
    assert speed_settings(torch.device("cpu")).precision == (
        "bf16" if native else "fp32"
    )  # "auto"


@pytest.mark.parametrize(
    "device, fast, precision, problem",
    [
        ("cpu", True, "fp16", "CUDA GPU"),
        ("cpu", False, "bf16", "plain path"),
        ("mps", True, "bf16", "plain path"),
        ("cpu", True, "fp8", "choose one of fp32"),
    ],
)
def test_a_precision_the_device_cannot_run_is_refused(
    device, fast, precision, problem
):
    with pytest.raises(ConfigError, match=problem):
        speed_settings(torch.device(device), fast=fast, precision=precision)


def test_train_config_precision_reaches_the_step(
    tiny_model, tiny_train, monkeypatch
):
    monkeypatch.setattr(
        device_module, "cpu_has_native_bf16", lambda cpuinfo=None: True
    )
    assert make_state(tiny_model, tiny_train).speed.precision == "bf16"
    chosen = make_state(
        tiny_model, TrainConfig(**{**tiny_train.__dict__, "precision": "fp32"})
    )
    assert chosen.speed.precision == "fp32"
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(**{**tiny_train.__dict__, "precision": "half"}).validate()


def test_fast_settings_compile_flag():
    assert speed_settings(torch.device("cpu"), compile=True).compile
    assert not speed_settings(torch.device("cpu")).compile


def test_each_fast_setting_takes_effect_on_the_cpu(tiny_model, tiny_train):
    # the same losses alone would not notice a fast setting that silently does nothing
    fast = make_state(tiny_model, tiny_train)
    assert fast.speed.channels_last and fast.speed.fused_adam
    conv = next(
        m for m in fast.G.modules() if isinstance(m, torch.nn.ConvTranspose2d)
    )
    assert (
        conv.weight.is_contiguous(memory_format=torch.channels_last)
        and not conv.weight.is_contiguous()
    )
    assert fast.opt_g.defaults["fused"] and fast.opt_d.defaults["fused"]
    batch = fast.speed.prepare_batch(
        torch.zeros(8, 3, 28, 28)
    )  # 3 channels: with 1 both layouts coincide
    assert (
        batch.is_contiguous(memory_format=torch.channels_last)
        and not batch.is_contiguous()
    )
    plain = make_state(
        tiny_model, TrainConfig(**{**tiny_train.__dict__, "fast": False})
    )
    assert not plain.opt_g.defaults["fused"]
    assert next(plain.G.parameters()).is_contiguous()
    assert (
        plain.d_backward_and_step is backward_and_step
        and plain.g_backward_and_step is backward_and_step
    )


@pytest.mark.parametrize(
    "precision, dtype",
    [("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)],
)
def test_precision_setting_sets_the_convolutions_dtype(precision, dtype):
    conv = torch.nn.Conv2d(1, 4, 3)
    settings = SpeedSettings(
        channels_last=False, fused_adam=False, precision=precision
    )
    with settings.autocast(torch.device("cpu")):
        assert conv(torch.randn(2, 1, 8, 8)).dtype == dtype
    assert settings.bf16 == (precision == "bf16")


def _fp16_state(monkeypatch, tiny_model, tiny_train):
    """A state as make_state builds it on an fp16 GPU (faked: the fp16 path runs on the CPU too)."""
    home = sys.modules[
        make_state.__module__
    ]  # the module make_state reads speed_settings from
    monkeypatch.setattr(
        home,
        "speed_settings",
        lambda device, fast=True, compile=False, precision="auto": FP16,
    )
    return make_state(
        tiny_model, TrainConfig(**{**tiny_train.__dict__, "steps": 6})
    )


def test_fp16_path_has_one_scaler_per_optimiser_and_trains(
    monkeypatch, tiny_model, tiny_train
):
    state = _fp16_state(monkeypatch, tiny_model, tiny_train)
    assert isinstance(
        state.d_backward_and_step, ScaledBackwardAndStep
    ) and isinstance(state.g_backward_and_step, ScaledBackwardAndStep)
    assert (
        state.d_backward_and_step.scaler is not state.g_backward_and_step.scaler
    )
    g_before = [p.detach().clone() for p in state.G.parameters()]
    d_before = [p.detach().clone() for p in state.D.parameters()]
    train_gan(state, _loader(), progress=False)
    assert state.step == 6 and all(
        torch.isfinite(torch.tensor(state.history["d_loss"]))
    )
    assert (
        state.d_backward_and_step.scaler.get_scale() > 1
        and state.g_backward_and_step.scaler.get_scale() > 1
    )  # in use
    assert any(
        not torch.equal(a, b) for a, b in zip(g_before, state.G.parameters())
    )
    assert any(
        not torch.equal(a, b) for a, b in zip(d_before, state.D.parameters())
    )


def test_scaled_update_skips_an_overflowing_step_and_lowers_the_scale():
    layer = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    update = ScaledBackwardAndStep("cpu")
    before = [p.detach().clone() for p in layer.parameters()]
    start = update.scaler.get_scale()
    update(
        layer(torch.full((2, 3), float("inf"))).sum(), opt
    )  # gradients overflow
    assert all(
        torch.equal(a, b) for a, b in zip(before, layer.parameters())
    )  # no inf written into weights
    assert update.scaler.get_scale() < start
    opt.zero_grad()
    update(layer(torch.ones(2, 3)).sum(), opt)  # a clean step goes through
    assert any(not torch.equal(a, b) for a, b in zip(before, layer.parameters()))


def test_fp16_run_that_diverges_still_stops(monkeypatch, tiny_model, tiny_train):
    # the scaler silently skips steps with non-finite gradients; the loss check must still stop the run
    state = _fp16_state(monkeypatch, tiny_model, tiny_train)
    with torch.no_grad():
        next(state.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN or infinite at step 1"):
        train_gan(state, _loader(), progress=False)


def test_fp16_loss_scales_survive_a_checkpoint(
    monkeypatch, tiny_model, tiny_train, tmp_path
):
    """A resumed fp16 run keeps each optimiser's learned loss scale instead of starting again at 65,536."""
    from dcgan_tutorial.checkpoint import save_checkpoint, state_from_checkpoint

    state = _fp16_state(monkeypatch, tiny_model, tiny_train)
    train_gan(state, _loader(), progress=False)
    state.d_backward_and_step.scaler.update(
        1024.0
    )  # as after overflows: the two scales differ from the start value
    state.g_backward_and_step.scaler.update(8.0)
    data = torch.load(
        save_checkpoint(state, tmp_path / "c.pt"), weights_only=True
    )
    restored = state_from_checkpoint(data)
    assert (
        restored.d_backward_and_step.scaler.get_scale() == 1024.0
        and restored.g_backward_and_step.scaler.get_scale() == 8.0
    )


_FAULTS_PER_STEP = """
import resource, sys, torch
torch.set_num_threads(1)
from dcgan_tutorial import make_state, train_step
from dataclasses import replace
from dcgan_tutorial.presets import get_preset
preset = get_preset("mnist28")
state = make_state(preset.model, replace(preset.train, fast=sys.argv[1] == "fast"))
batch = torch.rand(64, 1, 28, 28) * 2 - 1
for _ in range(3):
    train_step(state, batch)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    train_step(state, batch)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="glibc's malloc settings: Linux only",
)
def test_fast_cpu_steps_reuse_freed_memory_instead_of_page_faulting():
    """With the fast settings a CPU step takes no new pages from the system; glibc's defaults take thousands."""
    import subprocess

    faults = {
        mode: float(
            subprocess.run(
                [sys.executable, "-c", _FAULTS_PER_STEP, mode],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout
        )
        for mode in ("fast", "plain")
    }
    assert faults["plain"] > 500, (
        faults
    )  # the default allocator really does fault, thousands of pages a step
    assert faults["fast"] < faults["plain"] / 10, (
        faults
    )  # kept memory: a few stray pages at most
