"""More than one GPU (or CPU process): DistributedDataParallel, started by ``torchrun``.

    torchrun --nproc_per_node N -m dcgan_tutorial train ...

Each of the N processes (ranks) holds a copy of G and D, trains on its own share of every
global batch (``InMemoryLoader(rank=..., world_size=...)``) with its own noise stream, and
DDP averages the gradients before each optimiser step, so all copies stay identical. Only
rank 0 writes checkpoints and pictures. On GPUs the backend is NCCL, on CPUs gloo.
"""

from __future__ import annotations

import os
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def launched_by_torchrun() -> bool:
    """True when ``torchrun`` started this process as one of several ranks."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group torchrun set up; returns (rank, world_size, this rank's device)."""
    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), device


def is_distributed() -> bool:
    return (
        dist.is_available()
        and dist.is_initialized()
        and dist.get_world_size() > 1
    )


def wrap_models(
    G: nn.Module, D: nn.Module, device: torch.device
) -> tuple[nn.Module, nn.Module]:
    """G and D wrapped in DistributedDataParallel (gradients averaged across ranks)."""
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(G, device_ids=ids), DistributedDataParallel(
        D, device_ids=ids
    )


def distribute_state(state, rank: int, device: torch.device) -> None:
    """Make a ``GANState`` ready for DDP: this rank's own noise stream, G and D wrapped, DDP's gradient rule.

    DDP expects a gradient for every weight in each backward pass, so G's update computes D's
    weight gradients here too (``every_gradient``), which a single process skips.
    """
    state.noise_gen.manual_seed(
        state.train_cfg.seed + 1 + 7919 * rank + state.step
    )
    state.G, state.D = wrap_models(state.G, state.D, device)
    state.g_backward_and_step = every_gradient(state.g_backward_and_step)


class every_gradient:
    """``backward_and_step`` computing the gradient of every weight the loss depends on (``inputs`` ignored).

    ``g_step`` asks for G's gradients only (``inputs=``); a model wrapped in DDP waits for a
    gradient of each of its weights in every backward pass, D's included. Anything else (an
    fp16 update's ``scaler``) is the wrapped update's.
    """

    def __init__(self, backward_and_step: Callable):
        self.backward_and_step = backward_and_step

    def __call__(
        self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, inputs=None
    ) -> None:
        self.backward_and_step(loss, optimizer)

    def __getattr__(self, name: str):
        return getattr(self.__dict__["backward_and_step"], name)


def is_writer() -> bool:
    """One process writes: the only one, or rank 0 of several."""
    return not is_distributed() or dist.get_rank() == 0


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP and ``torch.compile`` wrappers (or the model itself)."""
    while True:
        if isinstance(model, DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def agree_to_stop(local: bool) -> bool:
    """True on every rank if any rank wants to stop (a time budget, Ctrl-C): ranks must stop together."""
    if not is_distributed():
        return local
    flag = torch.tensor([1.0 if local else 0.0])
    if dist.get_backend() == "nccl":
        flag = flag.cuda()
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def sync_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP does this at the start of every forward pass; after the last step each rank's
    running statistics have seen only its own batch, so training ends with this.
    """
    if is_distributed():
        for buffer in unwrap(model).buffers():
            dist.broadcast(buffer, src=0)


def weights_agree(model: nn.Module) -> bool:
    """Whether every rank holds exactly the same parameters and buffers."""
    if not is_distributed():
        return True
    flat = torch.cat(
        [
            t.detach().float().flatten()
            for t in unwrap(model).state_dict().values()
        ]
    )
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
