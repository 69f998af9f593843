"""Trained generators shipped with the package, loaded offline with ``weights_only=True``.

A shipped file holds only what sampling needs: the generator's weights, its model config and
where it came from (the command, the hardware and the time of the training run that made it;
``dcgan_tutorial/assets/README.md`` lists them). ``export_generator`` makes one from a
training checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import (
    CHECKPOINT_FIX,
    CheckpointError,
    atomic_save,
    check_checkpoint,
    configs_of,
    generator_of,
    read_checkpoint,
    read_pt,
)
from .classifier import ASSETS
from .config import ConfigError, ModelConfig, config_from_dict, config_to_dict
from .models import build_generator
from .runfolder import resolve_checkpoint_path

FORMAT = "dcgan_tutorial.generator"
FORMAT_VERSION = 1
# name -> file: the classic unconditional DCGAN, and a conditional one (sample --class K)
PRETRAINED = {
    "mnist": ASSETS / "mnist_generator.pt",
    "mnist-cond": ASSETS / "mnist-cond_generator.pt",
    "emoji": ASSETS / "emoji_generator.pt",
}  # colour, conditional on the emoji's 9 groups


def save_generator_file(
    G: dict,
    model_cfg: ModelConfig,
    dataset: str,
    step: int,
    path: str | os.PathLike,
    provenance: dict[str, Any],
    run: dict | None = None,
) -> Path:
    """The one writer of a generator file: G's weights (a state_dict), its model config, its
    dataset and step; ``run``: the run's grids and curves to show without its folder."""
    shipped = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config_to_dict(model_cfg),
        "dataset": dataset,
        "step": int(step),
        "G": G,
        "provenance": provenance,
    }
    if run is not None:
        shipped["run"] = run
    return atomic_save(shipped, path)


def export_generator(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    provenance: dict[str, Any],
    weights: dict | None = None,
    max_grids: int = 0,
) -> Path:
    """Write the generator of a training checkpoint as a small shippable file.

    weights: G's state_dict to ship instead of the checkpoint's (e.g. the EMA generator's).
    max_grids: also keep up to this many of the run's fixed-noise grids (evenly spread, uint8)
    and its loss history as ``run``, so a chapter can show the run without its folder.
    """
    data = read_checkpoint(checkpoint)
    model_cfg, train_cfg = configs_of(data)
    run = None
    steps = data["samples"]["steps"]
    if max_grids and steps:
        keep = sorted(
            {
                round(i * (len(steps) - 1) / max(1, max_grids - 1))
                for i in range(max_grids)
            }
        )
        run = {
            "sample_steps": [steps[i] for i in keep],
            "history": data["history"],
            "samples": data["samples"]["images"][
                keep
            ],  # uint8 already (train.py)
        }
    G = weights or data["G"]
    return save_generator_file(
        G, model_cfg, train_cfg.dataset, data["step"], out, provenance, run
    )


GENERATOR_FIX = "give a file written by export_generator, or use --checkpoint"


def load_generator_file(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[nn.Module, ModelConfig, dict]:
    """A generator file written by ``save_generator_file``: (G in eval mode, its config, its metadata)."""
    return _generator_of(
        read_pt(path, "generator file", GENERATOR_FIX), path, device
    )


def _generator_of(
    data: Any, path: str | os.PathLike, device: torch.device | str
) -> tuple[nn.Module, ModelConfig, dict]:
    """The generator held by a generator file's contents (read once by the caller)."""
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("format_version") != FORMAT_VERSION
    ):
        raise CheckpointError(
            f"{path} is not a dcgan_tutorial generator file (format {FORMAT} version "
            f"{FORMAT_VERSION})"
        )
    try:
        cfg = config_from_dict(ModelConfig, data["model_config"])
        G = build_generator(cfg)
        G.load_state_dict(data["G"])
    except (ConfigError, KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(
            f"{path}: its weights do not fit its model configuration (wrong shape or damaged): "
            f"{str(err).splitlines()[0]}"
        ) from err
    meta = {k: data.get(k) for k in ("dataset", "step", "provenance", "run")}
    return G.to(device).eval(), cfg, meta


def load_pretrained(
    name: str = "mnist", device: torch.device | str = "cpu"
) -> tuple[nn.Module, ModelConfig, dict]:
    """A generator shipped with the package, by name (``mnist``, or ``mnist-cond``: conditional)."""
    if name not in PRETRAINED:
        raise ConfigError(
            "pretrained", name, f"choose one of {', '.join(PRETRAINED)}"
        )
    path = PRETRAINED[name]
    if not path.is_file():
        raise CheckpointError(
            f"the shipped generator {path} is missing: reinstall dcgan_tutorial, or make it with "
            f"'python scripts/train_pretrained.py' (see dcgan_tutorial/assets/README.md)"
        )
    return load_generator_file(path, device)


def load_generator_source(
    checkpoint: str | os.PathLike | None = None,
    pretrained: str | None = None,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, str, str]:
    """(G in eval mode, its dataset, a description) from a training checkpoint or a shipped generator's name.

    ``checkpoint`` may also be a generator file a run wrote beside its checkpoint (``best_generator.pt``
    of ``--fid-every``, ``ema_generator.pt`` of ``--ema-decay``): the file is read once and told
    apart by its format marker.
    """
    if pretrained:
        G, _, meta = load_pretrained(pretrained, device)
        return (
            G,
            meta["dataset"],
            f"shipped generator '{pretrained}' (step {meta['step']})",
        )
    path = resolve_checkpoint_path(checkpoint)
    data = read_pt(path, "dcgan_tutorial checkpoint", CHECKPOINT_FIX)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        G, _, meta = _generator_of(data, path, device)
        why = (meta["provenance"] or {}).get("selected", "a generator file")
        return G, meta["dataset"], f"{checkpoint} (step {meta['step']}: {why})"
    data = check_checkpoint(data, path)
    G, _ = generator_of(data, checkpoint, device)
    return G, configs_of(data)[1].dataset, f"{checkpoint} (step {data['step']})"
