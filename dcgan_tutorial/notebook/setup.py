"""The first cell of every chapter: seed, device, recipe and quick mode, said out loud.

A chapter's first cell installs the package when it is missing (Colab) and then calls::

    chapter = start_chapter(seed=0)
    device, QUICK = chapter.device, chapter.quick

``start_chapter`` seeds torch, picks the device, and prints what it found; in Colab without a
GPU it says how to switch the runtime to one. Two environment variables steer the book:

    DCGAN_TUTORIAL_QUICK=1       quick mode (the tests): a few steps on a small subset
    DCGAN_TUTORIAL_RECIPE=gpu    take the GPU branch of every chapter (the 64x64 ``paper64``
                                 recipe, 5 epochs) on whatever device there is; ``cpu`` takes
                                 the CPU branch (``mnist28``) on a GPU too. Unset: the device decides.

Results that a chapter shows but cannot compute in its own time (a long run measured by a
script) ship with the package: ``stored_result(name)`` reads them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Optional

import torch

from ..config import ConfigError
from ..device import pick_device

QUICK_ENV, RECIPE_ENV = "DCGAN_TUTORIAL_QUICK", "DCGAN_TUTORIAL_RECIPE"
RECIPES = {
    "gpu": "paper64",
    "cpu": "mnist28",
}  # recipe -> the preset of the book's main run
COLAB_GPU_HINT = (
    "No GPU in this Colab runtime: the chapters run on the CPU, slowly. "
    "For a GPU: Runtime > Change runtime type > a GPU (T4 is free), Save, then run the "
    "notebook again from the top."
)


@dataclass(frozen=True)
class Chapter:
    """What a chapter needs from its first cell."""

    device: torch.device
    quick: (
        bool  # DCGAN_TUTORIAL_QUICK=1: a few steps on a small subset (the tests)
    )
    recipe: str  # "gpu" or "cpu": which branch the chapters take
    colab: bool  # running in Google Colab

    @property
    def preset(self) -> str:
        """The preset of the book's main run: ``paper64`` (64x64) for the GPU recipe, else ``mnist28``."""
        return RECIPES[self.recipe]

    def training_limits(self) -> tuple[dict, Optional[int]]:
        """How long the book's main run trains (chapter 6, and chapter 7 without chapter 6's checkpoint).

        Returns the ``TrainConfig`` fields that stop it and how many training images to keep
        (None: all): quick mode 30 steps on 2,048 images; the GPU recipe 5 epochs; the CPU
        recipe 7,085 steps (about 3 minutes on 2 CPU cores).
        """
        if self.quick:
            return {
                "steps": 30,
                "epochs": None,
                "time_budget": None,
                "sample_every": 10,
            }, 2048
        if self.recipe == "gpu":
            return {"steps": None, "epochs": 5, "time_budget": None}, None
        return {"steps": 7085, "epochs": None, "time_budget": None}, None


def in_colab() -> bool:
    """True inside Google Colab (its ``google.colab`` module is importable only there)."""
    if "google.colab" in sys.modules:
        return True
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def chapter_recipe(device: torch.device, environ=os.environ) -> str:
    """``DCGAN_TUTORIAL_RECIPE`` when set (``gpu`` or ``cpu``), else ``gpu`` on a CUDA GPU and ``cpu`` elsewhere."""
    value = environ.get(RECIPE_ENV, "").strip().lower()
    if not value:
        return "gpu" if device.type == "cuda" else "cpu"
    if value not in RECIPES:
        raise ConfigError(
            RECIPE_ENV,
            value,
            "set it to gpu or cpu, or unset it to let the device decide",
        )
    return value


def start_chapter(
    seed: int = 0,
    device: str = "auto",
    colab: Optional[bool] = None,
    environ=os.environ,
    say=print,
) -> Chapter:
    """Seed torch with ``seed``, pick the device, read quick mode and the recipe, and say what was found.

    ``colab`` (default: detected) and ``environ`` exist for the tests; ``say`` prints each line.
    """
    from .. import __version__

    torch.manual_seed(seed)
    chosen = pick_device(device)
    colab = in_colab() if colab is None else colab
    chapter = Chapter(
        device=chosen,
        quick=environ.get(QUICK_ENV) == "1",
        recipe=chapter_recipe(chosen, environ),
        colab=colab,
    )
    where = (
        f" ({torch.cuda.get_device_name(chosen)})"
        if chosen.type == "cuda"
        else ""
    )
    say(
        f"dcgan_tutorial {__version__}, torch {torch.__version__}, device {chosen}{where}, seed {seed}"
    )
    forced = (
        f" ({RECIPE_ENV}={environ[RECIPE_ENV].strip()})"
        if environ.get(RECIPE_ENV, "").strip()
        else ""
    )
    say(
        f"recipe: {chapter.recipe}{forced}, main preset {chapter.preset}"
        + ("; quick mode: a few steps on a small subset" if chapter.quick else "")
    )
    if colab and chosen.type == "cpu":
        say(COLAB_GPU_HINT)
    return chapter


def stored_result(name: str) -> dict:
    """A measured result shipped with the package (``assets/results/NAME.json``), e.g. ``cpu_quality``.

    These are copies of ``benchmarks/results/NAME.json`` in the repository, made by the scripts
    named inside them, so a chapter shows them without the repository beside it.
    """
    folder = resources.files("dcgan_tutorial") / "assets" / "results"
    path = folder / f"{name}.json"
    if not path.is_file():
        known = sorted(
            p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")
        )
        raise FileNotFoundError(
            f"no stored result {name!r} in the package: choose one of {', '.join(known)}"
        )
    return json.loads(path.read_text())
