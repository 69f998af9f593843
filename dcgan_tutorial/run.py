"""A training run: configs -> state -> ``train_gan`` -> run folder. The one place a run is set up.

    plan = plan_run("mnist28", train={"steps": 2000})       # or plan_run(resume="runs/a")
    result = train_run(plan, "runs/a", device="auto")        # writes the run folder (runfolder.py)

``python -m dcgan_tutorial train``, the training panel, the chapters and the benchmarks start
their runs here. ``plan_run`` checks every value before anything is loaded or written;
``prepare_run`` gives the state and the loader for callers that drive ``train_gan``
themselves (a notebook watching with its own callbacks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch

from . import distributed
from .callbacks import Callback, CollapseWarning
from .checkpoint import configs_of, read_checkpoint, state_from_checkpoint
from .classifier import load_classifier
from .config import (
    DATASET_CHANNELS,
    DATASETS,
    ConfigError,
    ModelConfig,
    TrainConfig,
)
from .data import InMemoryLoader, make_loader
from .device import pick_device
from .interrupt import exit_status
from .models import architecture
from .presets import DEFAULT_PRESET, get_preset
from .runfolder import (
    RunFolder,
    RunFolderError,
    disk_full,
    ensure_writable,
    resolve_checkpoint_path,
    write_atomically,
)
from .state import GANState, make_state
from .train import train_gan
from .watchers import CheckpointWriter, EMAWriter, FIDTracker, SaveProgressImages

STOP_LIMITS = ("steps", "epochs", "time_budget")


@dataclass
class RunPlan:
    """What a run will train: checked configs, and the checkpoint contents it continues from (if any)."""

    model_cfg: ModelConfig
    train_cfg: TrainConfig
    # read once by plan_run; the models are built once, on the device
    resume: Optional[dict[str, Any]] = None
    # the file it was read from, named in errors
    resume_path: Optional[str] = None


def plan_run(
    preset: Optional[str] = None,
    resume: Optional[str | os.PathLike] = None,
    *,
    model: Optional[dict[str, Any]] = None,
    train: Optional[dict[str, Any]] = None,
    limits: Optional[dict[str, Any]] = None,
) -> RunPlan:
    """The configs of a run: a preset (default ``DEFAULT_PRESET``) with overrides, or a checkpoint to continue.

    ``model`` / ``train``: fields to change (``None`` values are ignored). ``limits``: the stop
    limits (``steps``, ``epochs``, ``time_budget``) replacing the preset's as a whole; one left
    out or ``None`` means no limit of that kind. The model's channels follow the dataset.
    Any bad value raises ``ConfigError`` naming the field.
    """
    model = {k: v for k, v in (model or {}).items() if v is not None}
    train = {k: v for k, v in (train or {}).items() if v is not None}
    if limits is not None:
        train.update({k: limits.get(k) for k in STOP_LIMITS})
    data = None
    if resume is not None:
        if preset is not None:
            raise ConfigError(
                "preset",
                preset,
                "it cannot be combined with resuming: the checkpoint fixes the model",
            )
        data = read_checkpoint(resume)
        model_cfg, base = configs_of(data)
        for name, value in model.items():
            if value != getattr(model_cfg, name):
                raise ConfigError(
                    name,
                    value,
                    f"a resumed model keeps its shape (the checkpoint's is "
                    f"{getattr(model_cfg, name)!r})",
                )
    else:
        p = get_preset(preset or DEFAULT_PRESET)
        dataset = train.get("dataset", p.train.dataset)
        if dataset not in DATASET_CHANNELS:
            raise ConfigError(
                "dataset", dataset, f"choose one of {', '.join(DATASETS)}"
            )
        # grey or colour
        model_cfg = dataclasses.replace(
            p.model, **{"nc": DATASET_CHANNELS[dataset], **model}
        )
        base = p.train
    # checked as it is made (config.py)
    train_cfg = dataclasses.replace(base, **train)
    # every model value, including what this architecture allows
    architecture(model_cfg)
    return RunPlan(
        model_cfg,
        train_cfg,
        data,
        None if resume is None else str(resolve_checkpoint_path(resume)),
    )


def prepare_run(
    plan: RunPlan,
    device: torch.device | str = "cpu",
    data_root=None,
    limit: Optional[int] = None,
    download: bool = True,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[GANState, InMemoryLoader]:
    """The state (fresh, or the checkpoint's) and the training loader of a planned run, on ``device``."""
    if plan.resume is not None:
        state = state_from_checkpoint(
            plan.resume,
            device,
            plan.train_cfg,
            source=plan.resume_path or "the checkpoint",
        )
    else:
        state = make_state(plan.model_cfg, plan.train_cfg, device)
    cfg = plan.train_cfg
    loader = make_loader(
        cfg.dataset,
        plan.model_cfg.image_size,
        cfg.batch_size,
        data_root,
        seed=cfg.seed,
        device=device,
        limit=limit,
        download=download,
        nc=plan.model_cfg.nc,
        rank=rank,
        world_size=world_size,
    )
    return state, loader


def fid_tracker(
    plan: RunPlan, loader: InMemoryLoader, out: str | os.PathLike
) -> Callback:
    """FID every ``fid_every`` steps against 10,000 training images (the first of a fixed shuffle)."""
    # a clear error for data without a shipped classifier
    classifier = load_classifier(plan.train_cfg.dataset)
    pick = torch.randperm(
        len(loader.images), generator=torch.Generator().manual_seed(0)
    )[:10_000]
    return FIDTracker(
        loader.images[pick].cpu(),
        every=plan.train_cfg.fid_every,
        out_dir=out,
        classifier=classifier,
    )


def check_run_folder(folder: RunFolder, resuming: bool, overwrite: bool) -> None:
    """Refuse a folder that holds another run (unless ``overwrite``) or that cannot be written."""
    if folder.checkpoint.exists() and not overwrite and not resuming:
        raise RunFolderError(
            f"{folder.checkpoint} already exists: continue it with --resume {folder.root}, "
            f"pass --overwrite to replace it, or choose another --out"
        )
    ensure_writable(folder.root)


@dataclass
class RunResult:
    """A finished run: its state, folder, training time, and (with DDP) whether all ranks agree."""

    state: GANState
    folder: RunFolder
    seconds: float
    rank: int = 0
    world_size: int = 1
    ranks_agree: bool = True

    @property
    def ended(self) -> str:
        """How training ended, in words: done, stopped by request, or by a signal (with how to go on)."""
        # SIGTERM, SIGHUP: a scheduler, docker stop, kill
        if exit_status(self.state.stop_signal):
            name = signal.Signals(self.state.stop_signal).name
            return (
                f"stopped by {name} (continue with --resume {self.folder.root})"
            )
        return "stopped by request" if self.state.interrupted else "done"


def write_run_outputs(state: GANState, folder: RunFolder) -> None:
    """The curves (PNG and JSON) and the training GIF of a finished run."""
    from . import (
        viz,
    )  # matplotlib on first use: `python -m dcgan_tutorial --help` starts without it

    viz.save_figure(viz.plot_history(state.history), folder.losses)
    viz.save_gif(state.samples, folder.gif)
    write_atomically(
        folder.history, json.dumps(state.history).encode(), fsync=False
    )


def train_run(
    plan: RunPlan,
    out: str | os.PathLike,
    *,
    device: torch.device | str = "auto",
    data_root=None,
    limit: Optional[int] = None,
    download: bool = True,
    overwrite: bool = False,
    keep: int = 3,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> RunResult:
    """Train ``plan`` into the run folder ``out``: checkpoints, progress grids, curves, GIF, history.

    Under ``torchrun`` each process trains its share of every batch and only rank 0 writes.
    """
    folder = RunFolder(out)
    check_run_folder(
        folder, resuming=plan.resume is not None, overwrite=overwrite
    )
    device = (
        pick_device(device) if isinstance(device, str) else torch.device(device)
    )
    rank, world = 0, 1
    if (
        distributed.launched_by_torchrun()
    ):  # torchrun --nproc_per_node N -m dcgan_tutorial train ...
        rank, world, device = distributed.init_distributed(device)
    holding = contextlib.ExitStack()
    try:
        if (
            rank == 0
        ):  # the one writer holds the folder until the run ends: a second run is refused
            holding.enter_context(folder.lock())
        state, loader = prepare_run(
            plan, device, data_root, limit, download, rank, world
        )
        if (
            world > 1
        ):  # every rank draws its own noise; DDP keeps the weights identical
            distributed.distribute_state(state, rank, device)
        watchers = [CollapseWarning(), *callbacks]
        if rank == 0:  # one process writes
            watchers += [
                SaveProgressImages(folder),
                CheckpointWriter(
                    folder.checkpoint, keep, folder.kept_checkpoints
                ),
            ]
            if plan.train_cfg.fid_every:  # FID during training; the best G goes to RUN_DIR/best_generator.pt
                watchers.append(fid_tracker(plan, loader, folder.root))
            if (
                state.ema is not None
            ):  # the averaged G, at every checkpoint: RUN_DIR/ema_generator.pt
                watchers.append(EMAWriter(folder.root))
            log(
                f"training {plan.model_cfg} on {plan.train_cfg.dataset} ({len(loader.images)} images, "
                f"{len(loader)} steps per epoch, {world} process(es)) on {device}"
            )
        started = time.perf_counter()
        train_gan(
            state, loader, callbacks=watchers, progress=progress and rank == 0
        )
        seconds = time.perf_counter() - started
        for model in (state.G, state.D):
            distributed.sync_buffers(model)
        agree = distributed.weights_agree(state.G) and distributed.weights_agree(
            state.D
        )
        if rank == 0:
            write_run_outputs(state, folder)
        return RunResult(state, folder, seconds, rank, world, agree)
    except OSError as err:  # a progress grid or the curves on a full disk: the same one line as a checkpoint
        raise disk_full(err, folder.root, "an output of the run") or err
    finally:
        holding.close()
        distributed.shutdown()
