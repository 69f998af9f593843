"""Where the data lives, and the errors a reader raises when it is not there or is damaged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

DATA_ENV = "DCGAN_TUTORIAL_DATA"


class DatasetError(Exception):
    """The dataset cannot be loaded; the message names the files and the fix."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not in the data root and could not be downloaded."""


class DatasetCorruptError(DatasetError):
    """The dataset's files are there but truncated, corrupt or not what torchvision expects."""


def resolve_data_root(data_root: Optional[str | os.PathLike] = None) -> Path:
    """The data folder: the argument, else ``$DCGAN_TUTORIAL_DATA``, else
    ``./data``."""
    if data_root is not None:
        return Path(data_root).expanduser()
    return Path(os.environ.get(DATA_ENV) or "data").expanduser()
