"""Running out of memory during a step: recognised once, told as the batch size and what to try.

PyTorch reports a full GPU as ``torch.OutOfMemoryError`` (CUDA, and MPS in recent releases),
but a failed CPU allocation as a plain ``RuntimeError`` from its allocator. ``train_gan``
asks ``out_of_memory`` about an error raised by a step and turns both into ``OutOfMemory``,
which names the batch size and the model that did not fit; the CLI prints it as one line.
"""

from __future__ import annotations

import torch

from .config import ModelConfig

# the CPU allocator's words (c10/core/impl/alloc_cpu.cpp): its failure has no exception type of its own
CPU_ALLOCATOR_FAILURE = "DefaultCPUAllocator: can't allocate memory"


class OutOfMemory(Exception):
    """The device ran out of memory during a training step; the message says what to try."""

    def __init__(
        self,
        device: torch.device,
        batch_size: int,
        model_cfg: ModelConfig,
        step: int,
    ):
        self.device, self.batch_size, self.model_cfg, self.step = (
            device,
            batch_size,
            model_cfg,
            step,
        )
        size = model_cfg.image_size
        tips = [
            f"a smaller --batch-size (e.g. {max(1, batch_size // 2)})",
            "a smaller preset (e.g. --preset mnist28, 28x28 images)",
        ]
        tips.append(
            "closing other programs"
            if device.type == "cpu"
            else "the CPU (--device cpu)"
        )
        super().__init__(
            f"out of memory on {device.type} at step {step + 1} with batch size {batch_size} "
            f"({model_cfg.arch}, {size}x{size} images, ngf {model_cfg.ngf}, ndf {model_cfg.ndf}): try "
            f"{', '.join(tips[:-1])} or {tips[-1]}. The last checkpoint written is intact."
        )


def out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a failed allocation: a GPU's ``torch.OutOfMemoryError`` or the CPU allocator's."""
    return isinstance(err, torch.OutOfMemoryError) or (
        isinstance(err, RuntimeError) and CPU_ALLOCATOR_FAILURE in str(err)
    )


def raise_if_out_of_memory(
    err: BaseException,
    device: torch.device,
    batch_size: int,
    model_cfg: ModelConfig,
    step: int,
) -> None:
    """Raise ``OutOfMemory`` in place of ``err`` if it is a failed allocation; return otherwise."""
    if not out_of_memory(err):
        return None
    # the failed step's tensors hang on the traceback: drop them, so a notebook can carry on with less
    err.__traceback__ = None
    raise OutOfMemory(torch.device(device), batch_size, model_cfg, step) from err
