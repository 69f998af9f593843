"""The device: which one to train on, the settings that make a step fast there, and its name.

None of these changes the method. In fp32 on the CPU the fast and the plain step give the same
losses (``tests/test_device.py``). Reduced precision (autocast) rounds activations to 16 bits,
which changes the numbers slightly; it is used only where the hardware runs it natively:

- bf16 on GPUs of compute capability 8.0 and later (A100, H100, L4, RTX 30xx on), and on CPUs
  whose instruction set has bf16 (AVX-512 BF16 or AMX);
- fp16 with loss scaling (``torch.amp.GradScaler``) on older GPUs with fp16 tensor cores
  (V100, T4: capability 7.x), where bf16 is only emulated in software and slower than fp32;
- fp32 everywhere else.

The figures behind each choice are in ``benchmarks/results/`` (``benchmarks/throughput.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

from .config import PRECISIONS, ConfigError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class DeviceUnavailable(RuntimeError):
    """The device asked for is not on this machine; the message says what to use instead."""


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: the GPU if there is one (CUDA, then Apple MPS), else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable(
            "device='cuda' was asked for but no CUDA GPU is "
            "visible; use --device cpu or auto"
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailable(
            "device='mps' was asked for but Apple MPS is not "
            "available; use --device cpu or auto"
        )
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", name, "choose one of auto, cpu, cuda, mps")
    return torch.device(name)


@dataclass(frozen=True)
class SpeedSettings:
    channels_last: bool  # NHWC memory layout: what cuDNN's and oneDNN's fastest convolutions want
    fused_adam: bool  # one fused kernel for every Adam update instead of a loop over tensors
    precision: str = "fp32"  # autocast dtype of the convolutions: "fp32" (none), "bf16" or "fp16"
    compile: bool = False  # torch.compile G and D

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ConfigError(
                "precision",
                self.precision,
                f"choose one of {', '.join(PRECISIONS)}",
            )

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def autocast(self, device: torch.device):
        """The context a forward pass runs in (weights, losses and Adam stay fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(
            device_type=device.type, dtype=AUTOCAST_DTYPES[self.precision]
        )

    def prepare_batch(self, images: torch.Tensor) -> torch.Tensor:
        return (
            images.contiguous(memory_format=torch.channels_last)
            if self.channels_last
            else images
        )


PLAIN = SpeedSettings(
    channels_last=False, fused_adam=False, precision="fp32", compile=False
)


def cpu_has_native_bf16(cpuinfo: Optional[str] = None) -> bool:
    """Whether this CPU computes in bf16 in hardware: the AVX-512 BF16 or AMX-BF16 instructions.

    ``cpuinfo``: the text of ``/proc/cpuinfo`` (read from the machine when ``None``). Elsewhere
    (macOS, Windows: no such file) the answer is False, so the CPU keeps fp32.
    """
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        if not path.is_file():
            return False
        cpuinfo = path.read_text(errors="replace")
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return bool({"avx512_bf16", "amx_bf16"} & set(value.split()))
    return False


def cuda_precision(capability: tuple[int, int]) -> str:
    """The autocast precision a GPU of this compute capability runs natively.

    8.0 and later (Ampere on) have bf16 tensor cores. 7.x (V100, T4) have fp16 tensor cores
    only: there ``torch.cuda.is_bf16_supported()`` is True by software emulation, which is
    slower than fp32, so fp16 with loss scaling is used. Older GPUs keep fp32.
    """
    if tuple(capability) >= (8, 0):
        return "bf16"
    if tuple(capability) >= (7, 0):
        return "fp16"
    return "fp32"


def speed_settings(
    device: torch.device,
    fast: bool = True,
    compile: bool = False,
    precision: str = "auto",
) -> SpeedSettings:
    """The fastest settings measured for ``device`` (``fast=False``: the plain fp32 path).

    precision: ``"auto"``, the autocast this hardware runs natively (the module's docstring), or
    a choice: ``"fp32"``, ``"bf16"`` (any device autocast supports it on) or ``"fp16"`` (with
    loss scaling: CUDA GPUs only). On the CPU the fast settings also make glibc's malloc keep the
    memory a step frees (``keep_freed_cpu_memory``, once per process); ``make_state`` asks for
    them before building.
    """
    if (
        precision != "auto"
    ):  # which values exist is checked by TrainConfig and SpeedSettings; here: this device
        if precision == "fp16" and device.type != "cuda":
            raise ConfigError(
                "precision",
                precision,
                f"fp16 with loss scaling runs on a CUDA GPU; on "
                f"{device.type} use 'auto', 'fp32' or 'bf16'",
            )
        if precision != "fp32" and (
            not fast or device.type not in ("cpu", "cuda")
        ):
            raise ConfigError(
                "precision",
                precision,
                "the plain path (fast=False, or Apple MPS) runs in fp32: "
                "use 'auto' or 'fp32'",
            )
    if not fast:
        return SpeedSettings(False, False, "fp32", compile)
    if device.type == "cuda":
        # GPU: NHWC + 16-bit autocast let cuDNN use tensor cores; fused Adam is one kernel launch per step
        native = cuda_precision(torch.cuda.get_device_capability(device))
        return SpeedSettings(
            channels_last=True,
            fused_adam=True,
            precision=_chosen(precision, native),
            compile=compile,
        )
    if device.type == "cpu":
        keep_freed_cpu_memory()  # no page faults for the memory each step frees and takes again
        native = "bf16" if CPU_BF16 and cpu_has_native_bf16() else "fp32"
        return SpeedSettings(
            channels_last=CPU_CHANNELS_LAST,
            fused_adam=CPU_FUSED_ADAM,
            precision=_chosen(precision, native),
            compile=compile,
        )
    return SpeedSettings(False, False, "fp32", compile)  # MPS: the plain path


def _chosen(precision: str, native: str) -> str:
    return native if precision == "auto" else precision


_MALLOPT = {
    "M_TRIM_THRESHOLD": -1,
    "M_TOP_PAD": -2,
    "M_MMAP_THRESHOLD": -3,
}  # glibc's malloc.h
_KEPT: list[bool] = []  # set once per process


def keep_freed_cpu_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next step instead of handing it back to the system.

    A CPU training step allocates and frees the same few megabytes of activations and gradients
    every time. glibc's defaults return freed memory at the top of the heap to the system and
    serve blocks above a threshold with fresh ``mmap`` pages, so every step touches thousands of
    new pages, each a page fault in which the kernel hands out a zeroed page: about 2,400 per
    ``mnist28`` step at batch 64, measured with ``getrusage`` (``benchmarks/results/cpu_allocator.json``).
    Raising the trim threshold (1 GiB), padding the heap (64 MiB) and fixing the ``mmap``
    threshold at its largest (32 MiB) keeps those pages, the same as ``MALLOC_TRIM_THRESHOLD_`` etc.
    in the environment. Linux with glibc only; True when the settings took effect. ``speed_settings``
    calls it for the fast CPU settings.
    """
    if not _KEPT:
        ok = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL("libc.so.6").mallopt
                ok = all(
                    mallopt(_MALLOPT[name], value) == 1
                    for name, value in (
                        ("M_MMAP_THRESHOLD", 32 << 20),
                        ("M_TRIM_THRESHOLD", 1 << 30),
                        ("M_TOP_PAD", 64 << 20),
                    )
                )
            except (OSError, AttributeError):
                ok = False
        _KEPT.append(ok)
    return _KEPT[0]


# Measured with benchmarks/throughput.py on the 2-core CPU (benchmarks/results/throughput_cpu.json).
CPU_CHANNELS_LAST = True
CPU_FUSED_ADAM = True
# bf16 autocast on CPUs with native bf16: mnist28's FID at 4,000 to 8,000 steps lies within fp32's
# seed-to-seed spread (benchmarks/cpu_precision_quality.py; benchmarks/README.md, "Precision")
CPU_BF16 = True


def backward_and_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    inputs: Optional[list[torch.Tensor]] = None,
) -> None:
    """``loss.backward()``, then ``optimizer.step()``: the update of the fp32 and bf16 paths.

    inputs: the tensors to compute gradients for (``None``: every leaf the loss depends on).
    """
    loss.backward(inputs=inputs)
    optimizer.step()


class ScaledBackwardAndStep:
    """The fp16 update: backward on the loss times a scale, then the step on unscaled gradients.

    Small gradients underflow to zero in fp16; multiplying the loss by a large scale (65,536 to
    start) keeps them. ``GradScaler`` divides the gradients by it again before the step, skips a
    step whose gradients overflowed (inf/NaN) and lowers the scale, and raises it after 2,000
    clean steps. A GAN has two losses and two optimisers: each gets its own scaler (one of these
    objects each), because D's and G's losses have different sizes and overflow at different
    times; with a single scaler an overflow in D's backward would also shrink G's scale. Each
    call finishes its own update (scale, backward, step, update), so ``d_step`` and ``g_step``
    stay independent.
    """

    def __init__(self, device: torch.device | str):
        self.scaler = torch.amp.GradScaler(torch.device(device).type)

    def __call__(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        inputs: Optional[list[torch.Tensor]] = None,
    ) -> None:
        self.scaler.scale(loss).backward(inputs=inputs)
        self.scaler.step(optimizer)
        self.scaler.update()


def make_update(settings: SpeedSettings, device: torch.device | str) -> Callable:
    """The "backward and step" of one optimiser under ``settings``: scaled for fp16, plain otherwise."""
    return (
        ScaledBackwardAndStep(device)
        if settings.precision == "fp16"
        else backward_and_step
    )


def make_adam(
    params, lr: float, betas: tuple[float, float], settings: SpeedSettings
) -> torch.optim.Adam:
    """Adam, fused when the settings say so (same update rule either way)."""
    return torch.optim.Adam(
        params, lr=lr, betas=betas, fused=True if settings.fused_adam else None
    )


def prepare_model(model: nn.Module, settings: SpeedSettings) -> nn.Module:
    """The model in the memory layout the settings ask for (compiling is done separately)."""
    return (
        model.to(memory_format=torch.channels_last)
        if settings.channels_last
        else model
    )


def hardware_name(device: torch.device | str = "cpu") -> str:
    """What a timing ran on: the GPU's name, or the CPU's model name and the torch thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        name = models[0] if models else name
    threads = torch.get_num_threads()
    return f"{name}, {threads} thread{'s' if threads != 1 else ''}"
