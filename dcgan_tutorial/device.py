"""The device: which one to train on, the settings that make a step fast there, and its name.

None of these changes what is learned: in fp32 on the CPU the fast and the plain step give the
same losses (``tests/test_speed.py``); bf16 autocast on a GPU rounds activations, which changes
the numbers slightly, not the method. The figures behind each choice are in
``benchmarks/results/`` (``python benchmarks/throughput.py``).
"""
from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import ConfigError


class DeviceUnavailable(RuntimeError):
    """The device asked for is not on this machine; the message says what to use instead."""


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: the GPU when there is one (CUDA, then Apple MPS), else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device='cuda' was asked for but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailable("device='mps' was asked for but Apple MPS is not available; use --device cpu or auto")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", name, "choose one of auto, cpu, cuda, mps")
    return torch.device(name)


@dataclass(frozen=True)
class SpeedSettings:
    channels_last: bool  # NHWC memory layout: what cuDNN's and oneDNN's fastest convolutions want
    fused_adam: bool  # one fused kernel for every Adam update instead of a loop over tensors
    bf16: bool  # bfloat16 autocast for the convolutions (fp32 weights, losses and optimiser)
    compile: bool  # torch.compile G and D

    def autocast(self, device: torch.device):
        """The context a forward pass runs in."""
        if self.bf16:
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare_batch(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images


PLAIN = SpeedSettings(channels_last=False, fused_adam=False, bf16=False, compile=False)


def speed_settings(device: torch.device, fast: bool = True, compile: bool = False) -> SpeedSettings:
    """The fastest settings measured for ``device`` (``fast=False``: the plain fp32 path)."""
    if not fast:
        return SpeedSettings(False, False, False, compile)
    if device.type == "cuda":
        # GPU: NHWC + bf16 let cuDNN use tensor cores; fused Adam is one kernel launch per step
        return SpeedSettings(channels_last=True, fused_adam=True, bf16=torch.cuda.is_bf16_supported(),
                             compile=compile)
    if device.type == "cpu":
        return SpeedSettings(channels_last=CPU_CHANNELS_LAST, fused_adam=CPU_FUSED_ADAM, bf16=False, compile=compile)
    return SpeedSettings(False, False, False, compile)  # MPS: the plain path


# Measured with benchmarks/throughput.py on the 2-core CPU (benchmarks/results/throughput_cpu.json).
CPU_CHANNELS_LAST = True
CPU_FUSED_ADAM = True


def make_adam(params, lr: float, betas: tuple[float, float], settings: SpeedSettings) -> torch.optim.Adam:
    """Adam, fused when the settings say so (same update rule either way)."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True if settings.fused_adam else None)


def prepare_model(model: nn.Module, settings: SpeedSettings) -> nn.Module:
    """The model in the memory layout the settings ask for (compiling is done separately)."""
    return model.to(memory_format=torch.channels_last) if settings.channels_last else model


def hardware_name(device: torch.device | str = "cpu") -> str:
    """What a timing ran on: the GPU's name, or the CPU's model name and the torch thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [l.split(":", 1)[1].strip() for l in cpuinfo.read_text().splitlines() if l.startswith("model name")]
        name = models[0] if models else name
    return f"{name}, {torch.get_num_threads()} threads"
