"""Checkpoints: the whole training state in one file, written atomically, loaded safely.

``read_pt`` is the package's one reader of ``.pt`` files (checkpoints, shipped generators,
shipped classifiers): ``weights_only=True``, and one clear error for a missing or damaged file.

One ``.pt`` file holds both models, both optimisers, step, epoch, both configs, the RNG
states, ``fixed_z``, the history and the fixed-noise grids, so training resumes exactly
where it stopped. Only tensors, numbers, strings, lists and dicts are stored, so it loads
with ``torch.load(..., weights_only=True)``, which refuses to run code from a file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from .config import (
    ConfigError,
    ModelConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
)
from .distributed import unwrap
from .models import build_generator
from .runfolder import resolve_checkpoint_path, write_atomically
from .state import GANState, learning_rates, make_state

FORMAT = "dcgan_tutorial.checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format",
    "format_version",
    "model_config",
    "train_config",
    "G",
    "D",
    "opt_g",
    "opt_d",
    "step",
    "epoch",
    "fixed_z",
    "history",
    "rng",
)


class CheckpointError(ValueError):
    """A file is missing, is not a dcgan_tutorial checkpoint, or cannot be used here."""


def state_dict_of(state: GANState) -> dict[str, Any]:
    """The checkpoint contents of ``state`` (plain containers and tensors only)."""
    rng = {"torch": torch.get_rng_state(), "noise": state.noise_gen.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    steps = [s for s, _ in state.samples]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config_to_dict(state.model_cfg),
        "train_config": config_to_dict(state.train_cfg),
        "G": unwrap(state.G).state_dict(),
        "D": unwrap(state.D).state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "step": state.step,
        "epoch": state.epoch,
        "fixed_z": state.fixed_z.cpu(),
        "history": {k: list(v) for k, v in state.history.items()},
        "samples": {
            "steps": steps,
            "images": torch.stack([img for _, img in state.samples])
            if steps
            else torch.empty(0),
        },
        "rng": rng,
        **_trick_states(state),
    }


def _trick_states(state: GANState) -> dict[str, Any]:
    """What a resumed run needs beyond the models: the EMA generator, the fp16 loss scales."""
    out: dict[str, Any] = {}
    if state.ema is not None:
        out["ema"] = {"G": state.ema.G.state_dict(), "updates": state.ema.updates}
    scalers = {
        name: update.scaler.state_dict()
        for name, update in _updates(state)
        if hasattr(update, "scaler")
    }
    if scalers:
        out["scalers"] = scalers
    return out


def _restore_trick_states(state: GANState, data: dict[str, Any]) -> None:
    """The inverse of ``_trick_states``; an older checkpoint without them starts a new average and new scales."""
    if state.ema is not None and "ema" in data:
        state.ema.G.load_state_dict(data["ema"]["G"])
        state.ema.updates = int(data["ema"]["updates"])
    for name, update in _updates(state):
        if hasattr(update, "scaler") and name in data.get("scalers", {}):
            update.scaler.load_state_dict(data["scalers"][name])


def _updates(state: GANState) -> tuple[tuple[str, Any], ...]:
    """Each optimiser's update under its name in the checkpoint ("d", "g"): fp16's carry a loss scaler."""
    return ("d", state.d_backward_and_step), ("g", state.g_backward_and_step)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to memory, then to a temporary file in the same folder, flushed to disk and renamed.

    A rename within a folder is atomic, so ``path`` always holds either the old complete file
    or the new complete file, even if the process is killed mid-write. A full disk removes the
    temporary file and raises ``DiskFullError`` naming the folder, its free space and the space
    needed (``runfolder.write_atomically``). Serialising to memory first matters: ``torch.save``
    into a file on a full disk fails inside its zip writer (``RuntimeError: ... unexpected pos``),
    which says nothing of the disk.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_atomically(path, buffer.getbuffer())


def save_checkpoint(state: GANState, path: str | os.PathLike) -> Path:
    """Write the full training state to ``path`` atomically."""
    return atomic_save(state_dict_of(state), path)


def read_pt(
    path: str | os.PathLike,
    what: str,
    fix: str,
    error: type[Exception] = CheckpointError,
) -> Any:
    """The contents of a ``.pt`` file, loaded with ``weights_only=True`` (nothing in it can run).

    ``what`` names the file's kind in the message, ``fix`` says what to do; a missing or damaged
    file raises ``error`` (a ``CheckpointError`` unless the caller has its own kind).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} does not exist (or is not a file): {fix}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses code; a damaged file can fail in many ways, all the same to us
        first = (
            str(err).strip().splitlines()[0]
            if str(err).strip()
            else type(err).__name__
        )
        raise error(
            f"{path} is not a readable {what} (truncated, corrupt, or another kind of file; nothing in "
            f"it was run): {first}. {fix[0].upper() + fix[1:]}"
        ) from err


CHECKPOINT_FIX = (
    "give the path of a .pt file written by 'python -m dcgan_tutorial train'"
)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw contents of a checkpoint, checked; any problem is a
    ``CheckpointError`` that says what."""
    path = resolve_checkpoint_path(path)
    return check_checkpoint(
        read_pt(path, "dcgan_tutorial checkpoint", CHECKPOINT_FIX), path
    )


def check_checkpoint(data: Any, path: str | os.PathLike) -> dict[str, Any]:
    """``data`` (read from ``path``) if it is a complete checkpoint this version reads, else a ``CheckpointError``."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a dcgan_tutorial checkpoint (no '{FORMAT}' marker)"
        )
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {data.get('format_version')!r}; this "
            f"dcgan_tutorial reads version {FORMAT_VERSION}: use the version that wrote it"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(
            f"{path} is incomplete: it lacks {', '.join(missing)}"
        )
    return data


def configs_of(data: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs stored in a checkpoint."""
    try:
        return (
            config_from_dict(ModelConfig, data["model_config"]),
            config_from_dict(TrainConfig, data["train_config"]),
        )
    except (ConfigError, TypeError) as err:
        raise CheckpointError(
            f"the checkpoint's configuration cannot be used: {err}"
        ) from err


def load_checkpoint(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> GANState:
    """A ``GANState`` exactly as it was saved: models, optimisers, step, RNG, history, samples."""
    return state_from_checkpoint(
        read_checkpoint(path), device, source=str(resolve_checkpoint_path(path))
    )


def state_from_checkpoint(
    data: dict[str, Any],
    device: torch.device | str = "cpu",
    train_cfg: TrainConfig | None = None,
    source: str = "the checkpoint",
) -> GANState:
    """The ``GANState`` held by a checkpoint's contents (``read_checkpoint``), built once on ``device``.

    ``train_cfg``: continue under these training settings (new limits, learning rates, betas)
    instead of the stored ones; the optimisers' state is kept, their hyperparameters updated.
    ``source``: the file, named in errors.
    """
    try:
        model_cfg, stored_cfg = configs_of(data)
        state = make_state(model_cfg, train_cfg or stored_cfg, device)
    except (ConfigError, CheckpointError) as err:
        raise CheckpointError(
            f"{source}: its configuration cannot be used: {err}"
        ) from err
    try:
        unwrap(state.G).load_state_dict(data["G"])
        unwrap(state.D).load_state_dict(data["D"])
        state.opt_g.load_state_dict(data["opt_g"])
        state.opt_d.load_state_dict(data["opt_d"])
        _restore_trick_states(state, data)
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"{source} does not match its own model configuration: {err}"
        ) from err
    if train_cfg is not None:
        # load_state_dict restored the stored rates: the new settings win, at
        # the schedule's rates for the next step (which sets them again)
        rates = learning_rates(train_cfg, int(data["step"]))
        for opt, lr in zip((state.opt_g, state.opt_d), rates):
            for group in opt.param_groups:
                group["lr"], group["betas"] = (
                    lr,
                    (train_cfg.beta1, train_cfg.beta2),
                )
    state.step, state.epoch = int(data["step"]), int(data["epoch"])
    state.fixed_z = data["fixed_z"].to(state.device)
    state.history = {k: list(v) for k, v in data["history"].items()}
    samples = data.get("samples", {"steps": []})
    state.samples = [
        (int(s), img)
        for s, img in zip(samples["steps"], samples.get("images", []))
    ]
    torch.set_rng_state(data["rng"]["torch"])
    state.noise_gen.set_state(data["rng"]["noise"])
    if "cuda" in data["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(data["rng"]["cuda"])
    return state


def load_generator(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, ModelConfig]:
    """Only the generator of a checkpoint (in eval mode) and its model config, for
    sampling."""
    return generator_of(read_checkpoint(path), path, device)


def generator_of(
    data: dict[str, Any],
    path: str | os.PathLike,
    device: torch.device | str = "cpu",
) -> tuple[torch.nn.Module, ModelConfig]:
    """The generator (eval mode) and model config held by a checkpoint's contents (``read_checkpoint``)."""
    model_cfg, _ = configs_of(data)
    # the checkpoint's architecture: dcgan, a seed's, or conditional
    G = build_generator(model_cfg)
    try:
        G.load_state_dict(data["G"])
    except RuntimeError as err:
        raise CheckpointError(
            f"{path}: its generator weights do not match its configuration: {err}"
        ) from err
    return G.to(device).eval(), model_cfg
