"""The layout of a run folder, in one place: what ``python -m dcgan_tutorial train --out RUN_DIR`` writes.

    RUN_DIR/checkpoint.pt            the latest checkpoint (written atomically)
    RUN_DIR/checkpoints/step_*.pt    the last few checkpoints (``--keep``)
    RUN_DIR/progress/step_*.png      the fixed-noise grid every ``sample_every`` steps
    RUN_DIR/losses.png               the loss and D-output curves
    RUN_DIR/training.gif             the fixed-noise grids as an animation
    RUN_DIR/history.json             the curves' numbers
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder (nothing is created until something is written)."""

    root: Path

    def __init__(self, root: str | os.PathLike):
        object.__setattr__(self, "root", Path(root))

    @property
    def checkpoint(self) -> Path:
        return self.root / CHECKPOINT_NAME

    @property
    def kept_checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def progress(self) -> Path:
        return self.root / "progress"

    def progress_image(self, step: int) -> Path:
        return self.progress / f"step_{step:06d}.png"

    @property
    def losses(self) -> Path:
        return self.root / "losses.png"

    @property
    def gif(self) -> Path:
        return self.root / "training.gif"

    @property
    def history(self) -> Path:
        return self.root / "history.json"


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or a run folder meaning its latest checkpoint (``RUN_DIR/checkpoint.pt``)."""
    path = Path(path)
    return RunFolder(path).checkpoint if path.is_dir() else path


class RunFolderError(ValueError):
    """An output folder cannot be used (it holds another run, or cannot be written); the message says why."""


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check a file can be written there; a ``RunFolderError`` if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise RunFolderError(f"--out {str(folder)!r} cannot be written ({err.strerror}): choose a folder you can "
                             f"write to") from err
    return folder
