"""A generator a trick produced, written as a generator file: the averaged (EMA) G, the best G by FID.

The file has the format of the shipped generators (``pretrained.FORMAT``), so
``pretrained.load_generator_file`` reads it, and ``sample --checkpoint FILE`` samples from it. The
training checkpoint holds the average too, so a resumed run continues it.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..checkpoint import atomic_save
from ..config import config_to_dict
from ..distributed import is_distributed
from ..pretrained import FORMAT, FORMAT_VERSION
from ..train import Callback, GANState
from .ema import ema_generator


def is_writer() -> bool:
    """One process writes: the only one, or rank 0 of several."""
    return not is_distributed() or torch.distributed.get_rank() == 0


def save_generator_file(weights: dict, state: GANState, path: str | os.PathLike, why: str) -> Path:
    """Write G's ``weights`` (a state_dict) with the run's model config, dataset and step, and ``why``."""
    return atomic_save({"format": FORMAT, "format_version": FORMAT_VERSION,
                        "model_config": config_to_dict(state.model_cfg), "dataset": state.train_cfg.dataset,
                        "step": state.step, "G": weights, "provenance": {"selected": why}}, path)


class EMAWriter(Callback):
    """At every checkpoint, write the EMA generator (BatchNorm statistics re-estimated) to ``RUN_DIR/ema_generator.pt``."""

    def __init__(self, out_dir: str | os.PathLike):
        self.path = Path(out_dir) / "ema_generator.pt"

    def on_checkpoint(self, state: GANState) -> None:
        if state.ema is None or not is_writer():
            return
        G = ema_generator(state.ema)
        weights = {k: v.detach().cpu().clone() for k, v in G.state_dict().items()}
        save_generator_file(weights, state, self.path, f"the moving average of G's weights (decay "
                                                        f"{state.ema.decay}) after {state.ema.updates} updates")
